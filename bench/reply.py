#!/usr/bin/env python3
"""Inbound-to-reply latency driver for bench/reply.sh.

For each of N conversations (a new user number each), one at a time: POST
/v1/sandbox/inbound (the user texts the agent number), then poll
GET /v1/sandbox/messages?number=<user> every --poll-ms until the sandbox handset holds the
agent's reply. The latency is from just before the inbound POST to the first poll that sees
the reply, as a user's phone would see it (so it includes up to one poll interval). One
conversation at a time, so it is latency, not throughput: nothing queues behind another
conversation.

Also times --healthz sequential GET /healthz on the same keep-alive connection, so the
client's own per-request cost is visible next to the figures.

Prints one JSON object: p50/p99/max of the reply latency and of the inbound POST alone, the
healthz median, and how many replies arrived.
"""

import argparse
import http.client
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--conversations", type=int, default=200)
    ap.add_argument("--poll-ms", type=float, default=2.0)
    ap.add_argument("--timeout-s", type=float, default=30.0)
    ap.add_argument("--healthz", type=int, default=500)
    a = ap.parse_args()

    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    auth = {"authorization": a.key}

    def call(method, path, body=None):
        headers = dict(auth)
        if body is not None:
            body = json.dumps(body)
            headers["content-type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit(f"{method} {path}: {r.status} {data[:300]!r}")
        return json.loads(data) if data else None

    hz = []
    for _ in range(a.healthz):
        t = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        hz.append(time.perf_counter() - t)

    latencies, posts, missing = [], [], 0
    for i in range(a.conversations):
        user = f"+1555300{i:04d}"
        t0 = time.perf_counter()
        d = call("POST", "/v1/sandbox/inbound", {"from": user, "to": a.agent, "message": "hello"})
        posts.append(time.perf_counter() - t0)
        if d["data"]["decision"] != "reply":
            sys.exit(f"inbound decision {d['data']['decision']!r}, expected 'reply'")
        deadline = t0 + a.timeout_s
        while True:
            got = call("GET", f"/v1/sandbox/messages?number={user.replace('+', '%2B')}")["data"]
            now = time.perf_counter()
            if got:
                latencies.append(now - t0)
                break
            if now > deadline:
                missing += 1
                break
            time.sleep(a.poll_ms / 1000)

    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, max(0, int(len(xs) * p + 0.999999) - 1))] * 1000 if xs else None

    print(json.dumps(dict(
        conversations=a.conversations, replied=len(latencies), missing=missing, poll_ms=a.poll_ms,
        p50_ms=round(pct(latencies, 0.50), 2), p99_ms=round(pct(latencies, 0.99), 2),
        max_ms=round(max(latencies) * 1000, 2),
        inbound_post_p50_ms=round(pct(posts, 0.50), 2), inbound_post_p99_ms=round(pct(posts, 0.99), 2),
        client_healthz_p50_ms=round(pct(hz, 0.50), 3))))
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
