//! The customer's API that a golden file's webhook nodes call, on loopback: answers each
//! `"METHOD /path"` as the file says (anything else: 404) and records every request.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json, Router,
};
use serde_json::{json, Value};

use super::case::ApiAnswer;

/// One request the API got.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    /// The body as JSON; a body that is not JSON as a JSON string; `None` when empty.
    pub body: Option<Value>,
}

#[derive(Clone, Default)]
struct Shared {
    answers: Arc<Mutex<BTreeMap<String, ApiAnswer>>>,
    log: Arc<Mutex<Vec<Call>>>,
}

pub struct NodeApi {
    pub base_url: String,
    shared: Shared,
}

impl NodeApi {
    /// Starts it answering 404 to everything; the file's answers come with [`Self::answer`]
    /// (the file can only be read once its `$API` is known).
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    pub fn answer(&self, answers: BTreeMap<String, ApiAnswer>) {
        *self.shared.answers.lock().unwrap() = answers;
    }

    /// Every request so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.log.lock().unwrap().clone()
    }
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body = (!body.is_empty()).then(|| {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    });
    s.log.lock().unwrap().push(Call {
        method: method.to_string(),
        path: path.clone(),
        headers,
        body,
    });
    let answer = s
        .answers
        .lock()
        .unwrap()
        .get(&format!("{method} {path}"))
        .cloned();
    match answer {
        Some(a) => (
            StatusCode::from_u16(a.status).unwrap(),
            Json(a.body.clone()),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such route"})),
        )
            .into_response(),
    }
}
