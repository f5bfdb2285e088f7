//! Parley's deterministic edge conditions (`data.parleyCondition`), an extension: Bland
//! routes only by letting a model read edge labels.
//!
//! A pathway built from static text and these conditions runs with no model at all, which
//! is what an appointment reminder ("reply C to confirm") wants: cheap, instant and
//! predictable. Shapes (`kind` picks the variant):
//!
//! ```json
//! {"kind": "equals", "values": ["yes", "y", "confirm"]}
//! {"kind": "contains_any", "values": ["reschedule", "another day"]}
//! {"kind": "regex", "pattern": "^\\d{1,2}$", "case_insensitive": true}
//! {"kind": "variable", "var": "age", "op": ">=", "value": 18}
//! ```

use std::cmp::Ordering;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::validate::IssueCode;

/// A compiled `parleyCondition`.
#[derive(Debug, Clone)]
pub enum EdgeRule {
    /// The whole message equals one of the values, ignoring case, surrounding and repeated
    /// whitespace, and trailing `.`, `!` or `?` ("Yes!" confirms).
    Equals(Vec<String>),
    /// The message contains one of the words or phrases as whole words ("no" does not
    /// match "know"), ignoring case and punctuation.
    ContainsAny(Vec<Vec<String>>),
    /// The pattern matches somewhere in the message (anchor it for a whole-message match).
    Regex(Regex),
    /// A variable compared with a value; see [`compare`].
    Variable {
        var: String,
        op: CompareOp,
        value: Value,
    },
}

/// Comparison operators shared by `variable` conditions and webhook `responsePathways`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CompareOp {
    #[serde(rename = "==", alias = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "exists")]
    Exists,
    /// Case-insensitive substring, as Bland's webhook routing offers.
    #[serde(rename = "contains")]
    Contains,
}

impl CompareOp {
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.trim().to_owned())).ok()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("parleyCondition is malformed: {0}")]
    Shape(String),
    #[error("parleyCondition regex does not compile: {0}")]
    Regex(String),
}

impl RuleError {
    pub fn code(&self) -> IssueCode {
        match self {
            Self::Shape(_) => IssueCode::InvalidCondition,
            Self::Regex(_) => IssueCode::InvalidRegex,
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum RawRule {
    Equals {
        values: OneOrMany,
    },
    ContainsAny {
        values: OneOrMany,
    },
    Regex {
        pattern: String,
        #[serde(default)]
        case_insensitive: bool,
    },
    Variable {
        var: String,
        op: CompareOp,
        #[serde(default)]
        value: Value,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

/// Patterns come from customers; bound what one may cost to compile.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl EdgeRule {
    /// The key on an edge's `data` that holds the condition.
    pub const KEY: &'static str = "parleyCondition";

    pub fn parse(v: &Value) -> Result<Self, RuleError> {
        let raw: RawRule =
            serde_json::from_value(v.clone()).map_err(|e| RuleError::Shape(e.to_string()))?;
        let non_empty = |values: OneOrMany| {
            let values: Vec<String> = values
                .into_vec()
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .collect();
            if values.is_empty() {
                Err(RuleError::Shape(
                    "`values` needs at least one non-blank entry".into(),
                ))
            } else {
                Ok(values)
            }
        };
        Ok(match raw {
            RawRule::Equals { values } => {
                Self::Equals(non_empty(values)?.iter().map(|s| normalize(s)).collect())
            }
            RawRule::ContainsAny { values } => {
                let phrases: Vec<Vec<String>> = non_empty(values)?
                    .iter()
                    .map(|s| words(s))
                    .filter(|w| !w.is_empty())
                    .collect();
                if phrases.is_empty() {
                    return Err(RuleError::Shape("`values` has no words in it".into()));
                }
                Self::ContainsAny(phrases)
            }
            RawRule::Regex {
                pattern,
                case_insensitive,
            } => Self::Regex(
                RegexBuilder::new(&pattern)
                    .case_insensitive(case_insensitive)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| RuleError::Regex(e.to_string()))?,
            ),
            RawRule::Variable { var, op, value } => {
                if var.trim().is_empty() {
                    return Err(RuleError::Shape("`var` must name a variable".into()));
                }
                Self::Variable { var, op, value }
            }
        })
    }

    /// Whether the rule holds for `message` (None when no user text is at hand, e.g. after
    /// a webhook node: message rules then never match) and the conversation's variables.
    pub fn matches(&self, message: Option<&str>, vars: &Map<String, Value>) -> bool {
        match self {
            Self::Equals(values) => message.is_some_and(|m| {
                let m = normalize(m);
                values.contains(&m)
            }),
            Self::ContainsAny(phrases) => message.is_some_and(|m| {
                let w = words(m);
                phrases
                    .iter()
                    .any(|p| w.windows(p.len()).any(|win| win == p.as_slice()))
            }),
            Self::Regex(re) => message.is_some_and(|m| re.is_match(m)),
            Self::Variable { var, op, value } => compare(vars.get(var), *op, value),
        }
    }

    /// Whether the rule reads the user's message (as opposed to variables only).
    pub fn reads_message(&self) -> bool {
        !matches!(self, Self::Variable { .. })
    }
}

/// Lower-cased, whitespace collapsed, trailing sentence punctuation dropped.
fn normalize(s: &str) -> String {
    let joined = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    joined
        .trim_end_matches(['.', '!', '?'])
        .trim_end()
        .to_owned()
}

/// Lower-cased runs of letters and digits (apostrophes kept inside words: "don't").
pub(crate) fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .map(|w| w.trim_matches(['\'', '\u{2019}']))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Compares a variable (absent = `None`) with a value.
///
/// - `exists`: present, not null, not a blank string.
/// - Both sides numeric (numbers, or strings that parse as numbers): numeric comparison.
/// - Booleans compare with booleans or with the strings `"true"`/`"false"`.
/// - Otherwise both sides as text: `==`/`!=` ignore case and surrounding spaces, the
///   orderings compare the text.
/// - An absent variable satisfies only `!=`.
pub fn compare(lhs: Option<&Value>, op: CompareOp, rhs: &Value) -> bool {
    let lhs = lhs.filter(|v| !v.is_null());
    if op == CompareOp::Exists {
        return lhs.is_some_and(|v| !matches!(v, Value::String(s) if s.trim().is_empty()));
    }
    let Some(lhs) = lhs else {
        return op == CompareOp::Ne;
    };
    if op == CompareOp::Contains {
        return as_text(lhs)
            .to_lowercase()
            .contains(&as_text(rhs).to_lowercase());
    }
    let ordering = match (as_number(lhs), as_number(rhs)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => match (as_bool(lhs), as_bool(rhs)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => {
                let (a, b) = (as_text(lhs), as_text(rhs));
                let (a, b) = (a.trim(), b.trim());
                if matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    Some(if a.to_lowercase() == b.to_lowercase() {
                        Ordering::Equal
                    } else {
                        Ordering::Less
                    })
                } else {
                    Some(a.cmp(b))
                }
            }
        },
    };
    let Some(ord) = ordering else {
        return op == CompareOp::Ne; // NaN-like: equal to nothing
    };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Exists | CompareOp::Contains => false,
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// How a value reads in text: strings as they are, everything else as compact JSON.
pub(crate) fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(v: Value) -> EdgeRule {
        EdgeRule::parse(&v).unwrap()
    }

    #[test]
    fn equals_ignores_case_space_and_final_punctuation_only() {
        let r = rule(json!({"kind": "equals", "values": ["yes", "Sounds  good"]}));
        let none = Map::new();
        assert!(r.matches(Some("  YES! "), &none));
        assert!(r.matches(Some("sounds good."), &none));
        assert!(!r.matches(Some("yes please"), &none));
        assert!(!r.matches(None, &none));
    }

    #[test]
    fn contains_any_matches_whole_words_and_phrases() {
        let r = rule(json!({"kind": "contains_any", "values": ["no", "another day"]}));
        let none = Map::new();
        assert!(r.matches(Some("Sorry, NO."), &none));
        assert!(r.matches(Some("can we do another  day?"), &none));
        assert!(!r.matches(Some("I know"), &none));
        assert!(!r.matches(Some("another time, some day"), &none));
    }

    #[test]
    fn regex_and_bad_regex() {
        let r = rule(json!({"kind": "regex", "pattern": "^\\s*c\\s*$", "case_insensitive": true}));
        assert!(r.matches(Some(" C "), &Map::new()));
        assert!(!r.matches(Some("cc"), &Map::new()));
        let err = EdgeRule::parse(&json!({"kind": "regex", "pattern": "(["})).unwrap_err();
        assert_eq!(err.code(), IssueCode::InvalidRegex);
        let err = EdgeRule::parse(&json!({"kind": "sounds_like", "values": ["x"]})).unwrap_err();
        assert_eq!(err.code(), IssueCode::InvalidCondition);
        let err = EdgeRule::parse(&json!({"kind": "equals", "values": [" "]})).unwrap_err();
        assert_eq!(err.code(), IssueCode::InvalidCondition);
    }

    #[test]
    fn variable_comparisons() {
        let vars: Map<String, Value> =
            serde_json::from_value(json!({"age": "42", "ok": true, "city": "Lyon", "blank": " "}))
                .unwrap();
        let t = |var: &str, op: &str, value: Value| {
            compare(vars.get(var), CompareOp::parse(op).unwrap(), &value)
        };
        assert!(t("age", ">=", json!(18)));
        assert!(!t("age", "<", json!(18)));
        assert!(t("age", "==", json!(42.0)));
        assert!(t("ok", "==", json!("true")));
        assert!(t("city", "==", json!("lyon")));
        assert!(t("city", "!=", json!("Paris")));
        assert!(t("city", "contains", json!("YO")));
        assert!(t("city", "exists", Value::Null));
        assert!(!t("blank", "exists", Value::Null));
        assert!(!t("missing", "==", json!("x")));
        assert!(t("missing", "!=", json!("x")));
        assert!(CompareOp::parse("~=").is_none());
    }
}
