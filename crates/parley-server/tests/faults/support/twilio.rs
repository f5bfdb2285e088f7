//! A loopback Twilio that misbehaves on purpose: 5xx answers (with and without creating the
//! message), answers slower than Parley waits (with and without creating it), 429 bursts,
//! and status callbacks that arrive duplicated, out of order and before the send's answer.
//! It records every message it created, with the Parley id from its `StatusCallback` URL,
//! so a test can count what reached "the carrier".

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use parley_server::carriers::twilio::signature;
use rand::Rng;
use serde_json::{json, Value};

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "f1e2d3c4b5a6978812345678abcdef00";
/// What every node believes its public address is; signatures are computed against it.
pub const PUBLIC: &str = "https://parley.example.com";

/// Fault rates of the create call (fractions of all calls) and of the callbacks.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// 5xx answers; half after creating the message (the answer is lost), half without.
    pub server_error: f64,
    /// Answers later than `stall`; half after creating the message, half without.
    pub timeout: f64,
    pub stall: Duration,
    /// Every `burst_every`, answer every call with 429 for `burst_len`.
    pub burst_every: Option<Duration>,
    pub burst_len: Duration,
    /// Share of status callbacks sent twice, and of messages whose callbacks are reversed.
    pub duplicate_callback: f64,
    pub reorder_callbacks: f64,
    /// Share of lookups (`GET Messages.json`) answered 503.
    pub list_error: f64,
}

/// One message the simulator created.
#[derive(Debug, Clone)]
pub struct Created {
    pub sid: String,
    pub message_id: i64,
    pub from: String,
    pub to: String,
    pub body: String,
    /// Milliseconds since the simulator started.
    pub at_ms: f64,
    /// The same instant as epoch ms, to compare with Parley's `scheduled_at`.
    pub at_epoch_ms: i64,
    /// Twilio's `date_created` (RFC 2822, whole seconds).
    pub date_created: String,
}

#[derive(Default)]
struct Inner {
    created: Vec<Created>,
    creates: usize,
    lists: usize,
    faults_injected: BTreeMap<&'static str, usize>,
}

#[derive(Clone)]
pub struct TwilioSim {
    pub url: String,
    faults: Faults,
    started: Instant,
    inner: Arc<Mutex<Inner>>,
    /// Where callbacks go: any node, as behind a load balancer.
    nodes: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl TwilioSim {
    /// Serves on a runtime (and threads) of its own, so the arrival times it records are
    /// not delayed by the test's own load generation.
    pub async fn start(faults: Faults) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let sim = TwilioSim {
            url: format!("http://{}", listener.local_addr().unwrap()),
            faults,
            started: Instant::now(),
            inner: Arc::default(),
            nodes: Arc::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create).get(list),
            )
            .with_state(sim.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap()
            })
        });
        sim
    }

    pub fn set_nodes(&self, bases: Vec<String>) {
        *self.nodes.lock().unwrap() = bases;
    }

    pub fn created(&self) -> Vec<Created> {
        self.inner.lock().unwrap().created.clone()
    }

    /// Create calls received, lookups received, and faults injected by kind.
    pub fn stats(&self) -> (usize, usize, BTreeMap<&'static str, usize>) {
        let i = self.inner.lock().unwrap();
        (i.creates, i.lists, i.faults_injected.clone())
    }

    fn now_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn in_burst(&self) -> bool {
        let Some(every) = self.faults.burst_every else {
            return false;
        };
        let t = self.started.elapsed().as_millis() % every.as_millis().max(1);
        t >= (every - self.faults.burst_len.min(every)).as_millis()
    }

    fn fault(&self, kind: &'static str) {
        *self
            .inner
            .lock()
            .unwrap()
            .faults_injected
            .entry(kind)
            .or_default() += 1;
    }

    fn create_message(&self, form: &[(String, String)]) -> Value {
        let get = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let callback = get("StatusCallback");
        let message_id = callback
            .split_once("message_id=")
            .and_then(|(_, id)| id.parse::<i64>().ok())
            .unwrap_or_else(|| panic!("a StatusCallback naming the message: {callback:?}"));
        let mut inner = self.inner.lock().unwrap();
        let sid = format!("SM{:032x}", inner.created.len() + 1);
        let c = Created {
            sid: sid.clone(),
            message_id,
            from: get("From"),
            to: get("To"),
            body: get("Body"),
            at_ms: self.now_ms(),
            at_epoch_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
            date_created: httpdate::fmt_http_date(std::time::SystemTime::now())
                .replace("GMT", "+0000"),
        };
        let m = json!({"sid": sid, "account_sid": ACCOUNT, "to": c.to, "from": c.from,
            "body": c.body, "direction": "outbound-api", "status": "queued",
            "date_created": c.date_created});
        inner.created.push(c.clone());
        drop(inner);
        self.spawn_callbacks(c);
        m
    }

    /// `sent` then `delivered` for a created message, at once (so often before Parley has
    /// the send's answer), sometimes reversed, sometimes twice.
    fn spawn_callbacks(&self, c: Created) {
        let sim = self.clone();
        tokio::spawn(async move {
            let (reorder, dup, delay) = {
                let mut r = rand::thread_rng();
                (
                    r.gen_bool(sim.faults.reorder_callbacks),
                    r.gen_bool(sim.faults.duplicate_callback),
                    r.gen_range(0..50),
                )
            };
            let mut statuses = vec!["sent", "delivered"];
            if reorder {
                statuses.reverse();
            }
            if dup {
                statuses.push(statuses[0]);
            }
            tokio::time::sleep(Duration::from_millis(delay)).await;
            for s in statuses {
                let params = [
                    ("MessageSid", c.sid.as_str()),
                    ("SmsSid", c.sid.as_str()),
                    ("AccountSid", ACCOUNT),
                    ("From", c.from.as_str()),
                    ("To", c.to.as_str()),
                    ("MessageStatus", s),
                    ("SmsStatus", s),
                    ("ApiVersion", "2010-04-01"),
                ];
                let path = format!("/v1/carriers/twilio/status?message_id={}", c.message_id);
                sim.post_signed(&path, &params).await;
            }
        });
    }

    /// Posts a form to some node, signed as Twilio signs it for `PUBLIC` + `path`; tries the
    /// other nodes (a node may be down) until one answers 2xx. Returns the answer's status.
    pub async fn post_signed(&self, path: &str, params: &[(&str, &str)]) -> u16 {
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = signature::compute(TOKEN, &format!("{PUBLIC}{path}"), &pairs);
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut attempt = rand::thread_rng().gen_range(0..16usize);
        loop {
            let nodes = self.nodes.lock().unwrap().clone();
            let base = &nodes[attempt % nodes.len()];
            attempt += 1;
            let r = self
                .http
                .post(format!("{base}{path}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", &sig)
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => return r.status().as_u16(),
                Ok(r) if r.status().is_client_error() => {
                    panic!("a node refused a signed callback {path}: {}", r.status())
                }
                _ => {}
            }
            assert!(
                Instant::now() < deadline,
                "no node took callback {path} in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn twilio_json(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: u16, code: i64) -> Response {
    twilio_json(
        status,
        json!({"code": code, "message": format!("error {code}"), "status": status}),
    )
}

async fn create(
    State(sim): State<TwilioSim>,
    Path(account): Path<String>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    assert_eq!(account, ACCOUNT);
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    sim.inner.lock().unwrap().creates += 1;
    if sim.in_burst() {
        sim.fault("429");
        let mut r = error(429, 20429);
        r.headers_mut().insert("retry-after", "1".parse().unwrap());
        return r;
    }
    let f = &sim.faults;
    let roll: f64 = rand::thread_rng().gen();
    if roll < f.server_error / 2.0 {
        sim.fault("500 before create");
        return error(500, 20500);
    }
    if roll < f.server_error {
        sim.fault("500 after create");
        sim.create_message(&form);
        return error(503, 20503);
    }
    if roll < f.server_error + f.timeout / 2.0 {
        sim.fault("stall before create");
        tokio::time::sleep(f.stall).await;
        return error(503, 20503);
    }
    if roll < f.server_error + f.timeout {
        sim.fault("stall after create");
        let m = sim.create_message(&form);
        tokio::time::sleep(f.stall).await;
        return twilio_json(201, m);
    }
    twilio_json(201, sim.create_message(&form))
}

async fn list(
    State(sim): State<TwilioSim>,
    Path(_account): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    sim.inner.lock().unwrap().lists += 1;
    if rand::thread_rng().gen_bool(sim.faults.list_error) {
        sim.fault("list 503");
        return error(503, 20503);
    }
    let q = q.unwrap_or_default();
    let params: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (to, from) = (get("To"), get("From"));
    let messages: Vec<Value> = sim
        .created()
        .into_iter()
        .rev() // newest first, as Twilio lists
        .filter(|m| to.as_deref().is_none_or(|t| m.to == t))
        .filter(|m| from.as_deref().is_none_or(|f| m.from == f))
        .map(|m| {
            json!({"sid": m.sid, "to": m.to, "from": m.from, "body": m.body,
                   "direction": "outbound-api", "date_created": m.date_created})
        })
        .collect();
    twilio_json(200, json!({"messages": messages, "page": 0}))
}
