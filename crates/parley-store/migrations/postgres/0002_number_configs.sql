-- Numbers' per-channel messaging configs, human mode, AI-hidden messages, and the indexes
-- that keep the conversations list fast at a million rows per org (PostgreSQL).

-- One config per number and channel (Bland's `sms_config`, `whatsapp_config`, iMessage).
-- The config is the JSON of `parley_domain::number_config::NumberConfig`: only what was
-- set is stored, so defaults stay defaults.
CREATE TABLE number_configs (
    number_id   BIGINT NOT NULL REFERENCES numbers(id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    config      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (number_id, channel)
);

-- Legacy `/v1/sms/toggle`: the AI stays silent on the whole number.
ALTER TABLE numbers ADD COLUMN human_mode BIGINT NOT NULL DEFAULT 0;

-- `/v1/sms/clear`: kept in the history, left out of the agent's context.
ALTER TABLE messages ADD COLUMN hidden_from_ai BIGINT NOT NULL DEFAULT 0;

-- One index per sortable column of `GET /v1/sms/conversations`, each ending in the id tie
-- breaker. Text columns use the "C" collation and NULLs sort first ascending, because that
-- is SQLite's order: both backends then return the same page for the same request, and the
-- list query's ORDER BY matches these indexes exactly (forwards or backwards).
DROP INDEX conversations_org_created;
CREATE INDEX conversations_by_created_at ON conversations(org_id, created_at NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_updated_at ON conversations(org_id, updated_at NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_user_number ON conversations(org_id, user_number COLLATE "C" NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_agent_number ON conversations(org_id, agent_number COLLATE "C" NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_is_active ON conversations(org_id, is_active NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_message_count ON conversations(org_id, message_count NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_pathway_id ON conversations(org_id, pathway_id COLLATE "C" NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_pathway_version ON conversations(org_id, pathway_version COLLATE "C" NULLS FIRST, id COLLATE "C");
CREATE INDEX conversations_by_timed_out_at ON conversations(org_id, timed_out_at NULLS FIRST, id COLLATE "C");
-- Every conversation of a pair, active or not (`/v1/sms/clear`, `/v1/sms/messages/get`).
CREATE INDEX conversations_pair ON conversations(org_id, agent_number, user_number);
-- `variables` containment filters (`@>`). The column is TEXT holding JSON; the cast is
-- immutable, so it can be indexed.
CREATE INDEX conversations_variables ON conversations USING gin ((variables::jsonb) jsonb_path_ops);
