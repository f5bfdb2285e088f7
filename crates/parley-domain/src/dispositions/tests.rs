use serde_json::{json, Map, Value};

use super::*;
use crate::conversation_record::{Speaker, TranscriptLine};

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
            line(
                1,
                Speaker::Agent,
                "Hi Ada, reply C to confirm May 2 or R to reschedule.",
            ),
            line(2, Speaker::User, "Can we do another  day? Thursday 3pm"),
            line(3, Speaker::Human, "Sure, booked Thursday."),
            line(4, Speaker::User, "THANKS!"),
        ],
        variables: json!({"name": "Ada", "age": "42", "slots": ["mon", "thu"], "vip": true,
                          "addr": {"city": "Lyon"}, "blank": "  ", "n": 7, "flag": " TRUE "})
        .as_object()
        .unwrap()
        .clone(),
        metadata: json!({"crm": {"id": 99}, "a.b": "dotted"}),
        pathway_tags: vec!["Booked".into()],
        ended_reason: Some("ended".into()),
        summary: None,
        citations: json!({"Customer Name": "Ada L."})
            .as_object()
            .unwrap()
            .clone(),
    }
}

/// The value of a one-field definition `{type, rule}` over [`record`].
fn value(kind: &str, rule: Value) -> Value {
    let def = Disposition::parse(&json!({
        "name": "t", "fields": [{"name": "f", "type": kind, "rule": rule}]
    }))
    .unwrap_or_else(|e| panic!("{e:?}"));
    def.evaluate(&record(), &Map::new())["f"].clone()
}

fn holds(rule: Value) -> bool {
    value("boolean", rule) == json!(true)
}

/// The errors of a definition with these fields, as `path: message` strings.
fn errors(fields: Value) -> Vec<String> {
    match Disposition::parse(&json!({"name": "t", "fields": fields})) {
        Ok(_) => panic!("accepted {fields}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn an_appointment_reminder_outcome_reads_the_conversation() {
    let def = Disposition::parse(&json!({
        "name": "Appointment reminder",
        "tag_field": "outcome",
        "fields": [
            {"name": "outcome", "type": "string", "rule": {"cases": [
                {"when": {"has_tag": "Booked"}, "then": "confirmed"},
                {"when": {"transcript_contains": ["reschedule", "another day"]}, "then": "reschedule"},
                {"when": {"ended_reason": "timeout"}, "then": "no_reply"}
            ], "default": "unknown"}},
            {"name": "replies", "type": "number", "rule": {"message_count": "user"}},
            {"name": "asked_time", "type": "boolean",
             "rule": {"transcript_matches": "\\b\\d{1,2}\\s*(am|pm)\\b", "case_insensitive": true}},
            {"name": "customer", "type": "string", "rule": {"citation": "Customer Name"}}
        ]
    }))
    .unwrap();
    let result = def.evaluate(&record(), &Map::new());
    assert_eq!(
        Value::Object(result.clone()),
        json!({"outcome": "confirmed", "replies": 2, "asked_time": true, "customer": "Ada L."})
    );
    assert_eq!(def.tag(&result).as_deref(), Some("confirmed"));
}

#[test]
fn reads_follow_paths_into_variables_citations_and_metadata() {
    assert_eq!(value("string", json!({"var": "addr.city"})), json!("Lyon"));
    assert_eq!(value("string", json!({"var": "slots.1"})), json!("thu"));
    assert_eq!(value("number", json!({"metadata": "crm.id"})), json!(99));
    assert_eq!(
        value("string", json!({"metadata": ["a.b"]})),
        json!("dotted")
    );
    assert_eq!(value("string", json!({"var": "nope.deeper"})), Value::Null);
    assert_eq!(value("string", json!({"var": "slots.9"})), Value::Null);
}

#[test]
fn values_are_converted_to_the_field_type_or_null() {
    assert_eq!(value("number", json!({"var": "age"})), json!(42));
    assert_eq!(value("string", json!({"var": "n"})), json!("7"));
    assert_eq!(value("string", json!({"var": "vip"})), json!("true"));
    assert_eq!(value("boolean", json!({"var": "name"})), Value::Null);
    assert_eq!(value("number", json!({"var": "addr"})), Value::Null);
    assert_eq!(value("number", json!(2.5)), json!(2.5));
}

#[test]
fn transcript_operators_pick_the_speaker_and_match_whole_words() {
    assert!(holds(json!({"transcript_contains": "another day"})));
    assert!(!holds(json!({"transcript_contains": "confirm"})));
    assert!(holds(
        json!({"transcript_contains": "confirm", "speaker": "agent"})
    ));
    assert!(holds(
        json!({"transcript_contains": "booked", "speaker": "human"})
    ));
    assert!(!holds(json!({"transcript_contains": "than"}))); // "THANKS" is another word
    assert!(holds(
        json!({"transcript_contains": ["zzz", "thanks"], "speaker": "any"})
    ));
    assert!(!holds(json!({"transcript_matches": "^thanks"})));
    assert!(holds(
        json!({"transcript_matches": "^thanks", "case_insensitive": true})
    ));
    assert_eq!(value("number", json!({"message_count": "any"})), json!(4));
    assert_eq!(value("number", json!({"message_count": "human"})), json!(1));
}

#[test]
fn tags_and_ended_reason_ignore_case_and_accept_lists() {
    assert!(holds(json!({"has_tag": " booked "})));
    assert!(holds(json!({"has_tag": ["x", "BOOKED"]})));
    assert!(!holds(json!({"has_tag": "Declined"})));
    assert!(holds(json!({"ended_reason": ["timeout", "Ended"]})));
    assert!(!holds(json!({"ended_reason": "timeout"})));
}

#[test]
fn comparisons_follow_the_documented_rules() {
    assert!(
        holds(json!({">=": [{"var": "age"}, 18]})),
        "numeric text vs number"
    );
    assert!(
        holds(json!({"==": [{"var": "name"}, " ada "]})),
        "text ignores case and spaces"
    );
    assert!(holds(json!({"<": ["apple", "Banana"]})));
    assert!(holds(json!({"==": [{"var": "vip"}, true]})));
    assert!(holds(json!({"==": [{"var": "vip"}, {"var": "vip"}]})));
    assert!(!holds(
        json!({"==": [{"var": "missing"}, {"var": "missing"}]})
    ));
    assert!(holds(json!({"!=": [{"var": "missing"}, "x"]})));
    assert!(!holds(json!({"<": [{"var": "missing"}, 1]})));
    assert!(
        !holds(json!({">": [{"var": "name"}, 1]})),
        "a word has no numeric order"
    );
    assert!(
        !holds(json!({"<": [{"var": "vip"}, {"var": "vip"}]})),
        "booleans have no order"
    );
    assert!(holds(json!({"in": [{"var": "name"}, ["bob", "ADA"]]})));
    assert!(holds(json!({"in": ["thu", {"var": "slots"}]})));
    assert!(
        !holds(json!({"in": ["x", {"var": "name"}]})),
        "not a list: no member"
    );
    assert!(holds(json!({"exists": {"var": "name"}})));
    assert!(!holds(json!({"exists": {"var": "blank"}})));
}

#[test]
fn logic_and_cases_short_circuit_in_order() {
    assert!(holds(json!({"all": [true, {"has_tag": "booked"}]})));
    assert!(!holds(json!({"all": [true, false]})));
    assert!(holds(json!({"any": [false, {"var": "vip"}]})));
    assert!(holds(json!({"not": {"var": "missing"}})));
    // Read values hold only when they are true or the text "true".
    assert!(holds(json!({"all": [{"var": "vip"}, {"var": "flag"}]})));
    assert!(
        holds(json!({"not": {"var": "name"}})),
        "other text does not hold"
    );
    assert!(holds(json!({"not": {"var": "n"}})), "numbers do not hold");
    let first = json!({"cases": [{"when": true, "then": "a"}, {"when": true, "then": "b"}]});
    assert_eq!(value("string", first), json!("a"));
    let none = json!({"cases": [{"when": false, "then": "a"}]});
    assert_eq!(value("string", none), Value::Null);
}

#[test]
fn type_errors_name_the_branch_or_operand_at_fault() {
    let e = errors(json!([
        {"name": "ok", "type": "boolean", "rule": true},
        {"name": "f", "type": "string", "rule": {"cases": [
            {"when": {"var": "vip"}, "then": "yes"},
            {"when": "sometimes", "then": 3}
        ]}}
    ]));
    assert_eq!(
        e,
        [
            "fields[1].rule.cases[1].when: gives a string where a boolean is needed",
            "fields[1].rule.cases[1].then: gives a number where a string is needed",
        ]
    );
    assert_eq!(
        errors(json!([{"name": "f", "type": "number", "rule": {"has_tag": "x"}}])),
        ["fields[0].rule: gives a boolean where a number is needed"]
    );
    assert_eq!(
        errors(
            json!([{"name": "f", "type": "boolean", "rule": {"==": [{"cases": [
            {"when": true, "then": "a"}, {"when": true, "then": 1}]}, "a"]}}])
        ),
        [
            r#"fields[0].rule["=="][0].cases[1].then: gives a number where fields[0].rule["=="][0].cases[0].then gives a string"#
        ]
    );
    assert_eq!(
        errors(json!([{"name": "f", "type": "boolean", "rule": {"<": ["a", 1]}}])),
        [r#"fields[0].rule["<"]: compares a string with a number"#]
    );
    assert_eq!(
        errors(json!([{"name": "f", "type": "boolean", "rule": {">": [true, {"var": "x"}]}}])),
        [r#"fields[0].rule[">"]: booleans have no order; compare them with == or !="#]
    );
}

#[test]
fn shape_errors_are_all_reported_with_their_paths() {
    let e = errors(json!([
        {"name": " ", "type": "text", "rule": true},
        {"name": "a", "type": "boolean", "rule": {"all": [{"has_tag": "x", "not": true}, {"foo": 1}]}},
        {"name": "b", "type": "boolean", "rule": {"transcript_matches": "(["}},
        {"name": "c", "type": "boolean", "rule": {"transcript_contains": "x", "speaker": "bot"}},
        {"name": "d", "type": "boolean", "rule": {"exists": "name"}},
        {"name": "e", "type": "string", "rule": null},
        {"name": "g", "type": "string", "rules": {"var": "x"}},
        {"name": "h", "type": "boolean", "rule": {"in": [1, []]}},
        {"name": "i", "type": "string", "rule": {"var": "a..b"}}
    ]));
    let paths: Vec<&str> = e.iter().map(|s| s.split(": ").next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "fields[0].name",
            "fields[0].type",
            "fields[1].rule.all[0]",
            "fields[1].rule.all[1]",
            "fields[2].rule.transcript_matches",
            "fields[3].rule.speaker",
            "fields[4].rule.exists",
            "fields[5].rule",
            "fields[6].rules",
            "fields[7].rule.in[1]",
            "fields[8].rule.var",
        ],
        "{e:#?}"
    );
    assert!(e[2].contains("several operator keys"), "{}", e[2]);
    assert!(e[4].contains("not a valid regular expression"), "{}", e[4]);
}

#[test]
fn definition_level_rules() {
    let parse = |v: Value| Disposition::parse(&v).unwrap_err();
    let one = json!({"name": "a", "type": "boolean", "rule": true});
    assert_eq!(
        parse(json!({"fields": [one]}))[0].to_string(),
        "name: is required"
    );
    assert_eq!(parse(json!({"name": "x", "fields": []}))[0].path, "fields");
    let dup = parse(json!({"name": "x", "fields": [one, one]}));
    assert_eq!(dup[0].to_string(), "fields[1].name: repeats fields[0].name");
    let tag = parse(json!({"name": "x", "tag_field": "a", "fields": [one]}));
    assert_eq!(
        tag[0].to_string(),
        r#"tag_field: names "a", which is not a string field"#
    );
    let model = parse(json!({"name": "x", "fields": [
        {"name": "m", "type": "string", "source": "model"},
        {"name": "n", "type": "string", "source": "model", "description": "d", "rule": "x"},
        {"name": "o", "type": "string", "source": "llm"}
    ]}));
    let paths: Vec<&str> = model.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "fields[0].description",
            "fields[1].rule",
            "fields[2].source"
        ]
    );
    let deep = (0..40).fold(json!(true), |acc, _| json!({"not": acc}));
    let err =
        parse(json!({"name": "x", "fields": [{"name": "a", "type": "boolean", "rule": deep}]}));
    assert!(err[0].message.contains("nest at most"), "{err:?}");
}

#[test]
fn the_stored_form_parses_back_to_the_same_definition() {
    let def = Disposition::parse(&json!({
        "name": " Lead ", "description": "", "extra": 1,
        "fields": [
            {"name": "hot", "type": "boolean", "rule": {">=": [{"var": "budget"}, 1000]}},
            {"name": "why", "type": "string", "source": "model", "description": "Why they called"}
        ]
    }))
    .unwrap();
    let stored = def.to_value();
    assert_eq!(
        stored,
        json!({"name": "Lead", "description": null, "tag_field": null, "fields": [
            {"name": "hot", "type": "boolean", "description": null, "source": "rule",
             "rule": {">=": [{"var": "budget"}, 1000]}},
            {"name": "why", "type": "string", "description": "Why they called", "source": "model"}
        ]})
    );
    assert_eq!(Disposition::parse(&stored).unwrap().to_value(), stored);
    assert!(def.needs_model());
    let names: Vec<&str> = def.model_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["why"]);
}

#[test]
fn model_values_fill_model_fields_and_the_first_string_is_the_tag() {
    let def = Disposition::parse(&json!({"name": "x", "fields": [
        {"name": "ok", "type": "boolean", "rule": true},
        {"name": "blank", "type": "string", "rule": " "},
        {"name": "count", "type": "number", "source": "model", "description": "how many"},
        {"name": "mood", "type": "string", "source": "model", "description": "mood"}
    ]}))
    .unwrap();
    let model = json!({"count": "3", "mood": "happy", "other": 1});
    let result = def.evaluate(&record(), model.as_object().unwrap());
    assert_eq!(
        Value::Object(result.clone()),
        json!({"ok": true, "blank": " ", "count": 3, "mood": "happy"})
    );
    assert_eq!(def.tag(&result).as_deref(), Some("happy"));
}

#[test]
fn the_conversation_tag_is_the_first_complete_log_with_a_tag() {
    let def = Disposition::parse(&json!({"name": "x", "fields": [
        {"name": "s", "type": "string", "rule": {"var": "name"}}
    ]}))
    .unwrap();
    let tagged = DispositionLog::complete("d3", 1, &def, def.evaluate(&record(), &Map::new()), 0);
    let untagged = DispositionLog::complete("d2", 1, &def, Map::new(), 0);
    let failed = DispositionLog::error("d1", None, None, "boom", 0);
    assert_eq!(tagged.tag.as_deref(), Some("Ada"));
    assert_eq!(
        disposition_tag(&[failed.clone(), untagged.clone(), tagged]),
        Some("Ada".into())
    );
    assert_eq!(disposition_tag(&[failed.clone(), untagged]), None);
    // Only successful runs tag the conversation, whatever a failed log carries.
    let odd = DispositionLog {
        tag: Some("stale".into()),
        ..failed
    };
    assert_eq!(disposition_tag(&[odd]), None);
    let wire =
        serde_json::to_value(DispositionLog::error("d1", Some("n"), Some(2), "boom", 5)).unwrap();
    assert_eq!(
        wire,
        json!({"disposition_id": "d1", "name": "n", "snippet_version": 2, "status": "ERROR",
               "result": null, "tag": null, "exec_time": 5, "error": "boom"})
    );
}
