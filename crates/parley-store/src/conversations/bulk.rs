//! The multi-row form of the send transaction, for the group-commit batcher.
//!
//! On SQLite every statement is a round trip to sqlx's connection thread, and profiles of
//! the send load showed those hand-offs (futex wake-ups), not SQLite, taking most of the
//! writer's time: `accept_in` costs three of them per send. A *run* of sends here costs
//! about three per run instead: one read of every pair's active conversation, one UPDATE
//! for the conversations that only gain a message, one multi-row INSERT of the messages.
//! Sends that create a conversation or change its settings still write it one by one.
//!
//! A run holds only *plain* sends (no idempotency key, no `new_conversation`, one message) on distinct
//! pairs, so no send in a run can observe another's writes; the batcher splits its queue
//! into runs and single sends in arrival order, and each run's writes land before the next
//! item starts, so the outcome is exactly that of `accept_in` applied in order.
//!
//! SQLite only (the batcher is): the statements use anonymous `?` parameters (see
//! `placeholders` for why); and they are not kept in sqlx's statement cache
//! (`persistent(false)`), since every run size is a different statement and would evict
//! the fixed statements the rest of the server reuses.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use super::{
    insert_outbound, pair, Accepted, ConversationFields, ConversationRow, SendOutcome, SendRequest,
};
use crate::{json_text, Result, StoreError};

/// Most sends in one run. A message row binds 16 values and the read 4 per send, so this
/// stays far below SQLite's limit of 32,766 bound parameters per statement.
pub(crate) const MAX_RUN: usize = 256;

impl SendRequest {
    /// Whether this send may share a multi-row run (see the module docs).
    pub(crate) fn is_plain(&self) -> bool {
        self.idempotency.is_none()
            && !self.new_conversation
            && self.more.is_empty()
            && self.pathway.is_none()
    }

    fn pair_key(&self) -> (&str, &str, &str, &str) {
        (
            &self.org_id,
            &self.agent_number,
            &self.user_number,
            &self.channel,
        )
    }
}

impl ConversationFields {
    /// True when the send changes no stored setting, only adds a message.
    fn is_empty(&self) -> bool {
        // Destructured so that a new field cannot be forgotten here.
        let ConversationFields {
            request_data,
            metadata,
            webhook,
            disposition_ids,
            citation_schema_ids,
            persona_id,
            persona_version,
            persona_settings,
            pathway_id,
            pathway_version,
            start_node_id,
            prompt,
            current_node_id,
            timeouts,
        } = self;
        request_data.is_none()
            && metadata.is_none()
            && webhook.is_none()
            && disposition_ids.is_none()
            && citation_schema_ids.is_none()
            && persona_id.is_none()
            && persona_version.is_none()
            && persona_settings.is_none()
            && pathway_id.is_none()
            && pathway_version.is_none()
            && start_node_id.is_none()
            && prompt.is_none()
            && current_node_id.is_none()
            && *timeouts == Default::default()
    }
}

/// Splits `reqs` (in arrival order) into maximal runs of plain sends on distinct pairs,
/// each given as `start..end` indexes; a send that is not plain is a run of one.
pub(crate) fn runs(reqs: &[&SendRequest]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut seen = std::collections::HashSet::new();
    for (i, r) in reqs.iter().enumerate() {
        let joins = r.is_plain() && i - start < MAX_RUN && !seen.contains(&r.pair_key());
        if !joins && i > start {
            out.push(start..i);
            start = i;
            seen.clear();
        }
        if r.is_plain() {
            seen.insert(r.pair_key());
        } else {
            out.push(i..i + 1);
            start = i + 1;
            seen.clear();
        }
    }
    if start < reqs.len() {
        out.push(start..reqs.len());
    }
    out
}

/// Accepts a run of plain sends on distinct pairs inside `tx`, answering in order. Like
/// `accept_in`, every refusal is decided before any write, and an `Err` requires rolling
/// `tx` back.
pub(crate) async fn accept_run(
    tx: &mut Transaction<'_, Any>,
    reqs: &[&SendRequest],
) -> Result<Vec<SendOutcome>> {
    debug_assert!(reqs.iter().all(|r| r.is_plain()));
    let mut existing = active_conversations(tx, reqs).await?;
    let mut outcomes: Vec<Option<SendOutcome>> = vec![None; reqs.len()];
    let mut conversation_ids: Vec<Option<String>> = vec![None; reqs.len()];
    let mut touch_only = Vec::new();
    for (i, r) in reqs.iter().enumerate() {
        let current = existing.remove(&owned_key(r));
        if let Err(e) = pair::check_timeouts(current.as_ref(), &r.fields, &r.number_timeouts) {
            outcomes[i] = Some(SendOutcome::InvalidTimeout(e));
            continue;
        }
        conversation_ids[i] = Some(match current {
            Some(c) if r.fields.is_empty() => {
                touch_only.push(c.id.clone());
                c.id
            }
            // Changes settings or creates: the one-by-one writers, shared with accept_in.
            current => pair::open(tx, &r.pair(), current, false, &r.fields, r.now).await?,
        });
    }
    touch_many(tx, &touch_only, reqs[0].now).await?;
    let accepted = insert_messages(tx, reqs, &conversation_ids).await?;
    for (slot, a) in outcomes.iter_mut().zip(accepted) {
        if let Some(a) = a {
            *slot = Some(SendOutcome::Accepted(a));
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| StoreError::Corrupt("a send in a run got no outcome".into())))
        .collect()
}

type Key = (String, String, String, String);

fn owned_key(r: &SendRequest) -> Key {
    let (a, b, c, d) = r.pair_key();
    (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned())
}

/// Every pair's active conversation, in one read. The OR of equalities lets SQLite and
/// PostgreSQL use the partial unique index on the pair for each term.
async fn active_conversations(
    tx: &mut Transaction<'_, Any>,
    reqs: &[&SendRequest],
) -> Result<HashMap<Key, ConversationRow>> {
    let mut sql = String::from("SELECT * FROM conversations WHERE is_active = 1 AND (");
    for i in 0..reqs.len() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str("(org_id = ? AND agent_number = ? AND user_number = ? AND channel = ?)");
    }
    sql.push(')');
    let mut q = sqlx::query_as::<_, ConversationRow>(&sql).persistent(false);
    for r in reqs {
        q = q
            .bind(&r.org_id)
            .bind(&r.agent_number)
            .bind(&r.user_number)
            .bind(&r.channel);
    }
    let rows = q.fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|c| {
            let key = (
                c.org_id.clone(),
                c.agent_number.clone(),
                c.user_number.clone(),
                c.channel.clone(),
            );
            (key, c)
        })
        .collect())
}

/// `touch_conversation` with no settings, for many conversations at once: each gains one
/// message (ids are distinct within a run).
async fn touch_many(tx: &mut Transaction<'_, Any>, ids: &[String], now: i64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE conversations SET updated_at = ?, last_message_at = ?, \
         message_count = message_count + 1 WHERE id IN ({})",
        vec!["?"; ids.len()].join(", ")
    );
    let mut q = sqlx::query(&sql).persistent(false).bind(now).bind(now);
    for id in ids {
        q = q.bind(id);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Inserts the messages of the sends that were accepted (those with a conversation id), in
/// one statement. Rows are matched back to sends by their unique `workflow_id`, not by the
/// order `RETURNING` happens to produce.
async fn insert_messages(
    tx: &mut Transaction<'_, Any>,
    reqs: &[&SendRequest],
    conversation_ids: &[Option<String>],
) -> Result<Vec<Option<Accepted>>> {
    let workflow_ids: Vec<Option<String>> = conversation_ids
        .iter()
        .map(|c| c.as_ref().map(|_| uuid::Uuid::new_v4().to_string()))
        .collect();
    let count = workflow_ids.iter().flatten().count();
    if count == 0 {
        return Ok(vec![None; reqs.len()]);
    }
    if count == 1 {
        // Nothing to share: the one-row statement is the one accept_in uses.
        let mut out = vec![None; reqs.len()];
        let i = conversation_ids
            .iter()
            .position(Option::is_some)
            .unwrap_or(0);
        if let Some(id) = &conversation_ids[i] {
            let r = reqs[i];
            out[i] = Some(insert_outbound(tx, &r.pair(), id, &r.outbound, r.now).await?);
        }
        return Ok(out);
    }
    let mut sql = String::from(
        "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
         status, encoding, segments, content_sid, content_variables, workflow_id, priority, attempts, \
         next_attempt_at, created_at, updated_at) VALUES ",
    );
    let row = "(?, ?, 'outbound', ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)";
    sql.push_str(&vec![row; count].join(", "));
    sql.push_str(" RETURNING id, workflow_id");
    let mut q = sqlx::query(&sql).persistent(false);
    for ((r, c), w) in reqs.iter().zip(conversation_ids).zip(&workflow_ids) {
        let (Some(c), Some(w)) = (c, w) else { continue };
        let o = &r.outbound;
        q = q
            .bind(&r.org_id)
            .bind(c)
            .bind(&o.sender)
            .bind(&o.body)
            .bind(&r.agent_number)
            .bind(&r.user_number)
            .bind(&r.channel)
            .bind(&o.encoding)
            .bind(o.segments)
            .bind(&o.content_sid)
            .bind(json_text(&o.content_variables))
            .bind(w)
            .bind(o.priority)
            .bind(r.now)
            .bind(r.now)
            .bind(r.now);
    }
    let rows = q.fetch_all(&mut **tx).await?;
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(rows.len());
    for row in rows {
        ids.insert(row.try_get("workflow_id")?, row.try_get("id")?);
    }
    workflow_ids
        .into_iter()
        .zip(conversation_ids)
        .map(|(w, c)| match (w, c) {
            (Some(w), Some(c)) => {
                let message_id = *ids.get(&w).ok_or_else(|| {
                    StoreError::Corrupt("a batched message row was not returned".into())
                })?;
                Ok(Some(Accepted {
                    conversation_id: c.clone(),
                    message_id,
                    workflow_id: w,
                }))
            }
            _ => Ok(None),
        })
        .collect()
}

#[cfg(test)]
mod tests;
