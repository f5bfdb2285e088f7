"""Test vectors from the official twilio-python library (9.13.0), Parley's Twilio oracle.

Writes, next to the integration tests (crates/parley-server/tests/data/twilio/):

signatures.json
    For each case: the auth token, the URL Twilio requested, the form parameters, the
    signature RequestValidator.compute_signature gives, and what RequestValidator.validate
    answers for that signature checked against other URLs (with and without a port), a
    tampered parameter, and another token. Parley's validator must agree on every one.

wire.json
    For each message: the inputs, and the request client.messages.create(...) sends for them,
    captured by a loopback HTTP server: method, path, the Authorization and Content-Type
    headers, and the form body as parse_qs gives it. Parley's carrier must send the same.

Run through scripts/oracles/twilio.sh, which installs the pinned library in a venv.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import twilio
from twilio.request_validator import RequestValidator
from twilio.rest import Client

assert twilio.__version__ == "9.13.0", twilio.__version__

OUT = Path(sys.argv[1])
ACCOUNT = "AC" + "0123456789abcdef" * 2
TOKEN = "f1e2d3c4b5a6978812345678abcdef00"

# --- signatures -------------------------------------------------------------------------

status_params = [
    ("MessageSid", "SM" + "1" * 32),
    ("SmsSid", "SM" + "1" * 32),
    ("AccountSid", ACCOUNT),
    ("MessageStatus", "delivered"),
    ("SmsStatus", "delivered"),
    ("From", "+15550100000"),
    ("To", "+15551230000"),
    ("ApiVersion", "2010-04-01"),
    ("RawDlrDoneDate", "2601011200"),
]
inbound_params = [
    ("MessageSid", "SM" + "2" * 32),
    ("AccountSid", ACCOUNT),
    ("From", "whatsapp:+15551230000"),
    ("To", "whatsapp:+15550100000"),
    ("Body", "Olá! ¿Qué tal? 😀 & <b>=+%20</b>"),
    ("NumMedia", "2"),
    ("MediaUrl0", "https://api.twilio.com/2010-04-01/Accounts/x/Messages/y/Media/z?a=1&b=2"),
    ("MediaContentType0", "image/jpeg"),
    ("MediaUrl1", "https://example.com/b.png"),
    ("MediaContentType1", "image/png"),
    ("ProfileName", "Zoë"),
    ("WaId", "15551230000"),
]
cases = [
    ("documented_example", "12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
     [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
      ("From", "+12349013030"), ("To", "+18005551212")]),
    ("status_callback_with_message_id", TOKEN,
     "https://parley.example.com/v1/carriers/twilio/status?message_id=42", status_params),
    ("status_callback_explicit_default_port", TOKEN,
     "https://parley.example.com:443/v1/carriers/twilio/status?message_id=42", status_params),
    ("status_callback_custom_port", TOKEN,
     "http://127.0.0.1:8080/v1/carriers/twilio/status?message_id=7", status_params),
    ("inbound_unicode_and_media", TOKEN,
     "https://parley.example.com/v1/carriers/twilio/inbound", inbound_params),
    ("empty_body_value", TOKEN, "https://parley.example.com/v1/carriers/twilio/inbound",
     [("MessageSid", "SM" + "3" * 32), ("AccountSid", ACCOUNT), ("Body", ""), ("From", "+15551230000"),
      ("To", "+15550100000")]),
    ("repeated_parameter", TOKEN, "https://parley.example.com/v1/carriers/twilio/inbound",
     [("AccountSid", ACCOUNT), ("Tag", "b"), ("Tag", "a"), ("Tag", "b"), ("To", "+15550100000")]),
    ("no_parameters", TOKEN, "https://parley.example.com/v1/carriers/twilio/status?x=%2F%20y", []),
]


class Multi(dict):
    """The validator reads repeated names through getall(), as it does for Flask's MultiDict."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs
        for k, v in pairs:
            self.setdefault(k, v)

    def getall(self, name):
        return [v for k, v in self.pairs if k == name]


def variants(url):
    parts = urlsplit(url)
    host = parts.hostname
    default = 443 if parts.scheme == "https" else 80
    out = {url}
    out.add(parts._replace(netloc=host).geturl())
    out.add(parts._replace(netloc=f"{host}:{default}").geturl())
    out.add(parts._replace(netloc=f"{host}:8443").geturl())
    out.add(parts._replace(scheme="http" if parts.scheme == "https" else "https").geturl())
    out.add(url + ("&" if parts.query else "?") + "extra=1")
    return sorted(out)


signatures = []
for name, token, url, pairs in cases:
    v = RequestValidator(token)
    params = Multi(pairs)
    sig = v.compute_signature(url, params)
    checks = [{"url": u, "valid": v.validate(u, params, sig)} for u in variants(url)]
    if pairs:
        tampered = list(pairs)
        k, val = tampered[-1]
        tampered[-1] = (k, val + "x")
        checks.append({"url": url, "params": tampered, "valid": v.validate(url, Multi(tampered), sig)})
    checks.append({"url": url, "token": token + "x",
                   "valid": RequestValidator(token + "x").validate(url, params, sig)})
    signatures.append({"name": name, "token": token, "url": url, "params": pairs,
                       "signature": sig, "checks": checks})

# --- wire format ------------------------------------------------------------------------

captured = []


class Capture(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        captured.append({
            "method": "POST",
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "content_type": self.headers.get("Content-Type"),
            "form": parse_qs(body, keep_blank_values=True),
        })
        reply = json.dumps({"sid": "SM" + "9" * 32, "status": "queued", "account_sid": ACCOUNT}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Capture)
threading.Thread(target=server.serve_forever, daemon=True).start()
client = Client(ACCOUNT, TOKEN)
client.api.base_url = f"http://127.0.0.1:{server.server_port}"

CALLBACK = "https://parley.example.com/v1/carriers/twilio/status?message_id={}"
messages = [
    {"name": "sms", "message_id": 1, "channel": "sms", "from": "+15550100000", "to": "+15551230000",
     "body": "Hi Ana, your appointment is confirmed for Tue 14:30. Reply STOP to opt out."},
    {"name": "sms_unicode", "message_id": 2, "channel": "sms", "from": "+15550100000", "to": "+447700900123",
     "body": "Olá! Ça va? 😀 50% off & more: https://x.example/?a=1&b=2 ~ *"},
    {"name": "messaging_service", "message_id": 3, "channel": "sms", "from": "+15550100000",
     "to": "+15551230000", "body": "From the pool", "messaging_service_sid": "MG" + "ab" * 16},
    {"name": "whatsapp_text", "message_id": 4, "channel": "whatsapp", "from": "+15550100000",
     "to": "+15551230000", "body": "Thanks for writing!"},
    {"name": "whatsapp_template", "message_id": 5, "channel": "whatsapp", "from": "+15550100000",
     "to": "+15551230000", "body": "Your order 1042 ships today",
     "content_sid": "HX" + "cd" * 16, "content_variables": {"1": "1042", "2": "today"}},
    {"name": "no_callback", "message_id": 6, "channel": "sms", "from": "+15550100000", "to": "+15551230000",
     "body": "no public_base_url configured", "no_callback": True},
]
for m in messages:
    prefix = "whatsapp:" if m["channel"] == "whatsapp" else ""
    kwargs = {"to": prefix + m["to"]}
    if not m.get("no_callback"):
        kwargs["status_callback"] = CALLBACK.format(m["message_id"])
    if "messaging_service_sid" in m:
        kwargs["messaging_service_sid"] = m["messaging_service_sid"]
    else:
        kwargs["from_"] = prefix + m["from"]
    if "content_sid" in m:
        kwargs["content_sid"] = m["content_sid"]
        kwargs["content_variables"] = json.dumps(m["content_variables"], separators=(",", ":"))
    else:
        kwargs["body"] = m["body"]
    client.messages.create(**kwargs)
    m["request"] = captured[-1]
server.shutdown()

meta = {"generator": "scripts/oracles/twilio_vectors.py", "library": "twilio==" + twilio.__version__}
(OUT / "signatures.json").write_text(json.dumps({**meta, "account_sid": ACCOUNT, "cases": signatures},
                                                indent=1, ensure_ascii=False) + "\n")
(OUT / "wire.json").write_text(json.dumps({**meta, "account_sid": ACCOUNT, "auth_token": TOKEN,
                                           "public_base_url": "https://parley.example.com",
                                           "messages": messages}, indent=1, ensure_ascii=False) + "\n")
print(f"wrote {len(signatures)} signature cases and {len(messages)} wire cases to {OUT}")
