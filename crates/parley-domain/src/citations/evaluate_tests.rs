use serde_json::json;

use super::*;
use crate::conversation_record::TranscriptLine;

fn line(id: i64, speaker: Speaker, text: &str) -> TranscriptLine {
    TranscriptLine {
        message_id: id,
        speaker,
        text: text.into(),
        created_at_ms: id,
    }
}

fn record() -> ConversationRecord {
    ConversationRecord {
        conversation_id: "c1".into(),
        transcript: vec![
            line(1, Speaker::Agent, "What is your zip? e.g. 10001"),
            line(2, Speaker::User, "It's 94107, I'm Ann. Plan: gold"),
            line(3, Speaker::User, "sorry, zip 94110 and I need 3 rooms"),
            line(4, Speaker::Human, "Thanks Ann, booked for 2 nights"),
        ],
        variables: json!({"plan": "Gold", "vip": "yes", "age": "forty"})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    }
}

fn schema(v: Value) -> CitationSchema {
    CitationSchema::parse(&v).unwrap()
}

#[test]
fn deterministic_sources_extract_without_a_model() {
    let s = schema(json!({"variables": [
        {"name": "zip", "type": "string", "source": {"regex": "\\b(\\d{5})\\b"}},
        {"name": "agent_zip", "type": "number", "source": {"regex": "\\d{5}", "speaker": "agent"}},
        {"name": "all_zips", "type": "array", "source": {"regex": "\\d{5}", "speaker": "any"}},
        {"name": "nights", "type": "number", "source": {"regex": "(\\d+) nights", "speaker": "agent"}},
        {"name": "plan", "type": "category", "options": ["Silver", "GOLD"], "source": {"variable": "plan"}},
        {"name": "vip", "type": "boolean", "source": {"variable": "vip"}},
        {"name": "age", "type": "number", "source": {"variable": "age"}},
        {"name": "missing", "type": "string", "source": {"variable": "nope"}}
    ]}));

    let (values, citations, skipped) = Extraction::without_model(&s, &record());

    assert_eq!(
        Value::Object(values),
        json!({"zip": "94110", "agent_zip": 10001, "all_zips": ["10001", "94107", "94110"],
               "nights": 2, "plan": "GOLD", "vip": true})
    );
    assert!(skipped.is_empty());
    let cited: Vec<(&str, i64, f64)> = citations
        .iter()
        .map(|c| (c.variable.as_str(), c.message_id, c.confidence))
        .collect();
    assert_eq!(
        cited,
        [
            ("zip", 3, 1.0),
            ("agent_zip", 1, 1.0),
            ("all_zips", 3, 1.0),
            ("nights", 4, 1.0)
        ]
    );
    assert_eq!(citations[0].message, "sorry, zip 94110 and I need 3 rooms");
}

#[test]
fn the_last_match_that_coerces_wins() {
    let s = schema(json!({"variables": [
        {"name": "n", "type": "number", "source": {"regex": "zip (\\w+)|(\\d+) rooms", "group": 2}},
        {"name": "flag", "type": "boolean", "source": {"regex": "(yes|no|maybe)", "speaker": "any"}}
    ]}));
    let (values, _, _) = Extraction::without_model(&s, &record());
    assert_eq!(Value::Object(values), json!({"n": 3}));
}

#[test]
fn model_variables_wait_for_an_answer_and_are_typed_and_cited() {
    let s = schema(json!({"variables": [
        {"name": "name", "type": "string"},
        {"name": "rooms", "type": "number"},
        {"name": "happy", "type": "boolean"},
        {"name": "zip", "type": "string", "source": {"regex": "zip (\\d+)"}}
    ]}));
    let r = record();
    let mut x = Extraction::start(&s, &r);
    let names: Vec<&str> = x.pending().iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["name", "rooms", "happy"]);
    assert_eq!(x.values()["zip"], json!("94110"));

    x.supply(
        json!({"name": "Ann", "rooms": "three", "happy": true, "zip": "00000", "extra": 1})
            .as_object()
            .unwrap(),
        &r,
    );

    assert!(x.pending().is_empty());
    let (values, citations) = x.into_parts();
    assert_eq!(
        Value::Object(values),
        json!({"zip": "94110", "name": "Ann", "happy": true})
    );
    let ann = citations.iter().find(|c| c.variable == "name").unwrap();
    // The user's own message, not the human agent's later "Thanks Ann".
    assert_eq!((ann.message_id, ann.confidence), (2, MODEL_CONFIDENCE));
    assert!(!citations.iter().any(|c| c.variable == "happy"));
}

#[test]
fn conditions_bring_their_variables_only_when_they_hold() {
    let s = schema(json!({
        "variables": [
            {"name": "plan", "type": "string", "source": {"variable": "plan"}},
            {"name": "rooms", "type": "number", "source": {"regex": "(\\d+) rooms"}}
        ],
        "conditions": [
            {"condition": {"variable": "plan", "operator": "===", "value": "Gold"},
             "variables": [{"name": "perk", "type": "string"}]},
            {"condition": {"variable": "rooms", "operator": ">", "value": "5"},
             "variables": [{"name": "group_rate", "type": "boolean"}]},
            {"condition": {"variable": "perk", "operator": "contains", "value": "spa"},
             "variables": [{"name": "spa_day", "type": "string", "source": {"regex": "(\\w+day)"}}]}
        ]
    }));
    let r = record();
    let mut x = Extraction::start(&s, &r);
    let pending: Vec<&str> = x.pending().iter().map(|v| v.name.as_str()).collect();
    assert_eq!(pending, ["perk"]);

    x.supply(json!({"perk": "Spa access"}).as_object().unwrap(), &r);

    // The spa condition held on the model's answer; its regex found nothing in the text.
    assert!(x.pending().is_empty());
    let (values, _) = x.into_parts();
    assert_eq!(
        Value::Object(values),
        json!({"plan": "Gold", "rooms": 3, "perk": "Spa access"})
    );
}

#[test]
fn without_a_model_the_model_variables_are_reported_and_conditions_still_run() {
    let s = schema(json!({
        "variables": [
            {"name": "summary", "type": "string"},
            {"name": "vip", "type": "boolean", "source": {"variable": "vip"}}
        ],
        "conditions": [
            {"condition": {"variable": "vip", "operator": "===", "value": "true"},
             "variables": [{"name": "tier", "type": "category", "options": ["a", "b"]},
                           {"name": "plan", "type": "string", "source": {"regex": "Plan: (\\w+)"}}]},
            {"condition": {"variable": "summary", "operator": "!==", "value": "x"},
             "variables": [{"name": "never", "type": "string"}]}
        ]
    }));
    let (values, citations, skipped) = Extraction::without_model(&s, &record());
    assert_eq!(Value::Object(values), json!({"vip": true, "plan": "gold"}));
    assert_eq!(skipped, ["summary", "tier"]);
    assert_eq!(citations.len(), 1);
}
