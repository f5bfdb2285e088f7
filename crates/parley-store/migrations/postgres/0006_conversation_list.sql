-- The conversations list at a million rows per org (PostgreSQL; mirrors the SQLite file).

-- Conversations per org and agent number, kept by triggers in the same transaction as every
-- insert and delete of a conversation, whichever code path makes it. The list's unfiltered
-- `totalItems` and the numbers' `conversation_count` read these rows instead of counting
-- the conversations. Concurrent transactions would queue on one counter row per org until
-- they commit, so each connection writes its own shard (its backend pid modulo 16); the
-- count is SUM(n) over the shards, and a shard may go negative.
CREATE TABLE conversation_counts (
    org_id        TEXT NOT NULL,
    agent_number  TEXT NOT NULL,
    shard         BIGINT NOT NULL,
    n             BIGINT NOT NULL,
    PRIMARY KEY (org_id, agent_number, shard)
);
INSERT INTO conversation_counts (org_id, agent_number, shard, n)
    SELECT org_id, agent_number, 0, COUNT(*) FROM conversations GROUP BY org_id, agent_number;

-- Statement-level, so a bulk insert or delete touches each counter row once.
CREATE FUNCTION conversation_counts_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_counts (org_id, agent_number, shard, n)
        SELECT org_id, agent_number, pg_backend_pid() % 16, COUNT(*) FROM new_rows
        GROUP BY org_id, agent_number ORDER BY org_id, agent_number
        ON CONFLICT (org_id, agent_number, shard) DO UPDATE SET n = conversation_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE FUNCTION conversation_counts_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_counts (org_id, agent_number, shard, n)
        SELECT org_id, agent_number, pg_backend_pid() % 16, -COUNT(*) FROM old_rows
        GROUP BY org_id, agent_number ORDER BY org_id, agent_number
        ON CONFLICT (org_id, agent_number, shard) DO UPDATE SET n = conversation_counts.n + EXCLUDED.n;
    RETURN NULL;
END $$;

-- No code moves a conversation to another org or number; if one ever does, the counts follow.
CREATE FUNCTION conversation_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_counts (org_id, agent_number, shard, n)
        VALUES (OLD.org_id, OLD.agent_number, pg_backend_pid() % 16, -1)
        ON CONFLICT (org_id, agent_number, shard) DO UPDATE SET n = conversation_counts.n - 1;
    INSERT INTO conversation_counts (org_id, agent_number, shard, n)
        VALUES (NEW.org_id, NEW.agent_number, pg_backend_pid() % 16, 1)
        ON CONFLICT (org_id, agent_number, shard) DO UPDATE SET n = conversation_counts.n + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER conversations_counted_insert AFTER INSERT ON conversations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_add();
CREATE TRIGGER conversations_counted_delete AFTER DELETE ON conversations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION conversation_counts_remove();
CREATE TRIGGER conversations_counted_move AFTER UPDATE OF org_id, agent_number ON conversations
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id OR OLD.agent_number IS DISTINCT FROM NEW.agent_number)
    EXECUTE FUNCTION conversation_counts_move();

-- `current_node_id` is filterable but not sortable, so it had no index of its own.
CREATE INDEX conversations_by_current_node_id
    ON conversations(org_id, current_node_id COLLATE "C" NULLS FIRST, id COLLATE "C");
