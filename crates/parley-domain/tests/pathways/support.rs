//! Builders and scripted answerers shared by the pathway tests.

use std::collections::VecDeque;

use parley_domain::pathways::{
    ModelReply, ModelRequest, Outcome, Pathway, PathwayState, Turn, TurnContext, WebhookRequest,
    WebhookResponse,
};
use serde_json::Value;

/// A pathway that must validate cleanly.
pub fn pathway(json: Value) -> Pathway {
    let p = Pathway::from_value(json);
    let issues = p.validate();
    assert!(issues.is_empty(), "unexpected issues: {issues:#?}");
    p
}

pub fn ctx() -> TurnContext {
    TurnContext {
        conversation_id: "conv_123".into(),
        from: "+15550001111".into(),
        to: "+15552223333".into(),
        now_ms: 1_747_169_459_233,
        history: vec![],
    }
}

pub fn state() -> PathwayState {
    PathwayState::new("pw_1", Some("3".into()), serde_json::Map::new())
}

pub fn no_model(req: &ModelRequest) -> ModelReply {
    panic!("this pathway must not need a model, but asked: {req:?}")
}

pub fn no_webhook(req: &WebhookRequest) -> WebhookResponse {
    panic!("unexpected webhook call: {req:?}")
}

/// Runs a turn (or the opener when `text` is None) with no model and no webhooks.
pub fn run_static(p: &Pathway, state: PathwayState, text: Option<&str>) -> Outcome {
    let turn = match text {
        Some(t) => Turn::new(p, state, t, ctx()),
        None => Turn::opener(p, state, ctx()),
    };
    turn.run(no_model, no_webhook).expect("turn failed")
}

/// Hands out model replies in order and records every request it was asked.
#[derive(Default)]
pub struct ScriptedModel {
    replies: VecDeque<ModelReply>,
    pub asked: Vec<ModelRequest>,
}

impl ScriptedModel {
    pub fn new(replies: impl IntoIterator<Item = ModelReply>) -> Self {
        Self {
            replies: replies.into_iter().collect(),
            asked: Vec::new(),
        }
    }

    pub fn answer(&mut self, req: &ModelRequest) -> ModelReply {
        self.asked.push(req.clone());
        self.replies
            .pop_front()
            .unwrap_or_else(|| panic!("no scripted reply left for {req:?}"))
    }

    pub fn run(&mut self, turn: Turn<'_>) -> Outcome {
        let out = turn
            .run(|r| self.answer(r), no_webhook)
            .expect("turn failed");
        assert!(
            self.replies.is_empty(),
            "unused scripted replies: {:?}",
            self.replies
        );
        out
    }
}

pub fn texts(out: &Outcome) -> Vec<&str> {
    out.messages.iter().map(|m| m.text.as_str()).collect()
}

pub fn at(out: &Outcome) -> &str {
    out.state.current_node_id.as_deref().unwrap_or("<none>")
}
