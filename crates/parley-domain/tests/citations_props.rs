//! Property tests for citation extraction (`parley_domain::citations`): whatever the schema,
//! the conversation and the model's answers, parsing and extraction never panic, every
//! value has its variable's declared type, and every citation points at a real message.

use std::collections::HashMap;

use parley_domain::{
    citations::{CitationSchema, Extraction, VarType},
    conversation_record::{ConversationRecord, Speaker, TranscriptLine},
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Names shared by schemas, pathway variables and model answers, so they meet.
const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
/// Patterns with their number of capture groups.
const PATTERNS: [(&str, usize); 5] = [
    ("\\d+", 0),
    ("zip (\\d{5})", 1),
    ("(yes|no)", 1),
    ("(\\w+)@(\\w+)", 2),
    ("(?i)plan: (gold|silver)|(\\d+(?:\\.\\d+)?) rooms", 2),
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z0-9 .:@,-]{0,12}".prop_map(Value::String),
        prop::sample::select(&["yes", "GOLD", "3", " 4.5 ", "true", "x"][..])
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::hash_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn var_type() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"type": "string"})),
        Just(json!({"type": "number"})),
        Just(json!({"type": "boolean"})),
        Just(json!({"type": "array"})),
        prop::collection::btree_set(
            prop::sample::select(&["Gold", "silver", "3", "yes"][..]),
            1..4
        )
        .prop_map(|o| json!({"type": "category", "options": o.into_iter().collect::<Vec<_>>()})),
    ]
}

fn source() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        prop::sample::select(&NAMES[..]).prop_map(|n| json!({"variable": n})),
        (
            0..PATTERNS.len(),
            any::<prop::sample::Index>(),
            prop::sample::select(&["user", "agent", "any"][..])
        )
            .prop_map(|(p, g, speaker)| {
                let (pattern, groups) = PATTERNS[p];
                json!({"regex": pattern, "group": g.index(groups + 1), "speaker": speaker})
            }),
    ]
}

fn variable(name: &'static str) -> impl Strategy<Value = Value> {
    (var_type(), source()).prop_map(move |(mut t, s)| {
        t["name"] = json!(name);
        t["description"] = json!("what it is");
        if !s.is_null() {
            t["source"] = s;
        }
        t
    })
}

/// A valid schema: `NAMES` split between the top level and up to two conditions, each
/// condition testing a name declared before it.
fn schema() -> impl Strategy<Value = Value> {
    let vars: Vec<_> = NAMES.iter().map(|n| variable(n)).collect();
    let ops = prop::sample::select(&["===", "!==", ">", ">=", "<", "<=", "contains"][..]);
    (vars, 1..=4usize, ops.clone(), ops, "[a-z0-9]{0,4}", "[0-9]{1,2}").prop_map(
        |(vars, split, op1, op2, v1, v2)| {
            let (top, rest) = vars.split_at(split);
            let mid = rest.len() / 2;
            json!({
                "variables": top,
                "conditions": [
                    {"condition": {"variable": NAMES[0], "operator": op1, "value": v1}, "variables": &rest[..mid]},
                    {"condition": {"variable": NAMES[split - 1], "operator": op2, "value": v2}, "variables": &rest[mid..]}
                ],
                "groupings": [{"name": "g", "variables": [NAMES[0]]}]
            })
        },
    )
}

fn record() -> impl Strategy<Value = ConversationRecord> {
    let speaker = prop::sample::select(&[Speaker::User, Speaker::Agent, Speaker::Human][..]);
    let text = prop_oneof![
        "[a-z0-9 .:@,]{0,40}",
        Just("zip 94107, plan: Gold, 3 rooms, yes".to_owned()),
        Just("ann@example no 2.5 rooms".to_owned()),
    ];
    (
        prop::collection::vec((speaker, text), 0..6),
        prop::collection::hash_map(prop::sample::select(&NAMES[..]), json_value(), 0..6),
    )
        .prop_map(|(lines, vars)| ConversationRecord {
            conversation_id: "c".into(),
            transcript: lines
                .into_iter()
                .enumerate()
                .map(|(i, (speaker, text))| TranscriptLine {
                    message_id: i as i64 + 100,
                    speaker,
                    text,
                    created_at_ms: i as i64,
                })
                .collect(),
            variables: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            ..Default::default()
        })
}

/// What a model might answer: any JSON under the shared names, or nothing (a failure).
fn answers() -> impl Strategy<Value = Vec<Option<Map<String, Value>>>> {
    let answer = prop::collection::hash_map(prop::sample::select(&NAMES[..]), json_value(), 0..6)
        .prop_map(|m| {
            m.into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<Map<_, _>>()
        });
    prop::collection::vec(prop::option::of(answer), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsing_any_json_never_panics(v in json_value()) {
        let _ = CitationSchema::parse(&v);
    }

    #[test]
    fn every_extracted_value_has_its_declared_type(
        schema in schema(), record in record(), answers in answers(),
    ) {
        let schema = CitationSchema::parse(&schema).expect("generated schemas are valid");
        let types: HashMap<&str, &VarType> =
            schema.all_variables().map(|v| (v.name.as_str(), &v.var_type)).collect();

        let mut x = Extraction::start(&schema, &record);
        let mut answers = answers.into_iter();
        while !x.pending().is_empty() {
            match answers.next().flatten() {
                Some(a) => x.supply(&a, &record),
                None => { x.skip_pending(&record); }
            }
        }
        let (values, citations) = x.into_parts();

        for (name, value) in &values {
            let ty = types.get(name.as_str()).expect("only declared variables are extracted");
            prop_assert!(ty.admits(value), "{name}: {value} is not a {}", ty.name());
        }
        for c in &citations {
            prop_assert!(values.contains_key(&c.variable), "cited {} was not extracted", c.variable);
            prop_assert!((0.0..=1.0).contains(&c.confidence));
            let line = record.transcript.iter().find(|l| l.message_id == c.message_id);
            prop_assert_eq!(line.map(|l| l.text.as_str()), Some(c.message.as_str()));
        }
    }

    #[test]
    fn without_a_model_only_sourced_variables_are_extracted(schema in schema(), record in record()) {
        let schema = CitationSchema::parse(&schema).expect("generated schemas are valid");
        let (values, _, skipped) = Extraction::without_model(&schema, &record);
        let needs = schema.needs_model();
        for name in values.keys() {
            prop_assert!(!needs.contains(&name.as_str()), "{name} needs a model");
        }
        for name in &skipped {
            prop_assert!(needs.contains(&name.as_str()));
        }
    }
}
