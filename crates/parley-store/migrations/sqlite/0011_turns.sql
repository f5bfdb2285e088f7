-- The agent's turns as rows. A conversation owes the user a reply while `requested`
-- (bumped by every inbound message that wants one, in the same transaction that stores it)
-- is ahead of `answered`. One turn runs per conversation at a time (the lease); messages
-- that arrive while it runs leave the row due, so the next turn answers them together.
CREATE TABLE conversation_turns (
    conversation_id  TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL,
    requested        INTEGER NOT NULL,
    answered         INTEGER NOT NULL DEFAULT 0,
    -- The newest message the last finished turn saw: the next turn's new user messages are
    -- the inbound ones after it.
    seen_message_id  INTEGER NOT NULL DEFAULT 0,
    due_at           INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_until      INTEGER,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX conversation_turns_due ON conversation_turns(due_at) WHERE requested > answered;

-- The pathway engine's state (current node, the node to return to after a global node,
-- variables): JSON of `parley_domain::pathways::PathwayState`.
ALTER TABLE conversations ADD COLUMN pathway_state TEXT;

-- Tags of the pathway nodes the conversation visited, `[{name, color}]` in first-visit
-- order (Bland's `pathway_tags`); NULL until a tagged node is visited.
ALTER TABLE conversations ADD COLUMN pathway_tags TEXT;
