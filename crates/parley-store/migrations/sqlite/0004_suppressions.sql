-- The org's suppression list: a user who opted out of an agent number (STOP keyword or the
-- carrier's own opt-out signal) receives nothing more from it until they opt back in.
-- Single sends to a suppressed user are refused, batch rows to one are skipped. Kept apart
-- from conversations because it outlives them (a new conversation is still suppressed).
CREATE TABLE suppressions (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    agent_number TEXT NOT NULL,
    user_number TEXT NOT NULL,
    -- `keyword` (the user texted STOP or an equivalent) or `carrier` (e.g. Twilio 21610).
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, agent_number, user_number)
);
