//! A customer's webhook endpoint on loopback that fails a share of deliveries with a 500, so
//! Parley's retries are part of what the tests check. Records every POST in arrival order.

use std::sync::{Arc, Mutex};

use axum::{body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post, Router};
use rand::Rng;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    /// The `webhook-id` header: Parley's event id, the same on every retry.
    pub event_id: String,
    pub conversation_id: String,
    /// Whether this POST was answered 2xx (only those count as delivered).
    pub accepted: bool,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    fail_rate: f64,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(fail_rate: f64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            fail_rate,
            got: Arc::default(),
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let event_id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .expect("every webhook carries webhook-id")
        .to_owned();
    let v: Value = serde_json::from_slice(&body).expect("a JSON webhook body");
    let conversation_id = v["conversation_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a webhook without conversation_id: {v}"))
        .to_owned();
    let accepted = !rand::thread_rng().gen_bool(r.fail_rate);
    r.got.lock().unwrap().push(Received {
        event_id,
        conversation_id,
        accepted,
    });
    if accepted {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}
