//! A scripted OpenAI-compatible model on loopback: answers `POST /v1/chat/completions` from
//! a queue of scripted answers (then from a function of the request, if one is set), records
//! every request, and can be told to answer late, fail with any status, or send a body that
//! is not a chat completion.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use parley_server::{
    language_models::{self, LanguageModel, LanguageModelConfig},
    Config,
};
use serde_json::{json, Value};

/// What the fake answers one request with.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with a chat completion whose first choice says this.
    Reply(String),
    /// 200 with this body, as is.
    Raw(String),
    /// This status, body and headers.
    Status(u16, String, Vec<(String, String)>),
    /// The inner answer, after this long.
    Late(Duration, Box<Answer>),
}

impl Answer {
    pub fn reply(content: &str) -> Self {
        Self::Reply(content.to_owned())
    }

    pub fn status(status: u16, body: &str) -> Self {
        Self::Status(status, body.to_owned(), Vec::new())
    }

    pub fn late(self, ms: u64) -> Self {
        Self::Late(Duration::from_millis(ms), Box::new(self))
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub headers: HeaderMap,
    /// The JSON body (`Null` if it was not JSON).
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// `(role, content)` of each message sent.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_owned(),
                    m["content"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

type Script = Arc<dyn Fn(&Value) -> Answer + Send + Sync>;

#[derive(Clone, Default)]
struct Shared {
    queue: Arc<Mutex<VecDeque<Answer>>>,
    script: Arc<Mutex<Option<Script>>>,
    log: Arc<Mutex<Vec<Recorded>>>,
}

pub struct FakeModel {
    pub addr: SocketAddr,
    shared: Shared,
}

impl FakeModel {
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, shared }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The defaults, pointed at this fake, without a key.
    pub fn config(&self) -> LanguageModelConfig {
        let mut cfg = Config::defaults().language_model;
        cfg.base_url = Some(self.base_url());
        cfg.model = "fake-model".into();
        cfg
    }

    /// The model `cfg` describes (which must have a base URL).
    pub fn model(cfg: &LanguageModelConfig) -> Arc<dyn LanguageModel> {
        language_models::from_config(cfg).unwrap().unwrap()
    }

    /// Answers the next request with `answer` (after those already queued).
    pub fn push(&self, answer: Answer) {
        self.shared.queue.lock().unwrap().push_back(answer);
    }

    /// Answers requests the queue has nothing for with `f(request body)`.
    pub fn script(&self, f: impl Fn(&Value) -> Answer + Send + Sync + 'static) {
        *self.shared.script.lock().unwrap() = Some(Arc::new(f));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The only request received.
    pub fn only_request(&self) -> Recorded {
        let all = self.requests();
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().unwrap()
    }
}

/// A chat completion saying `content`.
pub fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }]
    })
}

async fn handle(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let next = s.queue.lock().unwrap().pop_front();
    let script = s.script.lock().unwrap().clone();
    let answer = next
        .or_else(|| script.map(|f| f(&body)))
        .unwrap_or_else(|| Answer::status(500, "the fake model has no scripted answer"));
    s.log.lock().unwrap().push(Recorded { headers, body });
    respond(answer).await
}

async fn respond(mut answer: Answer) -> Response {
    while let Answer::Late(delay, inner) = answer {
        tokio::time::sleep(delay).await;
        answer = *inner;
    }
    match answer {
        Answer::Reply(content) => axum::Json(completion(&content)).into_response(),
        Answer::Raw(body) => {
            (StatusCode::OK, [("content-type", "application/json")], body).into_response()
        }
        Answer::Status(status, body, headers) => {
            let mut res = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (k, v) in headers {
                res.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            res
        }
        Answer::Late(..) => unreachable!("unwrapped above"),
    }
}
