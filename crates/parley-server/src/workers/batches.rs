//! The batch worker: claims a running batch with a lease and turns its file into queued
//! messages, one chunk per transaction.
//!
//! Per chunk it reads rows from the batch's committed byte offset, applies the row rules
//! (`batches::recipient`), skips numbers already in the batch (earlier in the chunk, or in
//! a committed chunk) and suppressed recipients, and commits the chunk's conversations,
//! messages, skipped rows and the new cursor together. A crash between chunks loses
//! nothing and repeats nothing: the next claim starts at the cursor.

use std::{collections::HashSet, path::PathBuf, sync::Arc, time::Duration};

use parley_domain::clock::Clock;
use parley_store::{
    BatchChunk, BatchRecipient, BatchRow, BatchSkip, ChunkOutcome, ConversationFields, Store,
    PRIORITY_BATCH,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::{
    batches::{
        file::Format,
        recipient::{plan, BatchSettings},
        rows::{Chunk, RowReader},
    },
    config::BatchesConfig,
    wakeups::Wake,
};

pub struct BatchRunner {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub owner: String,
    pub cfg: BatchesConfig,
    /// Pinged after each chunk so the dispatcher starts on the new messages.
    pub dispatch_wake: Arc<Wake>,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Store(#[from] parley_store::StoreError),
    /// The batch cannot go on (its file is gone or unreadable); it is marked failed.
    #[error("{0}")]
    Fatal(String),
}

impl BatchRunner {
    /// Claims one batch and queues all of it. Returns the chunks committed (0: nothing to do).
    pub async fn run_once(&self) -> Result<usize, BatchError> {
        let now = self.clock.now_ms();
        let Some(batch) = self
            .store
            .claim_batch(&self.owner, now, self.cfg.lease_ms)
            .await?
        else {
            return Ok(0);
        };
        match self.process(&batch).await {
            Err(BatchError::Fatal(reason)) => {
                tracing::error!(batch.id = %batch.id, %reason, "batch failed");
                self.store
                    .fail_batch(&batch.id, &self.owner, &reason, self.clock.now_ms())
                    .await?;
                Ok(0)
            }
            other => other,
        }
    }

    async fn process(&self, batch: &BatchRow) -> Result<usize, BatchError> {
        let settings: BatchSettings = serde_json::from_str(&batch.settings)
            .map_err(|e| BatchError::Fatal(format!("unreadable batch settings: {e}")))?;
        let format = Format::parse(&settings.format)
            .ok_or_else(|| BatchError::Fatal(format!("unknown file format {}", settings.format)))?;
        let path: PathBuf = self.cfg.data_dir.join(&settings.path);
        let offset = u64::try_from(batch.next_offset).unwrap_or(0);
        let columns = settings.columns.clone();
        let next_row = batch.next_row;
        let mut reader = tokio::task::spawn_blocking(move || {
            RowReader::open(&path, format, &columns, offset, next_row)
        })
        .await
        .map_err(|e| BatchError::Fatal(e.to_string()))?
        .map_err(|e| BatchError::Fatal(format!("cannot open the batch file: {e}")))?;
        let fields = conversation_fields(&settings);
        let mut from_row = batch.next_row;
        let mut committed = 0;
        loop {
            let max = self.cfg.chunk_rows;
            let (r, chunk) = tokio::task::spawn_blocking(move || {
                let chunk = reader.read_chunk(max);
                (reader, chunk)
            })
            .await
            .map_err(|e| BatchError::Fatal(e.to_string()))?;
            reader = r;
            let chunk =
                chunk.map_err(|e| BatchError::Fatal(format!("cannot read the batch file: {e}")))?;
            let eof = chunk.eof;
            let next_row = chunk.next_row;
            let c = self
                .build_chunk(batch, &settings, &fields, from_row, chunk)
                .await?;
            let queued = c.recipients.len();
            match self.store.commit_batch_chunk(&c).await? {
                ChunkOutcome::Committed => {
                    committed += 1;
                    if queued > 0 {
                        metrics::counter!("parley_messages_total", "status" => "queued")
                            .increment(queued as u64);
                        self.dispatch_wake.notify_one();
                    }
                }
                ChunkOutcome::Stopped => break,
            }
            if eof {
                break;
            }
            from_row = next_row;
        }
        Ok(committed)
    }

    /// Applies the row rules to a chunk and sorts its rows into messages and skips.
    async fn build_chunk(
        &self,
        batch: &BatchRow,
        settings: &BatchSettings,
        fields: &ConversationFields,
        from_row: i64,
        chunk: Chunk,
    ) -> Result<BatchChunk, BatchError> {
        let mut recipients = Vec::with_capacity(chunk.rows.len());
        let mut skips = Vec::new();
        let mut seen = HashSet::with_capacity(chunk.rows.len());
        for row in chunk.rows {
            let planned = match row.fields {
                Ok(f) => plan(&f, settings),
                Err(reason) => {
                    skips.push(BatchSkip {
                        row: row.number,
                        phone_number: String::new(),
                        reason,
                    });
                    continue;
                }
            };
            match planned {
                Ok(p) if !seen.insert(p.user_number.clone()) => skips.push(BatchSkip {
                    row: row.number,
                    phone_number: p.user_number,
                    reason: "duplicate_phone_number".into(),
                }),
                Ok(p) => recipients.push(BatchRecipient {
                    row: row.number,
                    user_number: p.user_number,
                    request_data: (!p.request_data.is_empty())
                        .then_some(Value::Object(p.request_data)),
                    variables: Value::Object(p.variables),
                    body: p.body,
                    encoding: p.encoding.to_owned(),
                    segments: p.segments,
                }),
                Err(u) => skips.push(BatchSkip {
                    row: row.number,
                    phone_number: u.phone_number,
                    reason: u.reason,
                }),
            }
        }
        // Numbers an earlier chunk already queued, then the suppression list: one query
        // each per chunk.
        let users: Vec<String> = recipients.iter().map(|r| r.user_number.clone()).collect();
        let earlier = self.store.batch_recipients_among(&batch.id, &users).await?;
        let suppressed = self
            .store
            .suppressed_among(&batch.org_id, &batch.agent_number, &users)
            .await?;
        if !earlier.is_empty() || !suppressed.is_empty() {
            recipients.retain(|r| {
                let reason = if earlier.contains(&r.user_number) {
                    "duplicate_phone_number"
                } else if suppressed.contains(&r.user_number) {
                    "suppressed"
                } else {
                    return true;
                };
                skips.push(BatchSkip {
                    row: r.row,
                    phone_number: r.user_number.clone(),
                    reason: reason.into(),
                });
                false
            });
            skips.sort_by_key(|s| s.row);
        }
        Ok(BatchChunk {
            batch_id: batch.id.clone(),
            org_id: batch.org_id.clone(),
            agent_number: batch.agent_number.clone(),
            channel: batch.channel.clone(),
            workflow_id: batch.workflow_id.clone(),
            owner: self.owner.clone(),
            from_row,
            next_row: chunk.next_row,
            next_offset: i64::try_from(chunk.next_offset).unwrap_or(i64::MAX),
            last: chunk.eof,
            fields: fields.clone(),
            new_conversation: settings.new_conversation,
            priority: PRIORITY_BATCH,
            content_sid: settings.content_sid.clone(),
            content_variables: settings.content_variables.clone(),
            recipients,
            skips,
            lease_ms: self.cfg.lease_ms,
            now: self.clock.now_ms(),
        })
    }

    /// The long-running loop of `parley serve`.
    pub async fn run(self: Arc<Self>, wake: Arc<Wake>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let idle = match self.run_once().await {
                Ok(n) => n == 0,
                Err(e) => {
                    tracing::warn!(error = %e, "batch chunk failed; retrying");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(1000)) => {}
                }
            }
        }
    }
}

fn conversation_fields(s: &BatchSettings) -> ConversationFields {
    let c = &s.conversation;
    ConversationFields {
        request_data: None,
        metadata: c.metadata.clone(),
        webhook: c.webhook.clone(),
        disposition_ids: c.disposition_ids.clone(),
        citation_schema_ids: c.citation_schema_ids.clone(),
        persona_id: c.persona_id.clone(),
        persona_version: c.persona_version.clone(),
        persona_settings: c.persona_settings.clone(),
        pathway_id: c.pathway_id.clone(),
        pathway_version: c.pathway_version.clone(),
        start_node_id: c.start_node_id.clone(),
        prompt: c.prompt.clone(),
        current_node_id: None,
        timeouts: parley_domain::timeouts::TimeoutSettings {
            time_out: c.time_out,
            timeout_message: c.timeout_message.clone(),
            warning_time: c.warning_time,
            warning_message: c.warning_message.clone(),
        },
    }
}
