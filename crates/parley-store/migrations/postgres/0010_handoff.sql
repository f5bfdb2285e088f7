-- Handing a conversation to a human (spec 2.16, 2.17). PostgreSQL flavour; the SQLite file
-- mirrors it statement for statement.

-- When the conversation was handed off; NULL while the agent answers. While it is set, the
-- agent stays silent, inbound texts are still stored and webhooked, and no timer runs.
ALTER TABLE conversations ADD COLUMN handed_off_at BIGINT;
-- The handoff request as JSON (`reason`, `actor`, `metadata`, `webhook`, `notify_number`);
-- NULL when not handed off.
ALTER TABLE conversations ADD COLUMN handoff TEXT;
