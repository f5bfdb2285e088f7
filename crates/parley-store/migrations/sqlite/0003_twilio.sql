-- Real carriers (Twilio) and carrier-aware pacing. SQLite flavour; the PostgreSQL file
-- mirrors it statement for statement.

-- How a number sends. `number_type` (long_code, toll_free, short_code, whatsapp) is what its
-- default rate came from; `mps` stays the effective rate. `daily_cap` bounds the segments the
-- number sends per day. Numbers sharing a `messaging_service_sid` are paced as one pool (the
-- service spreads their capacity). `carrier_account` names the configured carrier account
-- whose credentials the number uses (none: the org's account, then `default`).
ALTER TABLE numbers ADD COLUMN number_type TEXT;
ALTER TABLE numbers ADD COLUMN daily_cap INTEGER;
ALTER TABLE numbers ADD COLUMN messaging_service_sid TEXT;
ALTER TABLE numbers ADD COLUMN carrier_account TEXT;
CREATE INDEX numbers_messaging_service ON numbers(messaging_service_sid) WHERE messaging_service_sid IS NOT NULL;

-- Segments claimed on the sender's current day (days counted from the epoch, shifted by the
-- configured offset), for the daily cap. A pool's row is keyed by its messaging service SID
-- instead of a phone number.
ALTER TABLE sender_pacing ADD COLUMN day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sender_pacing ADD COLUMN day_segments INTEGER NOT NULL DEFAULT 0;

-- A carrier message id belongs to one Parley message: a duplicate inbound delivery of the
-- same MessageSid cannot be stored twice, and a status callback finds exactly one message.
CREATE UNIQUE INDEX messages_provider_sid ON messages(provider_sid) WHERE provider_sid IS NOT NULL;

-- Attachments a carrier reported on an inbound message: JSON `[{"url", "content_type"}]`.
ALTER TABLE messages ADD COLUMN media TEXT;

-- The user's last inbound message per pair, for WhatsApp's 24-hour customer-service window.
CREATE INDEX messages_inbound_pair ON messages(org_id, to_number, from_number, channel, created_at)
    WHERE direction = 'inbound';
