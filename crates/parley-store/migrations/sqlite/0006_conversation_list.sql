-- The conversations list at a million rows per org (SQLite; the PostgreSQL file mirrors it).

-- Conversations per org and agent number, kept by triggers in the same transaction as every
-- insert and delete of a conversation, whichever code path makes it. The list's unfiltered
-- `totalItems` and the numbers' `conversation_count` read these rows instead of counting
-- the conversations. `shard` spreads concurrent writers of one org over several rows on
-- PostgreSQL; SQLite has a single writer and always uses shard 0. The count is SUM(n).
CREATE TABLE conversation_counts (
    org_id        TEXT NOT NULL,
    agent_number  TEXT NOT NULL,
    shard         INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (org_id, agent_number, shard)
);
INSERT INTO conversation_counts (org_id, agent_number, shard, n)
    SELECT org_id, agent_number, 0, COUNT(*) FROM conversations GROUP BY org_id, agent_number;

CREATE TRIGGER conversations_counted_insert AFTER INSERT ON conversations
BEGIN
    INSERT INTO conversation_counts (org_id, agent_number, shard, n)
        VALUES (NEW.org_id, NEW.agent_number, 0, 1)
        ON CONFLICT (org_id, agent_number, shard) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER conversations_counted_delete AFTER DELETE ON conversations
BEGIN
    UPDATE conversation_counts SET n = n - 1
        WHERE org_id = OLD.org_id AND agent_number = OLD.agent_number AND shard = 0;
END;

-- No code moves a conversation to another org or number; if one ever does, the counts follow.
CREATE TRIGGER conversations_counted_move AFTER UPDATE OF org_id, agent_number ON conversations
    WHEN OLD.org_id IS NOT NEW.org_id OR OLD.agent_number IS NOT NEW.agent_number
BEGIN
    UPDATE conversation_counts SET n = n - 1
        WHERE org_id = OLD.org_id AND agent_number = OLD.agent_number AND shard = 0;
    INSERT INTO conversation_counts (org_id, agent_number, shard, n)
        VALUES (NEW.org_id, NEW.agent_number, 0, 1)
        ON CONFLICT (org_id, agent_number, shard) DO UPDATE SET n = n + 1;
END;

-- `current_node_id` is filterable but not sortable, so it had no index of its own.
CREATE INDEX conversations_by_current_node_id ON conversations(org_id, current_node_id, id);
