#!/usr/bin/env python3
"""What each statement of one send costs inside SQLite itself, on Parley's own schema (the
SQLite migrations), without sqlx, HTTP or Parley around it: Python's sqlite3 module, one
connection, WAL + synchronous=NORMAL like the server, 256 statements per transaction like
the send batcher. CPU microseconds per statement (Python's own call overhead is the `noop`
line's order of magnitude plus a few microseconds per execute).

This is the floor under the single SQLite writer: a send runs `select_conversation`, then
`touch_conversation` (since commit "UPDATE only the conversation columns a send carries";
`touch_all_columns` is the statement before it), then `insert_message`.

    python3 bench/sqlite_statements.py [--statements 20000] [--users 10000]
"""

import argparse
import glob
import os
import sqlite3
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORG, AGENT = "org-bench", "+15550100000"
OPTIONAL = ["request_data", "metadata", "webhook", "disposition_ids", "citation_schema_ids",
            "persona_id", "persona_version", "persona_settings", "pathway_id", "pathway_version",
            "start_node_id", "prompt", "time_out", "timeout_message", "warning_time",
            "warning_message"]
SELECT = ("SELECT * FROM conversations WHERE org_id = ? AND agent_number = ? AND user_number = ? "
          "AND channel = ? AND is_active = 1")
TOUCH_ALL = ("UPDATE conversations SET updated_at = ?, last_message_at = ?, "
             "message_count = message_count + 1, "
             + ", ".join(f"{c} = COALESCE(?, {c})" for c in OPTIONAL) + " WHERE id = ?")
TOUCH = ("UPDATE conversations SET updated_at = ?, last_message_at = ?, "
         "message_count = message_count + 1 WHERE id = ?")
INSERT_CONV = ("INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, "
               "created_at, updated_at, last_message_at, message_count) VALUES (?, ?, ?, ?, 'sms', 1, ?, ?, ?, 1)")
INSERT_MSG = (
    "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, "
    "channel, status, encoding, segments, workflow_id, priority, attempts, next_attempt_at, "
    "created_at, updated_at) VALUES (?, ?, 'outbound', 'AGENT', 'hi', ?, ?, 'sms', 'queued', "
    "'GSM-7', 1, ?, 0, 0, ?, ?, ?) RETURNING id")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--statements", type=int, default=20000)
    ap.add_argument("--users", type=int, default=10000)
    a = ap.parse_args()
    n, users = a.statements, a.users
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "s.db"), isolation_level=None, cached_statements=64)
        db.executescript("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                         "PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000;")
        for f in sorted(glob.glob(os.path.join(ROOT, "crates/parley-store/migrations/sqlite/*.sql"))):
            db.executescript(open(f).read())
        now = int(time.time() * 1000)
        db.execute("INSERT INTO orgs (id, name, created_at) VALUES (?, 'bench', ?)", (ORG, now))
        db.execute("INSERT INTO numbers (org_id, phone_number, carrier, channel, mps, created_at) "
                   "VALUES (?, ?, 'sandbox', 'sms', 10, ?)", (ORG, AGENT, now))
        # Conversation ids are time-ordered (UUIDv7) in Parley; uuid1 keeps that locality here.
        convs = [str(uuid.uuid1()) for _ in range(users)]
        db.execute("BEGIN")
        for u, c in enumerate(convs):
            db.execute(INSERT_CONV, (c, ORG, f"+1555123{u:04d}", AGENT, now, now, now))
        db.execute("COMMIT")

        def timed(fn):
            c0 = time.process_time()
            for start in range(0, n, 256):
                db.execute("BEGIN")
                for i in range(start, min(start + 256, n)):
                    fn(i)
                db.execute("COMMIT")
            return (time.process_time() - c0) / n * 1e6

        user = lambda i: f"+1555123{i % users:04d}"
        rows = {
            "noop": timed(lambda i: None),
            "select_conversation": timed(
                lambda i: db.execute(SELECT, (ORG, AGENT, user(i), "sms")).fetchone()),
            "touch_all_columns": timed(
                lambda i: db.execute(TOUCH_ALL, (now, now) + (None,) * len(OPTIONAL) + (convs[i % users],))),
            "touch_conversation": timed(lambda i: db.execute(TOUCH, (now, now, convs[i % users]))),
            "insert_message": timed(lambda i: db.execute(
                INSERT_MSG, (ORG, convs[i % users], AGENT, user(i), str(uuid.uuid4()), now, now, now)).fetchone()),
        }
    print(f"SQLite {sqlite3.sqlite_version}, {n} statements each, load {os.getloadavg()[0]:.2f}")
    for k, v in rows.items():
        print(f"{k:22} {v:7.1f} us CPU")
    per_send = rows["select_conversation"] + rows["touch_conversation"] + rows["insert_message"]
    print(f"{'one send (3 stmts)':22} {per_send:7.1f} us CPU -> at most {1e6 / per_send:,.0f} sends/s on one writer")


if __name__ == "__main__":
    main()
