use std::sync::Mutex;

use async_trait::async_trait;
use parley_domain::conversation_record::TranscriptLine;
use serde_json::{json, Value};

use super::*;
use crate::language_models::{ChatReply, ChatRequest, ModelError};

/// Answers every request with the same content (or error) and keeps the requests.
struct Scripted {
    answer: Result<String, ModelError>,
    seen: Mutex<Vec<ChatRequest>>,
}

impl Scripted {
    fn new(answer: Result<&str, ModelError>) -> Self {
        Self {
            answer: answer.map(str::to_owned),
            seen: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl LanguageModel for Scripted {
    async fn complete(&self, req: ChatRequest) -> Result<ChatReply, ModelError> {
        self.seen.lock().unwrap().push(req);
        self.answer.clone().map(|content| ChatReply {
            content,
            model: None,
            finish_reason: None,
        })
    }
}

fn version(id: &str, definition: Value) -> DispositionLookup {
    DispositionLookup::Found(DispositionVersion {
        disposition_id: id.into(),
        version: 3,
        definition,
        created_at: 0,
    })
}

fn record() -> ConversationRecord {
    let line = |speaker, text: &str| TranscriptLine {
        message_id: 1,
        speaker,
        text: text.into(),
        created_at_ms: 0,
    };
    ConversationRecord {
        transcript: vec![
            line(Speaker::Agent, "Reply C to confirm"),
            line(Speaker::Human, "This is Sam"),
            line(Speaker::User, "C, and I'm thrilled"),
        ],
        ..Default::default()
    }
}

fn mixed() -> Value {
    json!({"name": "Mixed", "fields": [
        {"name": "confirmed", "type": "boolean", "rule": {"transcript_contains": "c"}},
        {"name": "mood", "type": "string", "source": "model", "description": "How the user feels"},
        {"name": "people", "type": "number", "source": "model", "description": "Party size"}
    ]})
}

#[tokio::test]
async fn every_entry_gets_a_log_in_order_and_missing_ids_are_named() {
    let plan = [
        version(
            "d1",
            json!({"name": "Rules", "tag_field": "state", "fields": [
                {"name": "state", "type": "string", "rule": {"cases": [
                    {"when": {"transcript_contains": "c"}, "then": "confirmed"}], "default": "open"}}
            ]}),
        ),
        DispositionLookup::NotFound("nope".into()),
        version("d3", json!({"name": "Broken", "fields": []})),
    ];
    let ran = run(&plan, &record(), None, &RunOptions::default()).await;
    assert!(!ran.retryable_failure);
    let logs = ran.logs;
    let wire: Vec<Value> = logs
        .iter()
        .map(|l| serde_json::to_value(l).unwrap())
        .collect();
    assert_eq!(wire[0]["status"], "COMPLETE");
    assert_eq!(wire[0]["result"], json!({"state": "confirmed"}));
    assert_eq!(
        (wire[0]["tag"].clone(), wire[0]["snippet_version"].clone()),
        (json!("confirmed"), json!(3))
    );
    assert_eq!(wire[1]["status"], "ERROR");
    assert_eq!(wire[1]["disposition_id"], "nope");
    assert_eq!(wire[1]["error"], "disposition nope not found");
    assert_eq!(
        (wire[2]["status"].clone(), wire[2]["name"].clone()),
        (json!("ERROR"), json!("Broken"))
    );
    assert!(
        wire[2]["error"]
            .as_str()
            .unwrap()
            .contains("fields: must list"),
        "{}",
        wire[2]
    );
    assert_eq!(disposition_tag(&logs).as_deref(), Some("confirmed"));
}

/// Runs `mixed()` as version 3 of `d1` with `model`.
async fn run_mixed(model: Option<&dyn LanguageModel>) -> DispositionRun {
    let plan = [version("d1", mixed())];
    run(&plan, &record(), model, &RunOptions::default()).await
}

#[tokio::test]
async fn model_fields_are_asked_in_one_call_with_the_transcript() {
    let model = Scripted::new(Ok(r#"{"mood": "thrilled", "people": "4", "extra": 1}"#));
    let ran = run_mixed(Some(&model)).await;
    let log = &ran.logs[0];
    assert_eq!(
        (log.status, ran.retryable_failure),
        (LogStatus::Complete, false),
        "{log:?}"
    );
    assert_eq!(
        Value::Object(log.result.clone().unwrap()),
        json!({"confirmed": true, "mood": "thrilled", "people": 4})
    );
    assert_eq!(log.tag.as_deref(), Some("thrilled"));
    let seen = model.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let prompt = &seen[0].messages[0].content;
    assert!(
        prompt.contains("- mood (string): How the user feels"),
        "{prompt}"
    );
    assert!(prompt.contains("- people (number): Party size"), "{prompt}");
    assert_eq!(
        seen[0].messages[1].content,
        "Conversation:\nAgent: Reply C to confirm\nAgent: This is Sam\nUser: C, and I'm thrilled"
    );
}

#[tokio::test]
async fn no_model_or_a_failing_model_gives_an_error_log_not_a_panic() {
    let ran = run_mixed(None).await;
    let log = &ran.logs[0];
    assert_eq!((log.status, &log.result), (LogStatus::Error, &None));
    assert_eq!(
        log.error.as_deref(),
        Some("fields mood, people need a language model and none is configured (set language_model.base_url)")
    );
    assert!(!ran.retryable_failure, "no model stays no model on a retry");

    let down = Scripted::new(Err(ModelError::Unavailable {
        status: 503,
        message: "busy".into(),
    }));
    let ran = run_mixed(Some(&down)).await;
    let log = &ran.logs[0];
    assert_eq!(
        (log.status, log.snippet_version),
        (LogStatus::Error, Some(3))
    );
    let error = log.error.as_deref().unwrap();
    assert!(
        error.starts_with("the language model failed (UNAVAILABLE)"),
        "{error}"
    );
    assert!(ran.retryable_failure, "a 503 may pass later");

    let prose = Scripted::new(Ok("I think they are happy"));
    let ran = run_mixed(Some(&prose)).await;
    let error = ran.logs[0].error.as_deref().unwrap();
    assert!(error.contains("MALFORMED"), "{error}");
    assert!(!ran.retryable_failure, "a malformed answer is final");
    assert_eq!(disposition_tag(&ran.logs), None);
}
