//! The OpenAI-compatible `LanguageModel` adapter (request shape, timeouts, failures, secrets,
//! wiring), against the scripted fake model on loopback.

use std::time::{Duration, Instant};

use parley_server::{
    config::{Overrides, Secret},
    language_models::{
        openai::OpenAiModel, CallOptions, ChatMessage, ChatRequest, LanguageModelExt, ModelError,
    },
    Config,
};
use serde_json::json;

use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{test_config, Backend, TestApp},
};

const KEY: &str = "sk-test-5e2c1d0b9a8f";

fn hello() -> ChatRequest {
    ChatRequest::new(vec![
        ChatMessage::system("You are a booking agent."),
        ChatMessage::assistant("Hi! How can I help?"),
        ChatMessage::user("A table for two, please"),
    ])
}

#[tokio::test]
async fn requests_carry_the_model_messages_defaults_and_the_bearer_key() {
    let fake = FakeModel::start().await;
    let mut cfg = fake.config();
    cfg.api_key = Some(Secret::new(KEY));
    cfg.temperature = 0.7;
    cfg.max_tokens = 99;
    fake.push(Answer::reply("Sure, for when?"));

    let reply = FakeModel::model(&cfg).complete(hello()).await.unwrap();

    assert_eq!(reply.content, "Sure, for when?");
    assert_eq!(reply.model.as_deref(), Some("fake-model"));
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    let req = fake.only_request();
    assert_eq!(req.header("authorization"), Some(format!("Bearer {KEY}")));
    assert_eq!(req.body["model"], "fake-model");
    assert_eq!(req.body["temperature"].as_f64().unwrap() as f32, 0.7);
    assert_eq!(req.body["max_tokens"], 99);
    assert_eq!(req.body["stream"], false);
    assert!(req.body.get("response_format").is_none(), "{}", req.body);
    assert_eq!(
        req.messages(),
        [
            ("system", "You are a booking agent."),
            ("assistant", "Hi! How can I help?"),
            ("user", "A table for two, please"),
        ]
        .map(|(r, c)| (r.to_owned(), c.to_owned()))
    );
}

#[tokio::test]
async fn without_a_key_no_authorization_header_is_sent() {
    let fake = FakeModel::start().await;
    let mut cfg = fake.config();
    cfg.api_key = Some(Secret::new(""));
    fake.push(Answer::reply("ok"));

    FakeModel::model(&cfg).complete(hello()).await.unwrap();

    assert_eq!(fake.only_request().header("authorization"), None);
}

#[tokio::test]
async fn json_mode_and_per_request_knobs_reach_the_server() {
    let fake = FakeModel::start().await;
    fake.push(Answer::reply("{}"));

    FakeModel::model(&fake.config())
        .complete(hello().json().temperature(1.5).max_tokens(7))
        .await
        .unwrap();

    let req = fake.only_request();
    assert_eq!(req.body["response_format"], json!({"type": "json_object"}));
    assert_eq!(req.body["temperature"], 1.5);
    assert_eq!(req.body["max_tokens"], 7);
}

#[tokio::test]
async fn a_model_slower_than_the_call_timeout_fails_retryably_in_time() {
    let fake = FakeModel::start().await;
    let mut cfg = fake.config();
    cfg.timeout_ms = 300;
    fake.push(Answer::reply("too late").late(30_000));

    let started = Instant::now();
    let err = FakeModel::model(&cfg).complete(hello()).await.unwrap_err();

    let took = started.elapsed();
    assert_eq!(err, ModelError::Timeout { after_ms: 300 });
    assert!(err.is_retryable());
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(2_300), "{took:?}");
}

#[tokio::test]
async fn a_request_timeout_below_the_configured_one_wins() {
    let fake = FakeModel::start().await;
    let mut cfg = fake.config();
    cfg.timeout_ms = 60_000;
    fake.push(Answer::reply("too late").late(30_000));

    let started = Instant::now();
    let err = FakeModel::model(&cfg)
        .complete(hello().timeout(Duration::from_millis(250)))
        .await
        .unwrap_err();

    assert_eq!(err, ModelError::Timeout { after_ms: 250 });
    assert!(started.elapsed() < Duration::from_millis(2_250));
}

#[tokio::test]
async fn a_spent_turn_budget_fails_at_once_with_a_timeout() {
    let fake = FakeModel::start().await;
    fake.push(Answer::reply("too late").late(30_000));
    let spent = std::time::Instant::now();
    let opts = CallOptions::before(spent);

    let started = Instant::now();
    let err = FakeModel::model(&fake.config())
        .generate("s", &[], "i", &opts)
        .await
        .unwrap_err();

    assert_eq!(err, ModelError::Timeout { after_ms: 0 });
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_reply_inside_the_timeout_is_not_cut_off() {
    let fake = FakeModel::start().await;
    let mut cfg = fake.config();
    cfg.timeout_ms = 10_000;
    fake.push(Answer::reply("in time").late(200));

    let reply = FakeModel::model(&cfg).complete(hello()).await.unwrap();

    assert_eq!(reply.content, "in time");
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_retryable() {
    let fake = FakeModel::start().await;
    let model = FakeModel::model(&fake.config());
    fake.push(Answer::status(500, r#"{"error":{"message":"boom"}}"#));
    fake.push(Answer::status(503, "overloaded"));
    fake.push(Answer::Status(
        429,
        r#"{"error":{"message":"Rate limit reached"}}"#.into(),
        vec![("retry-after".into(), "7".into())],
    ));

    let e500 = model.complete(hello()).await.unwrap_err();
    let e503 = model.complete(hello()).await.unwrap_err();
    let e429 = model.complete(hello()).await.unwrap_err();

    assert_eq!(
        e500,
        ModelError::Unavailable {
            status: 500,
            message: "boom".into()
        }
    );
    assert!(matches!(e503, ModelError::Unavailable { status: 503, .. }));
    assert_eq!(
        e429,
        ModelError::RateLimited {
            retry_after_ms: Some(7_000),
            message: "Rate limit reached".into()
        }
    );
    assert!([&e500, &e503, &e429].iter().all(|e| e.is_retryable()));
    assert_eq!(e429.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn auth_failures_and_bad_requests_are_final_and_never_echo_the_key() {
    let fake = FakeModel::start().await;
    let mut cfg = fake.config();
    cfg.api_key = Some(Secret::new(KEY));
    let model = FakeModel::model(&cfg);
    fake.push(Answer::status(
        401,
        &format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}"}}}}"#),
    ));
    fake.push(Answer::status(400, r#"{"error":"model 'x' not found"}"#));

    let e401 = model.complete(hello()).await.unwrap_err();
    let e400 = model.complete(hello()).await.unwrap_err();

    assert_eq!(
        e401,
        ModelError::Auth {
            status: 401,
            message: "Incorrect API key provided: ***".into()
        }
    );
    assert!(!format!("{e401} {e401:?}").contains(KEY));
    assert_eq!(
        e400,
        ModelError::Rejected {
            status: 400,
            message: "model 'x' not found".into()
        }
    );
    assert!(!e401.is_retryable() && !e400.is_retryable());
}

#[tokio::test]
async fn unusable_success_bodies_are_malformed_not_text() {
    let fake = FakeModel::start().await;
    let model = FakeModel::model(&fake.config());
    let bodies = [
        "{\"choices\": [",
        "<html>gateway</html>",
        r#"{"choices":[]}"#,
        r#"{"choices":[{"message":{"role":"assistant","content":null}}]}"#,
    ];
    for body in bodies {
        fake.push(Answer::Raw(body.into()));
    }
    fake.push(Answer::reply("   "));
    fake.push(Answer::reply("<ERROR>"));

    for case in 0..bodies.len() + 2 {
        let err = model.complete(hello()).await.unwrap_err();
        assert!(matches!(err, ModelError::Malformed(_)), "{case}: {err:?}");
        assert!(!err.is_retryable());
    }
    assert_eq!(fake.requests().len(), bodies.len() + 2);
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_connection_error() {
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let mut cfg = Config::defaults().language_model;
    cfg.base_url = Some(format!("http://{closed}/v1"));

    let err = FakeModel::model(&cfg).complete(hello()).await.unwrap_err();

    assert!(matches!(err, ModelError::Connection(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn the_key_never_shows_in_debug_or_serialized_config() {
    let fake = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("parley.toml");
    std::fs::write(
        &file,
        format!(
            "[language_model]\nbase_url = \"{}\"\napi_key = \"{KEY}\"\nmodel = \"m\"\n",
            fake.base_url()
        ),
    )
    .unwrap();

    let cfg = Config::load(Some(&file), &Overrides::default()).unwrap();
    let model = OpenAiModel::new(&cfg.language_model).unwrap();

    assert_eq!(
        cfg.language_model.key(),
        Some(KEY),
        "the file layer is read"
    );
    let shown = format!(
        "{cfg:?} {:?} {model:?} {}",
        cfg.language_model,
        serde_json::to_string(&cfg).unwrap()
    );
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("***"), "{shown}");
}

#[tokio::test]
async fn the_app_has_a_model_only_when_one_is_configured() {
    let fake = FakeModel::start().await;
    let mut cfg = test_config();
    cfg.language_model = fake.config();
    fake.push(Answer::reply("hello from the app's model"));

    let without = TestApp::spawn(Backend::Sqlite).await;
    let with = TestApp::spawn_with(Backend::Sqlite, cfg).await;

    assert!(without.app.state.language_model.is_none());
    let model = with.app.state.language_model.clone().unwrap();
    let reply = model.complete(hello()).await.unwrap();
    assert_eq!(reply.content, "hello from the app's model");
}
