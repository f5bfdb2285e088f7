//! Reading what a model answered to the typed questions in [`super::tasks`]. Models pad,
//! quote, explain and wrap in Markdown, and local reasoning models prefix a
//! `<think>…</think>` trace; these readers take the answer out of that or report that there
//! is none.

use parley_domain::citations::{coerce, VarType};
use serde_json::{Map, Value};

use super::{FieldKind, FieldSpec, ModelError};

/// The text after a leading `<think>…</think>` trace (an unclosed trace leaves nothing).
pub(super) fn strip_reasoning(text: &str) -> &str {
    let t = text.trim_start();
    match t.strip_prefix("<think>") {
        Some(rest) => rest.find("</think>").map_or("", |i| &rest[i + 8..]),
        None => t,
    }
}

/// Lowercase, single-spaced, without Markdown, quotes and punctuation around it.
fn normalise(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    words
        .join(" ")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// Reads a `choose` answer: a label, a number (first, or the only one), or none.
pub(super) fn parse_choice(reply: &str, options: &[String]) -> Option<usize> {
    let answer = normalise(strip_reasoning(reply));
    if let Some(i) = options.iter().position(|o| normalise(o) == answer) {
        return Some(i);
    }
    let body = ["option", "answer:", "answer", "#"]
        .iter()
        .find_map(|p| answer.strip_prefix(p))
        .unwrap_or(&answer)
        .trim_start_matches(|c: char| !c.is_alphanumeric());
    let leading: String = body.chars().take_while(char::is_ascii_digit).collect();
    let number = if leading.is_empty() {
        let mut numbers = answer
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty());
        let first = numbers.next()?;
        // Several different numbers name no single option.
        numbers.all(|n| n == first).then_some(first)?.to_owned()
    } else {
        leading
    };
    let n: usize = number.parse().ok()?;
    (1..=options.len()).contains(&n).then(|| n - 1)
}

/// The JSON object in a reply, tolerating a code fence or words around it.
pub(super) fn parse_object(reply: &str) -> Result<Map<String, Value>, ModelError> {
    let text = strip_reasoning(reply);
    let (Some(start), Some(end)) = (text.find('{'), text.rfind('}')) else {
        return Err(ModelError::Malformed("no JSON object in the reply".into()));
    };
    if end < start {
        return Err(ModelError::Malformed("no JSON object in the reply".into()));
    }
    match serde_json::from_str(&text[start..=end]) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) => Err(ModelError::Malformed(
            "the reply is not one JSON object".into(),
        )),
    }
}

/// Keeps the declared fields whose values have (or plainly mean) the declared type.
pub(super) fn validate_fields(
    fields: &[FieldSpec],
    mut object: Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        let Some(value) = object.remove(&f.name) else {
            continue;
        };
        let typed = match (f.kind, value) {
            (FieldKind::String, Value::String(s)) if !s.trim().is_empty() => {
                Some(Value::String(s.trim().to_owned()))
            }
            (FieldKind::Integer, Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                        .map(|x| x as i64)
                })
                .map(Value::from),
            (FieldKind::Integer, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
            (FieldKind::Boolean, Value::Bool(b)) => Some(Value::Bool(b)),
            (FieldKind::Boolean, Value::String(s)) => {
                match s.trim().to_ascii_lowercase().as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                }
            }
            // The citation kinds share the citation schemas' coercion, so a model's answer
            // and a deterministic source mean the same thing by "a number".
            (FieldKind::Number, v) => coerce(&v, &VarType::Number),
            (FieldKind::Array, v) => coerce(&v, &VarType::Array),
            (FieldKind::Category, v) => coerce(&v, &VarType::Category(f.options.clone())),
            _ => None,
        };
        if let Some(v) = typed {
            out.insert(f.name.clone(), v);
        }
    }
    out
}

/// Whether a `check_condition` answer is a clear yes (its first word).
pub(super) fn parse_yes(reply: &str) -> bool {
    let answer = normalise(strip_reasoning(reply));
    let first = answer
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    matches!(first, "yes" | "true")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options() -> Vec<String> {
        ["Book a table", "Cancel a booking", "Talk to a human"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn choices_are_read_from_numbers_and_labels() {
        let o = options();
        for (reply, want) in [
            ("2", Some(1)),
            (" 3.\n", Some(2)),
            ("**1**", Some(0)),
            ("Option 2", Some(1)),
            ("Answer: 3", Some(2)),
            ("#1", Some(0)),
            ("2) Cancel a booking", Some(1)),
            ("The best option is 3.", Some(2)),
            ("\"Cancel a booking\"", Some(1)),
            ("talk to a HUMAN.", Some(2)),
            ("<think>1 or 2? The user wants to cancel.</think>2", Some(1)),
            ("0", None),
            ("None of these.", None),
            ("4", None),
            ("99999999999999999999999", None),
            ("banana", None),
            ("", None),
            ("Either 1 or 2", None),
        ] {
            assert_eq!(parse_choice(reply, &o), want, "{reply:?}");
        }
    }

    #[test]
    fn extraction_keeps_declared_fields_of_the_declared_type() {
        let fields = [
            FieldSpec::new("name", FieldKind::String, ""),
            FieldSpec::new("age", FieldKind::Integer, ""),
            FieldSpec::new("guests", FieldKind::Integer, ""),
            FieldSpec::new("vip", FieldKind::Boolean, ""),
            FieldSpec::new("smoker", FieldKind::Boolean, ""),
            FieldSpec::new("city", FieldKind::String, ""),
            FieldSpec::new("zip", FieldKind::String, ""),
            FieldSpec::new("rooms", FieldKind::Integer, ""),
        ];
        let reply = json!({
            "name": "  Ada ", "age": "42", "guests": 3.0, "vip": "TRUE", "smoker": "no",
            "city": null, "zip": 94107, "rooms": 2.5, "extra": "dropped"
        });
        let got = validate_fields(&fields, reply.as_object().unwrap().clone());
        assert_eq!(
            Value::Object(got),
            json!({"name": "Ada", "age": 42, "guests": 3, "vip": true})
        );
    }

    #[test]
    fn citation_kinds_accept_numbers_lists_and_listed_options_only() {
        let fields = [
            FieldSpec::new("score", FieldKind::Number, ""),
            FieldSpec::new("ratio", FieldKind::Number, ""),
            FieldSpec::new("bad_score", FieldKind::Number, ""),
            FieldSpec::new("products", FieldKind::Array, ""),
            FieldSpec::new("one", FieldKind::Array, ""),
            FieldSpec::new("none", FieldKind::Array, ""),
            FieldSpec::category("tier", vec!["Gold".into(), "Silver".into()], ""),
            FieldSpec::category("other_tier", vec!["Gold".into()], ""),
            FieldSpec::new("no_options", FieldKind::Category, ""),
        ];
        let reply = json!({
            "score": "7", "ratio": 0.25, "bad_score": "seven",
            "products": ["Shoes", 2, {"x": 1}, " "], "one": "Hat", "none": [],
            "tier": " gold ", "other_tier": "Bronze", "no_options": "x"
        });
        let got = validate_fields(&fields, reply.as_object().unwrap().clone());
        assert_eq!(
            Value::Object(got),
            json!({"score": 7, "ratio": 0.25, "products": ["Shoes", "2"], "one": ["Hat"], "tier": "Gold"})
        );
    }

    #[test]
    fn json_objects_are_found_in_fenced_or_chatty_replies() {
        for reply in [
            r#"{"a":1}"#,
            "```json\n{\"a\":1}\n```",
            "Here you go: {\"a\": 1} Hope it helps",
        ] {
            assert_eq!(parse_object(reply).unwrap()["a"], json!(1), "{reply}");
        }
        for reply in ["[1,2]", "no json here", "} {", "{\"a\":}"] {
            assert!(
                matches!(parse_object(reply), Err(ModelError::Malformed(_))),
                "{reply}"
            );
        }
    }

    #[test]
    fn only_a_clear_yes_holds() {
        for r in [
            "YES",
            "yes.",
            "**Yes**, the user agreed",
            "true",
            "<think>hmm</think> Yes",
        ] {
            assert!(parse_yes(r), "{r}");
        }
        for r in [
            "NO",
            "No, yes would be wrong",
            "maybe",
            "",
            "yesterday",
            "<think>yes",
        ] {
            assert!(!parse_yes(r), "{r}");
        }
    }
}
