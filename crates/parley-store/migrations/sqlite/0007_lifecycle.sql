-- Conversation lifecycle: customer webhooks (events, attempts, org signing secrets) and the
-- end of a conversation. SQLite flavour; the PostgreSQL file mirrors it statement for
-- statement.

-- When the conversation ended (timeout, End Call, opt-out, `is_active:false`); NULL while
-- it runs. `ended_reason` says why.
ALTER TABLE conversations ADD COLUMN ended_at INTEGER;

-- An org's webhook signing secrets (`whsec_` + base64 of 24 random bytes). The raw secret is
-- kept because signing needs it; it is shown once at creation and never logged. Rotation
-- adds a secret and gives the older ones an `expires_at`: until then Standard Webhooks'
-- `webhook-signature` carries one signature per live secret, and Bland's
-- `X-Webhook-Signature` uses the newest.
CREATE TABLE webhook_secrets (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
);
CREATE INDEX webhook_secrets_org ON webhook_secrets(org_id, created_at);

-- One row per webhook to deliver: a message webhook (`kind = 'message'`, one per message)
-- or a status webhook (`kind = 'status'`). The payload is the exact body, frozen when the
-- event happened, so retries and resends carry the same bytes. Rows are the queue: `state`
-- is `pending` until a 2xx (`delivered`) or a final failure (`failed`); a conversation's
-- pending rows go out one at a time, in id order.
CREATE TABLE webhook_events (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         TEXT NOT NULL UNIQUE,
    org_id           TEXT NOT NULL,
    conversation_id  TEXT NOT NULL,
    message_id       INTEGER,
    kind             TEXT NOT NULL,
    status           TEXT,
    url              TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT,
    lease_until      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- A message's webhook is enqueued once, whichever path (send answer, callback, report)
-- first sees it leave the queue.
CREATE UNIQUE INDEX webhook_events_message ON webhook_events(message_id) WHERE kind = 'message';
CREATE INDEX webhook_events_due ON webhook_events(next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX webhook_events_conversation ON webhook_events(conversation_id, id);

-- Every delivery attempt (`send_type` `spawn` by the worker, `resend` by the API).
CREATE TABLE webhook_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id       INTEGER NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    sent_at        INTEGER NOT NULL,
    response_code  INTEGER,
    response_ms    INTEGER NOT NULL,
    send_type      TEXT NOT NULL,
    error_message  TEXT
);
CREATE INDEX webhook_attempts_event ON webhook_attempts(event_id, id);

-- Why an outbound message went out when it is not a turn of the conversation: `warning` or
-- `timeout` (the timers' own messages, which must not restart the clock). NULL otherwise.
ALTER TABLE messages ADD COLUMN purpose TEXT;

-- Inactivity timers as rows: armed when an agent message is sent (warning at
-- `warning_time`, timeout at `time_out`), deleted in the transaction of a user reply, an end
-- or a suspension, fired by the timer worker. At most one of each kind per conversation.
CREATE TABLE conversation_timers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL,
    kind             TEXT NOT NULL,
    due_at           INTEGER NOT NULL,
    lease_until      INTEGER,
    created_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX conversation_timers_kind ON conversation_timers(conversation_id, kind);
CREATE INDEX conversation_timers_due ON conversation_timers(due_at, id);
