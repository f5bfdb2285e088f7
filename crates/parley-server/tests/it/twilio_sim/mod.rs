//! A loopback Twilio for behaviour its OpenAPI mock cannot express: scripted 429 and 5xx
//! bursts, answers slower than Parley waits (after or without creating the message), a
//! message list to reconcile against, and signed callbacks into Parley.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use base64::Engine;
use parley_domain::clock::{iso8601_ms, Clock, FakeClock};
use serde_json::{json, Value};

mod app;

pub use app::*;

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "f1e2d3c4b5a6978812345678abcdef00";
pub const PUBLIC: &str = "https://parley.example.com";
pub const SERVICE: &str = "MGabababababababababababababababab";

/// What the simulator does with the next create call.
#[derive(Debug, Clone)]
pub enum Step {
    /// Answer this and create nothing.
    Reply {
        status: u16,
        body: String,
        retry_after: Option<&'static str>,
    },
    /// Create the message, then answer only after this long.
    CreateThenStall(u64),
    /// Stall this long without creating anything.
    Stall(u64),
}

impl Step {
    pub fn error(status: u16, code: i64) -> Self {
        Step::Reply {
            status,
            body: json!({"code": code, "message": format!("error {code}"), "status": status})
                .to_string(),
            retry_after: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Captured {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Captured {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Step>,
    posts: Vec<Captured>,
    lists: Vec<String>,
    created: Vec<Value>,
    clock: Option<FakeClock>,
}

#[derive(Clone, Default)]
pub struct TwilioSim {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl TwilioSim {
    pub async fn start() -> Self {
        let mut sim = TwilioSim::default();
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(create).get(list),
            )
            .with_state(sim.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        sim.url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        sim
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.lock().script.extend(steps);
    }

    pub fn posts(&self) -> Vec<Captured> {
        self.lock().posts.clone()
    }

    pub fn lists(&self) -> Vec<String> {
        self.lock().lists.clone()
    }

    pub fn created(&self) -> Vec<Value> {
        self.lock().created.clone()
    }

    /// Stamps created messages with Parley's (fake) time, as Twilio's clock would agree.
    pub fn use_clock(&self, clock: FakeClock) {
        self.lock().clock = Some(clock);
    }

    fn create_message(&self, account: &str, form: &[(String, String)]) -> Value {
        let mut inner = self.lock();
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let now = inner.clock.as_ref().map(|c| c.now_ms()).unwrap_or(0);
        let n = inner.created.len() + 1;
        let m = json!({
            "sid": format!("SM{n:032x}"),
            "account_sid": account,
            "to": get("To"),
            "from": get("From").unwrap_or_else(|| "+15559990000".into()),
            "messaging_service_sid": get("MessagingServiceSid"),
            "body": get("Body").unwrap_or_else(|| "rendered template".into()),
            "direction": "outbound-api",
            "status": if get("MessagingServiceSid").is_some() { "accepted" } else { "queued" },
            "date_created": rfc2822(now),
        });
        inner.created.push(m.clone());
        m
    }
}

fn rfc2822(ms: i64) -> String {
    // iso8601_ms gives 2026-01-01T00:00:00.000Z; Twilio writes Thu, 01 Jan 2026 00:00:00 +0000.
    let iso = iso8601_ms(ms);
    let (date, time) = (&iso[..10], &iso[11..19]);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][date[5..7].parse::<usize>().unwrap() - 1];
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
        [ms.div_euclid(86_400_000).rem_euclid(7) as usize];
    format!(
        "{weekday}, {} {month} {} {time} +0000",
        &date[8..10],
        &date[..4]
    )
}

fn authorized(headers: &HeaderMap, account: &str) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"))
    );
    account == ACCOUNT
        && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

fn twilio_json(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn create(
    State(sim): State<TwilioSim>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let header = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let step = {
        let mut inner = sim.lock();
        inner.posts.push(Captured {
            path: format!("/2010-04-01/Accounts/{account}/Messages.json"),
            authorization: header("authorization"),
            content_type: header("content-type"),
            form: form.clone(),
        });
        inner.script.pop_front()
    };
    if !authorized(&headers, &account) {
        return twilio_json(
            401,
            json!({"code": 20003, "message": "Authenticate", "status": 401}),
        );
    }
    match step {
        Some(Step::Reply {
            status,
            body,
            retry_after,
        }) => {
            let mut res = (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body,
            )
                .into_response();
            if let Some(ra) = retry_after {
                res.headers_mut().insert("retry-after", ra.parse().unwrap());
            }
            res
        }
        Some(Step::Stall(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            twilio_json(
                503,
                json!({"code": 20503, "message": "late", "status": 503}),
            )
        }
        Some(Step::CreateThenStall(ms)) => {
            let m = sim.create_message(&account, &form);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            twilio_json(201, m)
        }
        None => twilio_json(201, sim.create_message(&account, &form)),
    }
}

async fn list(
    State(sim): State<TwilioSim>,
    Path(account): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let q = q.unwrap_or_default();
    sim.lock().lists.push(q.clone());
    if !authorized(&headers, &account) {
        return twilio_json(
            401,
            json!({"code": 20003, "message": "Authenticate", "status": 401}),
        );
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (to, from) = (get("To"), get("From"));
    let mut messages: Vec<Value> = sim
        .created()
        .into_iter()
        .filter(|m| to.as_deref().is_none_or(|t| m["to"] == t))
        .filter(|m| from.as_deref().is_none_or(|f| m["from"] == f))
        .collect();
    messages.reverse(); // newest first, as Twilio lists
    twilio_json(
        200,
        json!({"messages": messages, "page": 0, "page_size": 50}),
    )
}
