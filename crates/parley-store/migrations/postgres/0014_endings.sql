-- The end-of-conversation pipeline as rows. Ending a conversation (timeout, End Call,
-- opt-out, PATCH is_active:false) inserts its row in the same transaction that marks it
-- ended; a worker computes the summary, citations and outcomes and, in one transaction,
-- stores them, enqueues the one status webhook and deletes the row. The key makes a second
-- trigger a no-op; matching `ended_at` on delete makes a worker whose lease ran out
-- (another finished first) commit nothing.
CREATE TABLE conversation_endings (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL,
    status           TEXT NOT NULL,
    ended_at         BIGINT NOT NULL,
    run_at           BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      BIGINT
);
CREATE INDEX conversation_endings_due ON conversation_endings(run_at);

-- Results of the pipeline (spec 2.11 / 6.2), NULL until it ran.
ALTER TABLE conversations ADD COLUMN summary TEXT;
-- (`citation_variables`, the citation schemas' `{name: value}`, came with 0012.)
-- `[{disposition_id, name, snippet_version, status, result, tag, exec_time, error}]`.
ALTER TABLE conversations ADD COLUMN disposition_logs TEXT;
ALTER TABLE conversations ADD COLUMN disposition_tag TEXT;
