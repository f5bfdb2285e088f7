-- Parley core schema (SQLite). Times are Unix epoch milliseconds; JSON is stored as TEXT;
-- flags are INTEGER 0/1. The PostgreSQL schema mirrors this table for table.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Only the SHA-256 of a key is stored; `prefix` lets an operator recognise a key.
CREATE TABLE api_keys (
    key_hash    TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    prefix      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE numbers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    phone_number TEXT NOT NULL UNIQUE,
    carrier      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    mps          REAL NOT NULL,
    config       TEXT NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL
);
CREATE INDEX numbers_org ON numbers(org_id);

CREATE TABLE conversations (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id),
    user_number         TEXT NOT NULL,
    agent_number        TEXT NOT NULL,
    channel             TEXT NOT NULL,
    is_active           INTEGER NOT NULL,
    ended_reason        TEXT,
    timed_out_at        INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    last_message_at     INTEGER,
    message_count       INTEGER NOT NULL DEFAULT 0,
    request_data        TEXT,
    metadata            TEXT,
    variables           TEXT,
    webhook             TEXT,
    disposition_ids     TEXT,
    citation_schema_ids TEXT,
    persona_id          TEXT,
    persona_version     TEXT,
    persona_settings    TEXT,
    pathway_id          TEXT,
    pathway_version     TEXT,
    start_node_id       TEXT,
    current_node_id     TEXT,
    prompt              TEXT,
    time_out            INTEGER,
    timeout_message     TEXT,
    warning_time        INTEGER,
    warning_message     TEXT
);
-- At most one active conversation per pair and channel within an org.
CREATE UNIQUE INDEX conversations_active_pair
    ON conversations(org_id, agent_number, user_number, channel) WHERE is_active = 1;
CREATE INDEX conversations_org_created ON conversations(org_id, created_at);

CREATE TABLE messages (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id            TEXT NOT NULL,
    conversation_id   TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    direction         TEXT NOT NULL,
    sender            TEXT NOT NULL,
    body              TEXT NOT NULL,
    from_number       TEXT NOT NULL,
    to_number         TEXT NOT NULL,
    channel           TEXT NOT NULL,
    status            TEXT,
    error_code        TEXT,
    provider_sid      TEXT,
    encoding          TEXT NOT NULL,
    segments          INTEGER NOT NULL,
    content_sid       TEXT,
    content_variables TEXT,
    workflow_id       TEXT,
    priority          INTEGER NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,
    scheduled_at      INTEGER,
    lease_owner       TEXT,
    lease_until       INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    sent_at           INTEGER,
    delivered_at      INTEGER,
    deleted_at        INTEGER
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);
-- The dispatch queue is the set of queued outbound messages; partial indexes keep it small.
CREATE INDEX messages_dispatch ON messages(from_number, priority, id) WHERE status = 'queued';
CREATE INDEX messages_queued_conversation ON messages(conversation_id, id) WHERE status = 'queued';

-- Per-sender virtual schedule (see parley_domain::pacing).
CREATE TABLE sender_pacing (
    phone_number  TEXT PRIMARY KEY,
    next_free_us  INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    org_id        TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    response      TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- Delayed background work (delivery reports, later timers and webhooks).
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    run_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at, id);

-- What the sandbox carrier's simulated handsets received, one row per Parley message.
CREATE TABLE sandbox_inbox (
    message_id    INTEGER PRIMARY KEY,
    org_id        TEXT NOT NULL,
    provider_sid  TEXT NOT NULL,
    from_number   TEXT NOT NULL,
    to_number     TEXT NOT NULL,
    body          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    segments      INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    received_at   INTEGER NOT NULL
);
CREATE INDEX sandbox_inbox_to ON sandbox_inbox(org_id, to_number, message_id);
