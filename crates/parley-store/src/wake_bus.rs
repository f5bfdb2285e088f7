//! Cross-node wake-ups on PostgreSQL: `LISTEN`/`NOTIFY` on one channel per schema.
//!
//! Every worker also polls, so a lost notification only costs latency, never work: this is
//! a hint that new rows are due, sent after the transaction that wrote them committed. The
//! channel is named after the schema so that deployments (or test runs) sharing one
//! database in different schemas do not wake each other.

use sqlx::postgres::PgListener;

use crate::{Dialect, Result, Store};

const CHANNEL_PREFIX: &str = "parley_wake_";

impl Store {
    /// The channel this store's nodes talk on; `None` on SQLite, where one process is the
    /// only node.
    pub async fn wake_channel(&self) -> Result<Option<String>> {
        if self.dialect != Dialect::Postgres {
            return Ok(None);
        }
        let schema: String = sqlx::query_scalar("SELECT CAST(current_schema() AS TEXT)")
            .fetch_one(&self.reader)
            .await?;
        // Channel names are identifiers: keep what is safe and bound the length (63 bytes).
        let safe: String = schema
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(63 - CHANNEL_PREFIX.len())
            .collect();
        Ok(Some(format!(
            "{CHANNEL_PREFIX}{}",
            safe.to_ascii_lowercase()
        )))
    }

    /// Sends `payload` to every node listening (itself included). A no-op on SQLite.
    pub async fn publish_wake(&self, channel: &str, payload: &str) -> Result<()> {
        if self.dialect != Dialect::Postgres {
            return Ok(());
        }
        // `pg_notify` returns `void`, which the `Any` driver cannot decode; count it instead.
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS n")
            .bind(channel)
            .bind(payload)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Listens for other nodes' wake-ups. `None` on SQLite. The listener holds its own
    /// connection, outside the pool, for as long as it lives.
    pub async fn wake_listener(&self) -> Result<Option<WakeListener>> {
        let (Some(channel), Some(url)) = (self.wake_channel().await?, &self.listen_url) else {
            return Ok(None);
        };
        let mut listener = PgListener::connect(url).await?;
        listener.listen(&channel).await?;
        Ok(Some(WakeListener { listener }))
    }
}

pub struct WakeListener {
    listener: PgListener,
}

impl WakeListener {
    /// The next payload. `Ok(None)` when the connection dropped: the next call reconnects
    /// (and listens again), but whatever was sent in between is gone, so the caller should
    /// treat it as "everything may be due".
    pub async fn recv(&mut self) -> Result<Option<String>> {
        Ok(self
            .listener
            .try_recv()
            .await?
            .map(|n| n.payload().to_owned()))
    }
}
