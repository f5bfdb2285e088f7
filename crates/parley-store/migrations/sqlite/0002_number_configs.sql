-- Numbers' per-channel messaging configs, human mode, AI-hidden messages, and the indexes
-- that keep the conversations list fast at a million rows per org (SQLite).

-- One config per number and channel (Bland's `sms_config`, `whatsapp_config`, iMessage).
-- The config is the JSON of `parley_domain::number_config::NumberConfig`: only what was
-- set is stored, so defaults stay defaults.
CREATE TABLE number_configs (
    number_id   INTEGER NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    config      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (number_id, channel)
);

-- Legacy `/v1/sms/toggle`: the AI stays silent on the whole number.
ALTER TABLE numbers ADD COLUMN human_mode INTEGER NOT NULL DEFAULT 0;

-- `/v1/sms/clear`: kept in the history, left out of the agent's context.
ALTER TABLE messages ADD COLUMN hidden_from_ai INTEGER NOT NULL DEFAULT 0;

-- One index per sortable column of `GET /v1/sms/conversations`, each ending in the id tie
-- breaker, so every sort (either direction) is an index walk and the page's ids come from
-- the index alone. The old (org_id, created_at) index is subsumed.
DROP INDEX conversations_org_created;
CREATE INDEX conversations_by_created_at ON conversations(org_id, created_at, id);
CREATE INDEX conversations_by_updated_at ON conversations(org_id, updated_at, id);
CREATE INDEX conversations_by_user_number ON conversations(org_id, user_number, id);
CREATE INDEX conversations_by_agent_number ON conversations(org_id, agent_number, id);
CREATE INDEX conversations_by_is_active ON conversations(org_id, is_active, id);
CREATE INDEX conversations_by_message_count ON conversations(org_id, message_count, id);
CREATE INDEX conversations_by_pathway_id ON conversations(org_id, pathway_id, id);
CREATE INDEX conversations_by_pathway_version ON conversations(org_id, pathway_version, id);
CREATE INDEX conversations_by_timed_out_at ON conversations(org_id, timed_out_at, id);
-- Every conversation of a pair, active or not (`/v1/sms/clear`, `/v1/sms/messages/get`).
CREATE INDEX conversations_pair ON conversations(org_id, agent_number, user_number);
