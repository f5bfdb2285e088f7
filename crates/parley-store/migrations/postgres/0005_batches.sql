-- Batch sends (PostgreSQL) (`POST /v1/files/attach`, `POST /v1/sms/batch`).

-- An uploaded file. The bytes live under the configured data directory (`path` is relative
-- to it), never in the database: a batch file may hold millions of rows. JSON uploads are
-- stored as JSON Lines (one recipient object per line) so a batch can resume at a byte offset.
CREATE TABLE files (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    file_type   TEXT NOT NULL,
    name        TEXT NOT NULL,
    -- `csv` or `jsonl`.
    format      TEXT NOT NULL,
    path        TEXT NOT NULL,
    size        BIGINT NOT NULL,
    row_count   BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX files_org ON files(org_id, created_at);

-- A batch is also its own job: `state = 'running'` rows are claimed with a lease by the
-- batch worker, which turns the file into queued messages chunk by chunk. Each chunk's
-- messages and the cursor (`next_row`, `next_offset`) commit in one transaction, so after a
-- crash the worker resumes exactly after the last committed chunk.
CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    agent_number TEXT NOT NULL,
    channel      TEXT NOT NULL,
    workflow_id  TEXT NOT NULL,
    -- JSON: the validated `global` settings, `column_mapping` and the file's header.
    settings     TEXT NOT NULL,
    -- `running`, `completed` (every row queued or skipped), `cancelled`, `failed`.
    state        TEXT NOT NULL,
    total_rows   BIGINT,
    next_row     BIGINT NOT NULL DEFAULT 1,
    next_offset  BIGINT NOT NULL DEFAULT 0,
    queued       BIGINT NOT NULL DEFAULT 0,
    skipped      BIGINT NOT NULL DEFAULT 0,
    error        TEXT,
    lease_owner  TEXT,
    lease_until  BIGINT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX batches_org ON batches(org_id, created_at, id);
CREATE INDEX batches_running ON batches(created_at) WHERE state = 'running';

-- Rows a batch could not send, with the reason (served as CSV).
CREATE TABLE batch_errors (
    batch_id     TEXT NOT NULL REFERENCES batches(id),
    row_number   BIGINT NOT NULL,
    phone_number TEXT NOT NULL,
    reason       TEXT NOT NULL,
    PRIMARY KEY (batch_id, row_number)
);

ALTER TABLE messages ADD COLUMN batch_id TEXT;
-- One message per recipient and batch: the duplicate check of later chunks (and of a chunk
-- replayed after a crash) reads this index, and it refuses a second copy outright.
CREATE UNIQUE INDEX messages_batch_recipient ON messages(batch_id, to_number) WHERE batch_id IS NOT NULL;

-- The claim orders a sender's queue by `priority DESC, id`; an index in that order lets it
-- read the first rows instead of sorting a million queued batch rows on every claim.
DROP INDEX messages_dispatch;
CREATE INDEX messages_dispatch ON messages(from_number, priority DESC, id) WHERE status = 'queued';
-- The worker's sleep reads the earliest due time of the whole queue.
CREATE INDEX messages_queued_due ON messages(next_attempt_at) WHERE status = 'queued';
