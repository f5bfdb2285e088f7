use std::{collections::VecDeque, sync::Mutex};

use async_trait::async_trait;
use parley_domain::conversation_record::TranscriptLine;
use serde_json::json;

use super::*;
use crate::language_models::{ChatReply, ChatRequest, ModelError};

/// Answers from a script, and keeps every request.
struct Scripted {
    replies: Mutex<VecDeque<Result<String, ModelError>>>,
    seen: Mutex<Vec<ChatRequest>>,
}

impl Scripted {
    fn new(replies: Vec<Result<Value, ModelError>>) -> Self {
        Self {
            replies: Mutex::new(
                replies
                    .into_iter()
                    .map(|r| r.map(|v| v.to_string()))
                    .collect(),
            ),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn prompts(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.messages[0].content.clone())
            .collect()
    }
}

#[async_trait]
impl LanguageModel for Scripted {
    async fn complete(&self, req: ChatRequest) -> Result<ChatReply, ModelError> {
        self.seen.lock().unwrap().push(req);
        let next = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .expect("a scripted reply");
        next.map(|content| ChatReply {
            content,
            model: None,
            finish_reason: None,
        })
    }
}

fn record() -> ConversationRecord {
    let line = |id, speaker, text: &str| TranscriptLine {
        message_id: id,
        speaker,
        text: text.into(),
        created_at_ms: id,
    };
    ConversationRecord {
        conversation_id: "c1".into(),
        transcript: vec![
            line(1, Speaker::Agent, "Hi! Which plan?"),
            line(2, Speaker::User, "Gold please, zip 94107. I'm Ann"),
        ],
        ..Default::default()
    }
}

fn schema(v: Value) -> CitationSchema {
    CitationSchema::parse(&v).unwrap()
}

fn booking() -> CitationSchema {
    schema(json!({
        "variables": [
            {"name": "zip", "type": "string", "source": {"regex": "zip (\\d{5})"}},
            {"name": "plan", "type": "category", "options": ["Gold", "Silver"], "description": "the plan"},
            {"name": "name", "type": "string", "description": "their name"}
        ],
        "conditions": [{
            "condition": {"variable": "plan", "operator": "===", "value": "Gold"},
            "variables": [{"name": "perks", "type": "array", "description": "perks asked for"}]
        }]
    }))
}

#[tokio::test]
async fn without_a_model_sourced_variables_are_extracted_and_the_rest_reported() {
    let out = extract(&[booking()], &record(), None, &ExtractOptions::default()).await;

    assert_eq!(Value::Object(out.variables), json!({"zip": "94107"}));
    assert_eq!(out.citations.len(), 1);
    assert_eq!(out.errors.len(), 1);
    let e = &out.errors[0];
    assert_eq!((e.code, e.schema_index), ("MODEL_REQUIRED", 0));
    assert_eq!(e.variables, ["plan", "name"]);
    assert!(e.message.contains("\"plan\", \"name\""), "{}", e.message);
}

#[tokio::test]
async fn the_model_answers_each_round_of_conditions() {
    let model = Scripted::new(vec![
        Ok(json!({"plan": "gold", "name": "Ann", "zip": "00000"})),
        Ok(json!({"perks": ["late checkout"]})),
    ]);

    let out = extract(
        &[booking()],
        &record(),
        Some(&model),
        &ExtractOptions::default(),
    )
    .await;

    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        Value::Object(out.variables),
        json!({"zip": "94107", "plan": "Gold", "name": "Ann", "perks": ["late checkout"]})
    );
    let prompts = model.prompts();
    assert_eq!(prompts.len(), 2);
    assert!(
        prompts[0].contains("- plan (one of \"Gold\", \"Silver\"): the plan"),
        "{}",
        prompts[0]
    );
    assert!(
        !prompts[0].contains("zip"),
        "sourced variables are not asked: {}",
        prompts[0]
    );
    assert!(
        prompts[1].contains("- perks (array of strings)"),
        "{}",
        prompts[1]
    );
    let req = &model.seen.lock().unwrap()[0];
    assert_eq!(
        req.messages[1].content,
        "Conversation:\nAgent: Hi! Which plan?\nUser: Gold please, zip 94107. I'm Ann"
    );
    let cited: Vec<&str> = out.citations.iter().map(|c| c.variable.as_str()).collect();
    assert_eq!(cited, ["zip", "plan", "name"]);
}

#[tokio::test]
async fn a_failing_model_is_reported_and_not_asked_again() {
    let model = Scripted::new(vec![Err(ModelError::Unavailable {
        status: 503,
        message: "overloaded".into(),
    })]);

    let out = extract(
        &[booking()],
        &record(),
        Some(&model),
        &ExtractOptions::default(),
    )
    .await;

    assert_eq!(Value::Object(out.variables), json!({"zip": "94107"}));
    assert_eq!(out.errors[0].code, "MODEL_UNAVAILABLE");
    assert!(
        out.errors[0].message.contains("overloaded"),
        "{}",
        out.errors[0].message
    );
    assert_eq!(model.prompts().len(), 1);
}

#[tokio::test]
async fn a_later_schema_wins_a_shared_name() {
    let first = schema(
        json!({"variables": [{"name": "zip", "type": "string", "source": {"regex": "zip (\\d+)"}}]}),
    );
    let second = schema(json!({"variables": [
        {"name": "zip", "type": "number", "source": {"regex": "(\\d{5})"}},
        {"name": "who", "type": "string", "source": {"regex": "I'm (\\w+)"}}
    ]}));

    let out = extract(
        &[first, second],
        &record(),
        None,
        &ExtractOptions::default(),
    )
    .await;

    assert_eq!(
        Value::Object(out.variables),
        json!({"zip": 94107, "who": "Ann"})
    );
    assert_eq!(out.citations.len(), 2);
    assert!(out.errors.is_empty());
}
