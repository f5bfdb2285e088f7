//! The pathway engine over any pathway JSON, user text and answers.
//!
//! Input: `<pathway JSON> NUL <user text> NUL <driver bytes>`. Without a first NUL the
//! turn is an opener. The driver's first two bytes pick the stored current and return
//! nodes (an index, 255 for a node that does not exist, else none); each later byte
//! answers one request, sometimes with an answer of the wrong kind, which the turn must
//! refuse and keep waiting. When the driver runs out, well-typed defaults answer.

use serde_json::{json, Map, Value};

use crate::pathways::{
    EngineError, ModelReply, ModelRequest, Outcome, Pathway, PathwayState, Poll, Signal, Turn,
    TurnContext, WebhookResponse, DEFAULT_HOP_LIMIT,
};

/// Polls and answers one turn may take: every one is a node entry or an answer, and each
/// of at most `DEFAULT_HOP_LIMIT` entries asks a handful of questions.
const MAX_STEPS: usize = 40 * DEFAULT_HOP_LIMIT;

const DIALOGUES: [&str; 4] = ["ok", "", "  {{x}} ", "Hi {{unknown}}"];
const VALUES: [fn() -> Value; 7] = [
    || json!(3),
    || json!("7"),
    || json!("nope"),
    || Value::Null,
    || json!([1]),
    || json!(true),
    || json!(1.5),
];
const STATUSES: [u16; 7] = [200, 201, 204, 302, 404, 500, 99];
const BODIES: [fn() -> Value; 4] = [
    || json!({"x": 1, "ok": true}),
    || json!("text"),
    || Value::Null,
    || json!([{"x": "2"}]),
];

pub fn pathway(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let Ok(raw) = serde_json::from_slice::<Value>(parts.next().unwrap_or_default()) else {
        return;
    };
    let user = parts
        .next()
        .map(|u| String::from_utf8_lossy(u).into_owned());
    let driver = parts.next().unwrap_or_default();

    let p = Pathway::from_value(raw.clone());
    assert_eq!(p.raw(), &raw, "the pathway JSON is kept verbatim");
    assert_eq!(
        serde_json::to_value(&p).ok(),
        Some(raw),
        "and serialized back as is"
    );
    let _ = p.validate();
    let needs_model = !p.model_needs().is_empty();
    assert_eq!(p.needs_model(), needs_model);

    let pick = |b: Option<&u8>| match b.copied() {
        Some(255) => Some("ghost".to_owned()),
        Some(i) => p.nodes().get(usize::from(i)).map(|n| n.id.clone()),
        None => None,
    };
    let state = PathwayState {
        current_node_id: pick(driver.first()),
        return_node_id: pick(driver.get(1)),
        ..PathwayState::default()
    };
    let answers = driver.get(2..).unwrap_or_default();
    let first = run(&p, state.clone(), user.as_deref(), answers, needs_model);
    let again = run(&p, state, user.as_deref(), answers, needs_model);
    assert_eq!(first, again, "the engine is not deterministic");
    match first {
        Ok(out) => check_outcome(&p, &out),
        Err(EngineError::NoStartNode | EngineError::HopLimit { .. }) => {}
        Err(e) => panic!("a correctly driven turn failed: {e}"),
    }
}

fn run(
    p: &Pathway,
    state: PathwayState,
    user: Option<&str>,
    answers: &[u8],
    needs_model: bool,
) -> Result<Outcome, EngineError> {
    let ctx = TurnContext {
        conversation_id: "conv_fuzz".into(),
        from: "+15550001111".into(),
        to: "+15552223333".into(),
        now_ms: 1_747_169_459_233,
        history: vec![],
    };
    let mut turn = match user {
        Some(text) => Turn::new(p, state, text, ctx),
        None => Turn::opener(p, state, ctx),
    };
    let mut answers = answers.iter().copied();
    for _ in 0..MAX_STEPS {
        match turn.poll()? {
            Poll::Done(out) => {
                assert_eq!(turn.poll(), Err(EngineError::Finished));
                assert!(turn.answer_model(ModelReply::Choice(None)).is_err());
                return Ok(out);
            }
            Poll::NeedModel(req) => {
                assert!(
                    needs_model,
                    "model_needs() is empty, yet the turn asked {req:?}"
                );
                let fitting = fitting_reply(&req);
                let reply = answers
                    .next()
                    .map_or_else(|| fitting.clone(), |b| reply(&req, b));
                if std::mem::discriminant(&reply) == std::mem::discriminant(&fitting) {
                    turn.answer_model(reply)
                        .expect("a fitting answer was refused");
                } else {
                    let refused = turn.answer_model(reply);
                    assert!(
                        matches!(refused, Err(EngineError::UnexpectedAnswer { .. })),
                        "a wrong kind of answer to {req:?} gave {refused:?}"
                    );
                    assert_eq!(turn.poll(), Err(EngineError::AnswerPending));
                    turn.answer_model(fitting)
                        .expect("a fitting answer was refused");
                }
            }
            Poll::NeedWebhook(_) => {
                let response = match answers.next() {
                    Some(b) if b % 8 != 7 => WebhookResponse::Response {
                        status: STATUSES[usize::from(b) % STATUSES.len()],
                        body: BODIES[usize::from(b / 8) % BODIES.len()](),
                    },
                    _ => WebhookResponse::Failed {
                        reason: "timeout".into(),
                    },
                };
                assert!(turn.answer_model(ModelReply::ConditionMet(true)).is_err());
                turn.answer_webhook(response)
                    .expect("a webhook answer was refused");
            }
        }
    }
    panic!("the turn did not finish in {MAX_STEPS} steps");
}

fn fitting_reply(req: &ModelRequest) -> ModelReply {
    match req {
        ModelRequest::Dialogue { .. } => ModelReply::Dialogue("ok".into()),
        ModelRequest::ChooseRoute { .. } => ModelReply::Choice(None),
        ModelRequest::Extract { .. } => ModelReply::Extracted(Map::new()),
        ModelRequest::CheckCondition { .. } => ModelReply::ConditionMet(true),
    }
}

/// The answer byte `b` stands for: its low two bits the kind, the rest its content.
fn reply(req: &ModelRequest, b: u8) -> ModelReply {
    let arg = usize::from(b >> 2);
    match b & 3 {
        0 => ModelReply::Dialogue(DIALOGUES[arg % DIALOGUES.len()].to_owned()),
        1 => ModelReply::Choice((arg != 63).then_some(arg % 9)),
        2 => {
            let names: Vec<String> = match req {
                ModelRequest::Extract { vars, .. } => vars.iter().map(|v| v.name.clone()).collect(),
                _ => vec!["x".into()],
            };
            let values = names
                .into_iter()
                .enumerate()
                .map(|(i, name)| (name, VALUES[(arg + i) % VALUES.len()]()));
            ModelReply::Extracted(values.collect())
        }
        _ => ModelReply::ConditionMet(b & 4 != 0),
    }
}

fn check_outcome(p: &Pathway, out: &Outcome) {
    let exists = |id: &str| p.node(id).is_some();
    assert!(out.visited.len() <= DEFAULT_HOP_LIMIT, "past the hop limit");
    for id in &out.visited {
        assert!(exists(id), "visited {id:?}, which is not a node");
    }
    for m in &out.messages {
        assert!(exists(&m.node_id), "a message from {:?}", m.node_id);
        assert!(
            !m.text.is_empty() && m.text.trim() == m.text,
            "{:?}",
            m.text
        );
    }
    for (i, tag) in out.tags.iter().enumerate() {
        assert!(
            out.tags[..i].iter().all(|t| t.name != tag.name),
            "tag twice"
        );
    }
    match &out.signal {
        Signal::End { .. } => assert!(out.state.ended, "ended without the state saying so"),
        Signal::Continue => {
            let at = out.state.current_node_id.as_deref();
            assert!(
                at.is_some_and(exists),
                "waiting at {at:?}, which is not a node"
            );
        }
        Signal::Handoff { node_id, .. } | Signal::TransferPathway { node_id, .. } => {
            assert!(exists(node_id));
        }
    }
    let stored = serde_json::to_string(&out.state).expect("the state serializes");
    let loaded: PathwayState = serde_json::from_str(&stored).expect("the state loads back");
    assert_eq!(loaded, out.state, "the state does not round-trip");
    serde_json::to_string(&out.warnings).expect("warnings serialize");
}
