//! Property tests for the disposition rule language (`parley_domain::dispositions`): over
//! arbitrary rule-shaped JSON and arbitrary conversations, parsing never panics, evaluation
//! of whatever parses never panics, and every field's value has the field's type or is
//! `null`. Saving what parsed and parsing it again changes nothing.

use parley_domain::{
    conversation_record::{ConversationRecord, Speaker, TranscriptLine},
    dispositions::Disposition,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Keys rules read, a few of which the records below hold.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_owned()),
        Just("age".to_owned()),
        Just("tags".to_owned()),
        Just("a.b".to_owned()),
        Just("Booked".to_owned()),
        Just("timeout".to_owned()),
        "[a-z ]{0,6}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        any::<i32>().prop_map(|i| json!(i)),
        word().prop_map(Value::String),
        Just(json!("42")),
        Just(json!("TRUE")),
    ]
}

/// JSON shaped like rules: mostly operator objects, some of them malformed.
fn rule() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        scalar(),
        word().prop_map(|w| json!({"var": w})),
        word().prop_map(|w| json!({"citation": w})),
        word().prop_map(|w| json!({"metadata": [w, 0]})),
        prop_oneof![Just("user"), Just("any"), Just("robot")]
            .prop_map(|s| json!({"message_count": s})),
        word().prop_map(|w| json!({"has_tag": w})),
        word().prop_map(|w| json!({"ended_reason": [w]})),
        word().prop_map(|w| json!({"transcript_contains": w, "speaker": "any"})),
        prop_oneof![Just("^y"), Just("(["), Just("\\d+"), Just("")]
            .prop_map(|p| json!({"transcript_matches": p, "case_insensitive": true})),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        let op = prop_oneof![
            Just("=="),
            Just("!="),
            Just("<"),
            Just(">="),
            Just("in"),
            Just("bogus")
        ];
        prop_oneof![
            (op, inner.clone(), inner.clone()).prop_map(|(op, a, b)| json!({op: [a, b]})),
            (inner.clone(), prop::collection::vec(scalar(), 0..3))
                .prop_map(|(a, list)| json!({"in": [a, list]})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"all": v})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"any": v})),
            inner.clone().prop_map(|v| json!({"not": v})),
            inner.clone().prop_map(|v| json!({"exists": v})),
            (
                prop::collection::vec((inner.clone(), inner.clone()), 0..3),
                prop::option::of(inner.clone())
            )
                .prop_map(|(cases, default)| {
                    let cases: Vec<Value> = cases
                        .into_iter()
                        .map(|(w, t)| json!({"when": w, "then": t}))
                        .collect();
                    match default {
                        Some(d) => json!({"cases": cases, "default": d}),
                        None => json!({"cases": cases}),
                    }
                }),
            prop::collection::vec(inner, 0..3).prop_map(Value::Array),
        ]
    })
}

/// A non-blank key or tag name.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_owned()),
        Just("age".to_owned()),
        Just("tags".to_owned()),
        Just("Booked".to_owned()),
        "[a-z]{1,5}",
    ]
}

fn read() -> impl Strategy<Value = Value> {
    prop_oneof![
        name().prop_map(|w| json!({"var": w})),
        name().prop_map(|w| json!({"citation": w})),
        (name(), name()).prop_map(|(a, b)| json!({"metadata": [a, b]})),
    ]
}

fn speaker() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("user"), Just("agent"), Just("human"), Just("any")]
}

/// Well-typed conditions, so that most of them survive the type check and get evaluated.
fn condition() -> impl Strategy<Value = Value> {
    let operand = prop_oneof![
        (-100i32..100).prop_map(|i| json!(i)),
        name().prop_map(Value::String),
        Just(json!({"message_count": "any"})),
    ];
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        read(),
        name().prop_map(|w| json!({"has_tag": w})),
        name().prop_map(|w| json!({"ended_reason": [w, "timeout"]})),
        (name(), speaker()).prop_map(|(w, s)| json!({"transcript_contains": w, "speaker": s})),
        (
            prop_oneof![Just("^y"), Just("\\d+"), Just("(?i)ok|no")],
            speaker(),
            any::<bool>()
        )
            .prop_map(
                |(p, s, ci)| json!({"transcript_matches": p, "speaker": s, "case_insensitive": ci})
            ),
        read().prop_map(|r| json!({"exists": r})),
        (
            prop_oneof![
                Just("=="),
                Just("!="),
                Just("<"),
                Just("<="),
                Just(">"),
                Just(">=")
            ],
            read(),
            operand
        )
            .prop_map(|(op, a, b)| json!({op: [a, b]})),
        (
            read(),
            prop::collection::vec(scalar().prop_filter("no null", |v| !v.is_null()), 1..3)
        )
            .prop_map(|(a, list)| json!({"in": [a, list]})),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({"all": v})),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| json!({"any": v})),
            inner.clone().prop_map(|v| json!({"not": v})),
            prop::collection::vec((inner.clone(), inner), 1..3).prop_map(|cases| {
                let cases: Vec<Value> = cases
                    .into_iter()
                    .map(|(w, t)| json!({"when": w, "then": t}))
                    .collect();
                json!({"cases": cases})
            }),
        ]
    })
}

/// A well-typed rule for a field of type `kind`.
fn typed(kind: &'static str) -> BoxedStrategy<Value> {
    if kind == "boolean" {
        return condition().boxed();
    }
    let leaf = match kind {
        "string" => prop_oneof![name().prop_map(Value::String), read()].boxed(),
        _ => prop_oneof![
            (-1e3f64..1e3).prop_map(|f| json!(f)),
            read(),
            speaker().prop_map(|s| json!({"message_count": s})),
        ]
        .boxed(),
    };
    prop_oneof![
        leaf.clone(),
        (
            prop::collection::vec((condition(), leaf.clone()), 1..4),
            prop::option::of(leaf)
        )
            .prop_map(|(cases, default)| {
                let cases: Vec<Value> = cases
                    .into_iter()
                    .map(|(w, t)| json!({"when": w, "then": t}))
                    .collect();
                match default {
                    Some(d) => json!({"cases": cases, "default": d}),
                    None => json!({"cases": cases}),
                }
            }),
    ]
    .boxed()
}

/// A field's type and its rule: mostly well-typed, sometimes arbitrary.
fn field() -> impl Strategy<Value = (&'static str, Value)> {
    kind().prop_flat_map(|k| (Just(k), prop_oneof![4 => typed(k), 1 => rule()]))
}

fn data() -> impl Strategy<Value = Value> {
    let leaf = scalar();
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(word(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(word(), data(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn record() -> impl Strategy<Value = ConversationRecord> {
    let line = (
        prop_oneof![
            Just(Speaker::User),
            Just(Speaker::Agent),
            Just(Speaker::Human)
        ],
        "[a-zA-Z0-9 ,.!?'é]{0,30}",
    );
    (
        prop::collection::vec(line, 0..6),
        object(),
        data(),
        prop::collection::vec(word(), 0..3),
        prop::option::of(word()),
        object(),
    )
        .prop_map(
            |(lines, variables, metadata, pathway_tags, ended_reason, citations)| {
                ConversationRecord {
                    conversation_id: "c".into(),
                    transcript: lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, (speaker, text))| TranscriptLine {
                            message_id: i as i64,
                            speaker,
                            text,
                            created_at_ms: i as i64,
                        })
                        .collect(),
                    variables,
                    metadata,
                    pathway_tags,
                    ended_reason,
                    summary: None,
                    citations,
                }
            },
        )
}

fn kind() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("boolean"), Just("string"), Just("number")]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn evaluation_is_total_and_values_have_the_field_type(
        rules in prop::collection::vec(field(), 1..4),
        record in record(),
    ) {
        let fields: Vec<Value> = rules
            .iter()
            .enumerate()
            .map(|(i, (k, r))| json!({"name": format!("f{i}"), "type": k, "rule": r}))
            .collect();
        let def = json!({"name": "p", "fields": fields});
        let Ok(parsed) = Disposition::parse(&def) else { return Ok(()) };
        let result = parsed.evaluate(&record, &Map::new());
        prop_assert_eq!(result.len(), rules.len());
        for (i, (k, _)) in rules.iter().enumerate() {
            let v = &result[&format!("f{i}")];
            let typed = match *k {
                "boolean" => v.is_boolean(),
                "string" => v.is_string(),
                _ => v.is_number(),
            };
            prop_assert!(v.is_null() || typed, "field f{} ({}) = {}", i, k, v);
        }
        let stored = parsed.to_value();
        let again = Disposition::parse(&stored).expect("the stored form parses");
        prop_assert_eq!(again.to_value(), stored);
        prop_assert_eq!(again.evaluate(&record, &Map::new()), result);
    }

    #[test]
    fn parsing_anything_reports_errors_instead_of_panicking(v in data(), r in rule()) {
        let _ = Disposition::parse(&v);
        let _ = Disposition::parse(&json!({"name": v, "fields": [r]}));
    }
}
