#!/usr/bin/env bash
# Regenerates the webhook signature vectors from the reference implementations (see
# ../../../../../../shared/testing/ORACLES.md item 4):
#   Standard Webhooks: python -m venv v && v/bin/pip install standardwebhooks==1.1.0
#   Bland: Node's crypto HMAC over the body, after checking JSON.stringify(JSON.parse(body)) == body
# Usage: PY=v/bin/python ./generate.sh > vectors.json
set -euo pipefail
cd "$(dirname "$0")"
"${PY:-python3}" - <<'PYEOF' > /tmp/standard.json
import datetime, json
from standardwebhooks.webhooks import Webhook
cases = [
    ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'),
    ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_0197a", 1767225600, '{"type":"status","status":"ended","metadata":{"crm_id":"42"}}'),
    ("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", "msg_2", 1767225601, '{"message":"héllo ☃ 😀","sender":"USER"}'),
    ("whsec_////////////////////////////////", "msg_3", 0, ''),
]
out = []
for secret, mid, ts, body in cases:
    sig = Webhook(secret).sign(mid, datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc), body)
    out.append({"secret": secret, "id": mid, "timestamp": ts, "body": body, "signature": sig})
print(json.dumps(out))
PYEOF
node - <<'JSEOF'
const crypto = require("crypto");
const fs = require("fs");
const standard = JSON.parse(fs.readFileSync("/tmp/standard.json", "utf8"));
const bodies = [
  '{"conversation_id":"c1","metadata":{"crm_id":"42","n":1,"f":2.5},"type":"message"}',
  '{"9":null,"10":true,"a":[1,2.5,"x\\u0001\\n\\"é"],"b":1}',
  '{"big":1e+21,"small":1e-7,"neg":-0.5,"text":"😀 ☃"}',
];
const bland = bodies.map((body) => {
  if (JSON.stringify(JSON.parse(body)) !== body) throw new Error("not JSON.stringify-stable: " + body);
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  return { secret, body, signature: crypto.createHmac("sha256", secret).update(body).digest("hex") };
});
// JSON texts (object keys in byte order, as serde_json keeps them) and what JavaScript's
// JSON.stringify(JSON.parse(text)) makes of them: Parley's serializer must give the same.
const texts = [
  '{"a":1.0,"b":[1.50,2e0,-0.0,1E21,1e-7,0.000001,123456789012345678901234]}',
  '{"10":1,"9":2,"a":{"2":"x","1":"y","01":"z"}}',
  '{"n":9007199254740993,"s":"tab\\there \\u0007 \\u001f \\/ \\u2028 é 😀"}',
  '[1.7976931348623157e308,5e-324,0.1,100,1e100,-1.5e-10,4294967295,18446744073709551615]',
  '{"nested":{"deep":[{"k":true,"v":null}]},"variables":{"Customer Name":"Ann"}}',
];
const js_json = texts.map((text) => ({ text, javascript: JSON.stringify(JSON.parse(text)) }));
console.log(JSON.stringify({ standard_webhooks: standard, bland, js_json }, null, 1));
JSEOF
