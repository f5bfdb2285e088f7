use serde_json::json;

use super::*;

fn path_of(v: Value) -> String {
    CitationSchema::parse(&v).unwrap_err().path
}

#[test]
fn blands_documented_example_parses() {
    let s = CitationSchema::parse(&json!({
        "variables": [
            {"name": "Customer Name", "description": "The full name", "type": "string"},
            {"name": "Customer Age", "description": "Years", "type": "number"},
            {"name": "Interested in Product", "description": "", "type": "boolean"}
        ],
        "groupings": [{"name": "Demographics", "variables": ["Customer Name", "Customer Age"]}],
        "conditions": [{
            "condition": {"value": "true", "operator": "===", "variable": "Interested in Product"},
            "variables": [{"name": "Product Interest Details", "type": "string", "description": "Which"}]
        }]
    }))
    .unwrap();
    assert_eq!(s.variables.len(), 3);
    assert_eq!(s.conditions[0].operator, Operator::Eq);
    assert_eq!(s.all_variables().count(), 4);
    assert_eq!(s.needs_model().len(), 4);
    assert_eq!(
        CitationSchema::parse(&Value::Null).unwrap(),
        CitationSchema::default()
    );
}

#[test]
fn errors_name_the_offending_field() {
    let ok = json!({"name": "a", "type": "string"});
    for (schema, path) in [
        (json!([]), "schema"),
        (json!({"variables": {}}), "schema.variables"),
        (json!({"variables": [ok, ok]}), "schema.variables[1].name"),
        (
            json!({"variables": [ok, {"name": "b", "type": "date"}]}),
            "schema.variables[1].type",
        ),
        (
            json!({"variables": [{"name": " ", "type": "string"}]}),
            "schema.variables[0].name",
        ),
        (
            json!({"variables": [{"name": "b"}]}),
            "schema.variables[0].type",
        ),
        (
            json!({"variables": [{"name": "c", "type": "category"}]}),
            "schema.variables[0].options",
        ),
        (
            json!({"variables": [{"name": "c", "type": "category", "options": ["A", "a"]}]}),
            "schema.variables[0].options[1]",
        ),
        (
            json!({"variables": [{"name": "r", "type": "string", "source": {"regex": "("}}]}),
            "schema.variables[0].source.regex",
        ),
        (
            json!({"variables": [{"name": "r", "type": "string", "source": {"regex": "a(b)", "group": 2}}]}),
            "schema.variables[0].source.group",
        ),
        (
            json!({"variables": [{"name": "r", "type": "string", "source": {"regex": "a", "speaker": "bot"}}]}),
            "schema.variables[0].source.speaker",
        ),
        (
            json!({"variables": [{"name": "r", "type": "string", "source": {"variable": "x", "regex": "a"}}]}),
            "schema.variables[0].source",
        ),
        (
            json!({"variables": [ok], "conditions": [{"condition": {"variable": "zz", "operator": "===", "value": "1"}}]}),
            "schema.conditions[0].condition.variable",
        ),
        (
            json!({"variables": [ok], "conditions": [{"condition": {"variable": "a", "operator": "~", "value": "1"}}]}),
            "schema.conditions[0].condition.operator",
        ),
        (
            json!({"variables": [ok], "conditions": [{"condition": {"variable": "a", "operator": "==="}}]}),
            "schema.conditions[0].condition.value",
        ),
        (
            json!({"variables": [ok], "conditions": [{"condition": {"variable": "a", "operator": "===", "value": "x"},
                    "variables": [ok]}]}),
            "schema.conditions[0].variables[0].name",
        ),
        (
            json!({"variables": [ok], "groupings": [{"name": "g", "variables": ["nope"]}]}),
            "schema.groupings[0].variables[0]",
        ),
    ] {
        assert_eq!(path_of(schema.clone()), path, "{schema}");
    }
}

#[test]
fn sources_default_to_the_first_group_over_user_messages() {
    let s = CitationSchema::parse(&json!({"variables": [
        {"name": "zip", "type": "string", "source": {"regex": "zip (\\d{5})"}},
        {"name": "all", "type": "string", "source": {"regex": "\\d+", "speaker": "ANY"}},
        {"name": "plan", "type": "string", "source": {"variable": " plan "}}
    ]}))
    .unwrap();
    match &s.variables[0].source {
        Some(Source::Regex { group, speaker, .. }) => {
            assert_eq!((*group, *speaker), (1, SpeakerFilter::User))
        }
        other => panic!("{other:?}"),
    }
    match &s.variables[1].source {
        Some(Source::Regex { group, speaker, .. }) => {
            assert_eq!((*group, *speaker), (0, SpeakerFilter::Any))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.variables[2].source, Some(Source::Variable("plan".into())));
    assert!(s.needs_model().is_empty());
}

#[test]
fn a_condition_may_test_a_variable_of_an_earlier_condition() {
    let s = json!({
        "variables": [{"name": "a", "type": "boolean"}],
        "conditions": [
            {"condition": {"variable": "a", "operator": "===", "value": true}, "variables": [{"name": "b", "type": "number"}]},
            {"condition": {"variable": "b", "operator": ">", "value": 3}, "variables": [{"name": "c", "type": "string"}]}
        ]
    });
    let parsed = CitationSchema::parse(&s).unwrap();
    assert_eq!(parsed.conditions[0].value, "true");
    assert_eq!(parsed.conditions[1].value, "3");
}
