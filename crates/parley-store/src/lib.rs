//! Parley's store: one API over SQLite (the default) and PostgreSQL (scale-out).
//!
//! Both backends run the same SQL through sqlx's `Any` driver. The schemas differ only in
//! type names, and every query sticks to the shared subset (`$n` parameters, `RETURNING`,
//! `ON CONFLICT`, partial indexes), so the two cannot drift apart. Where the backends must
//! behave differently (row locking on PostgreSQL, a single writer connection on SQLite)
//! the [`Dialect`] decides. The queue and the idempotency records live in the same
//! database as the messages, so every enqueue commits with the state it belongs to.
//!
//! Times are Unix epoch milliseconds. JSON columns are TEXT holding serialized JSON.
#![forbid(unsafe_code)]

mod batcher;
mod batches;
mod carrier;
mod citation_schemas;
mod conversations;
mod dispatch;
mod dispositions;
mod endings;
mod error;
mod help_keyword;
mod idempotency;
mod jobs;
mod lifecycle;
mod number_configs;
mod opt_out;
mod orgs;
mod pacing;
mod pathways;
mod personas;
mod placeholders;
mod sandbox;
mod suppressions;
mod timers;
mod turns;
mod wake_bus;
mod webhooks;

use std::{str::FromStr, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, Executor,
};

pub use batches::{
    BatchChunk, BatchErrorRow, BatchMessageCounts, BatchRecipient, BatchRow, BatchSkip,
    ChunkOutcome, FileRow, NewBatch, BATCH_CANCELLED,
};
pub use carrier::{CallbackTarget, NumberSending};
pub use citation_schemas::{
    CitationSchemaPatch, CitationSchemaRow, MergedCitations, NewCitationSchema,
};
pub use conversations::{
    Accepted, CmpOp, ConversationFields, ConversationListQuery, ConversationPage, ConversationRow,
    ConversationSend, ConversationSendOutcome, CreateRequest, Filter, HandoffOutcome,
    HandoffRequest, InboundMessage, InboundOutcome, IntField, ListCursor, ListedConversation,
    MessageRow, NewOutbound, ReplyDecision, ResumeOutcome, ResumeRequest, SendOutcome, SendRequest,
    SetActiveOutcome, SortField, SortValue, TextField, TextOp,
};
pub use dispatch::{
    Claimed, DeliveryResult, DispatchOptions, StatusCounts, ABANDONED_ATTEMPT, PRIORITY_BATCH,
    PRIORITY_LIVE,
};
pub use dispositions::{
    DispositionDelete, DispositionLookup, DispositionRow, DispositionVersion, VersionWrite,
};
pub use endings::{EndingInputs, EndingResults, PendingEnding};
pub use error::StoreError;
pub use help_keyword::HELP_PURPOSE;
pub use jobs::Job;
pub use lifecycle::{EndOutcome, EndStatus};
pub use number_configs::{ConfigUpdate, NumberOverview};
pub use opt_out::InboundKeyword;
pub use orgs::{NumberRow, OrgRow};
pub use pacing::SenderBacklog;
pub use pathways::{
    graph_of, graph_part, ChatRow, Environment, NewChat, PathwayRow, PathwayUpdate,
    PathwayVersionRow, PublishOutcome, Resolution, ResolvedGraph, VersionDelete, VersionRef,
    VersionSelector,
};
pub use personas::{
    AttachOutcome, DeleteOutcome, InboundLink, NewPersona, PersonaDetail, PersonaPatch, PersonaRow,
    PersonaVersionRow, ReplyLookup, ReplyRequest, SettingsOutcome,
};
pub use sandbox::{SandboxAccept, SandboxMessage};
pub use suppressions::SuppressionReason;
pub use timers::{DueTimer, TimerFired};
pub use turns::{Elsewhere, PathwayWrite, TurnClaim, TurnFinish, TurnWrite};
pub use wake_bus::WakeListener;
pub use webhooks::{
    AttemptOutcome, AttemptRecord, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookLog,
    WebhookSecret,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The dialect of the connection a transaction runs on, for helpers handed only the
    /// transaction.
    fn of(tx: &sqlx::Transaction<'_, sqlx::Any>) -> Self {
        if tx.backend_name().eq_ignore_ascii_case("postgresql") {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        }
    }

    /// Row-lock clause for claims. SQLite has a single writer, so claims there are already
    /// serialized and need no lock.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Row lock for a read-modify-write. SQLite's single writer already serializes it.
    fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Byte-order comparison for a text expression. SQLite compares bytes already;
    /// PostgreSQL follows the database locale unless told otherwise, which would make the
    /// same request return different pages on the two backends.
    fn collate_c(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => expr.to_owned(),
            Dialect::Postgres => format!("{expr} COLLATE \"C\""),
        }
    }

    /// Makes NULL the smallest value in an `ORDER BY` term, as SQLite always does
    /// (PostgreSQL's default is the largest).
    fn nulls_smallest(self, descending: bool) -> &'static str {
        match (self, descending) {
            (Dialect::Sqlite, _) => "",
            (Dialect::Postgres, false) => " NULLS FIRST",
            (Dialect::Postgres, true) => " NULLS LAST",
        }
    }

    /// First statement of a read transaction whose queries must see one snapshot. SQLite
    /// (WAL) gives every read transaction a snapshot; PostgreSQL's default isolation takes
    /// a new one per statement.
    fn snapshot_read(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections for PostgreSQL, or readers for SQLite (which also has one writer).
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// SQLite `synchronous`: `NORMAL` survives a process crash (WAL); `FULL` also survives
    /// power loss at the cost of an fsync per commit.
    pub sqlite_synchronous: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            sqlite_synchronous: "NORMAL".into(),
        }
    }
}

/// SQLite page cache of the one writer connection, in KiB.
const WRITER_CACHE_KIB: i64 = 32_000;
/// SQLite page cache of each reader connection, in KiB.
const READER_CACHE_KIB: i64 = 4_000;

/// The handle every layer above uses. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    dialect: Dialect,
    /// All writes go through this pool. On SQLite it has exactly one connection, so write
    /// transactions queue in-process instead of failing with `SQLITE_BUSY`.
    writer: AnyPool,
    /// Plain reads. On PostgreSQL it is the same pool as the writer.
    reader: AnyPool,
    /// Group commit for sends (SQLite only; PostgreSQL commits concurrently).
    send_batcher: Option<batcher::SendBatcher>,
    /// PostgreSQL only: where the wake-up listener opens its own connection. Holds the
    /// password, so it is never printed (see the `Debug` impl).
    listen_url: Option<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

/// Turns what an operator typed (`parley.db`, `sqlite:x.db`, `postgres://…`) into a URL.
pub fn normalize_database_url(input: &str) -> String {
    if input.starts_with("postgres://")
        || input.starts_with("postgresql://")
        || input.starts_with("sqlite:")
    {
        if input.starts_with("sqlite:") && !input.contains("mode=") {
            let sep = if input.contains('?') { '&' } else { '?' };
            return format!("{input}{sep}mode=rwc");
        }
        input.to_owned()
    } else {
        format!("sqlite://{input}?mode=rwc")
    }
}

/// Hides the password of a database URL for logs.
pub fn redact_database_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Store {
    pub async fn connect(database_url: &str, opts: &StoreOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let url = normalize_database_url(database_url);
        let connect = AnyConnectOptions::from_str(&url)?;
        if url.starts_with("sqlite:") {
            let sync = opts.sqlite_synchronous.clone();
            // temp_store = MEMORY: statements inside the send batcher's shared transaction keep
            // a statement journal (to undo just that statement on a constraint error); on
            // disk that is a temp file written with a syscall per page.
            // cache_size: each connection has a private page cache that fills as the file
            // grows. The writer's is large (it rewrites the same hot index pages); readers'
            // are small, since the OS page cache already holds the file and eight full 32 MB
            // reader caches made the server's memory grow with the database (a 1,000,000-row
            // batch peaked at 512 MB, see docs/BENCHMARKS.md).
            let pragmas = move |cache_kib: i64| {
                format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA busy_timeout = 10000; \
                     PRAGMA foreign_keys = ON; PRAGMA cache_size = -{cache_kib}; PRAGMA temp_store = MEMORY;"
                )
            };
            let p1 = pragmas.clone();
            // A connection to a local SQLite file does not go stale, so the pools skip the
            // ping sqlx sends on every checkout by default: on the send path that ping was a
            // round trip to the connection's thread per query, as costly as the query.
            let writer = AnyPoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(opts.acquire_timeout.max(Duration::from_secs(30)))
                .after_connect(move |conn, _| {
                    let sql = p1(WRITER_CACHE_KIB);
                    Box::pin(async move { conn.execute(sql.as_str()).await.map(|_| ()) })
                })
                .connect_with(connect.clone())
                .await?;
            let reader = AnyPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .test_before_acquire(false)
                .acquire_timeout(opts.acquire_timeout)
                .after_connect(move |conn, _| {
                    let sql = pragmas(READER_CACHE_KIB);
                    Box::pin(async move { conn.execute(sql.as_str()).await.map(|_| ()) })
                })
                .connect_with(connect)
                .await?;
            let send_batcher = Some(batcher::SendBatcher::spawn(writer.clone()));
            Ok(Self {
                dialect: Dialect::Sqlite,
                writer,
                reader,
                send_batcher,
                listen_url: None,
            })
        } else {
            let pool = AnyPoolOptions::new()
                .max_connections(opts.max_connections.max(2))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await?;
            Ok(Self {
                dialect: Dialect::Postgres,
                writer: pool.clone(),
                reader: pool,
                send_batcher: None,
                listen_url: Some(url),
            })
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies pending migrations. Safe to run on every start and from several nodes: sqlx
    /// takes an advisory lock on PostgreSQL.
    pub async fn migrate(&self) -> Result<()> {
        let mut migrator = match self.dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        // Rolling upgrades: a node of the previous release that restarts after a newer node
        // migrated the database must still start. Migrations are additive (new tables,
        // nullable or defaulted columns, new indexes), so the older code keeps working on
        // the newer schema; see docs/OPERATIONS.md, "Upgrades".
        migrator.set_ignore_missing(true);
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Cheap liveness query for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Serializes an optional JSON value for a TEXT column.
fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

fn parse_json(s: Option<String>) -> Option<serde_json::Value> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

impl Store {
    /// Runs one statement outside any transaction (test schemas, operator scripts).
    pub async fn execute_raw(&self, sql: &str) -> Result<()> {
        self.writer.execute(sql).await?;
        Ok(())
    }
}
