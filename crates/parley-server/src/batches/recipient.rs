//! Turning one file row into a recipient, under Bland's batch rules:
//! - the column named exactly `phone_number` is the recipient (a missing `+` is added);
//! - every other column is a `{{column}}` variable for `agent_message` and the pathway;
//! - `request_data.<key>` columns, columns mapped to `request_data` by `column_mapping`,
//!   and (in JSON) a `request_data` object fill the recipient's `request_data`, which is
//!   merged over `global.request_data` (the recipient wins).

use std::{borrow::Cow, collections::BTreeMap};

use parley_domain::{segments, template, PhoneNumber};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::send::MAX_MESSAGE_CHARS;

pub const PHONE_COLUMN: &str = "phone_number";
pub const REQUEST_DATA: &str = "request_data";
const REQUEST_DATA_PREFIX: &str = "request_data.";

/// What a batch stores about itself (JSON in `batches.settings`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchSettings {
    /// `csv` or `jsonl`.
    pub format: String,
    /// The file, relative to the data directory.
    pub path: String,
    /// The CSV header (empty for JSON).
    pub columns: Vec<String>,
    /// Column → `request_data`.
    pub column_mapping: BTreeMap<String, String>,
    pub agent_message: String,
    pub request_data: Map<String, Value>,
    pub new_conversation: bool,
    pub conversation: StoredFields,
    pub content_sid: Option<String>,
    pub content_variables: Option<Value>,
}

/// The conversation settings of `global`, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredFields {
    pub metadata: Option<Value>,
    pub webhook: Option<String>,
    pub disposition_ids: Option<Value>,
    pub citation_schema_ids: Option<Value>,
    pub persona_id: Option<String>,
    pub persona_version: Option<String>,
    pub persona_settings: Option<Value>,
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    pub start_node_id: Option<String>,
    pub prompt: Option<String>,
    pub time_out: Option<i64>,
    pub timeout_message: Option<String>,
    pub warning_time: Option<i64>,
    pub warning_message: Option<String>,
}

/// A row ready to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub user_number: String,
    pub request_data: Map<String, Value>,
    pub variables: Map<String, Value>,
    pub body: String,
    pub encoding: &'static str,
    pub segments: i64,
}

/// A row that cannot be sent: the number as written, and a stable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsendable {
    pub phone_number: String,
    pub reason: String,
}

fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// Whether any string in `v` holds a NUL (PostgreSQL cannot store one).
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Applies the batch rules to one row.
pub fn plan(row: &Map<String, Value>, s: &BatchSettings) -> Result<Planned, Unsendable> {
    let written = row.get(PHONE_COLUMN).and_then(text_of).unwrap_or_default();
    let skip = |reason: &str| Unsendable {
        phone_number: written.replace('\0', ""),
        reason: reason.to_owned(),
    };
    if row.iter().any(|(k, v)| k.contains('\0') || has_nul(v)) {
        return Err(skip("invalid_characters"));
    }
    if written.trim().is_empty() {
        return Err(skip("missing_phone_number"));
    }
    let user = PhoneNumber::parse_lenient(&written).map_err(|_| skip("invalid_phone_number"))?;

    let mut request_data = s.request_data.clone();
    let mut columns = Map::new();
    for (k, v) in row {
        if k == PHONE_COLUMN {
            continue;
        }
        if k == REQUEST_DATA {
            if let Value::Object(m) = v {
                request_data.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
                continue;
            }
        }
        // A blank cell is no value: it leaves `global.request_data`'s value in place.
        let blank = v.as_str().is_some_and(|t| t.trim().is_empty());
        if let Some(key) = k.strip_prefix(REQUEST_DATA_PREFIX) {
            if !blank {
                request_data.insert(key.to_owned(), v.clone());
            }
            continue;
        }
        if !blank && s.column_mapping.get(k).is_some_and(|t| t == REQUEST_DATA) {
            request_data.insert(k.clone(), v.clone());
        }
        if !blank {
            columns.insert(k.clone(), v.clone());
        }
    }
    let mut variables = request_data.clone();
    variables.extend(columns);
    variables.insert(PHONE_COLUMN.to_owned(), Value::String(user.to_string()));

    let body = template::render(&s.agent_message, |name| {
        variables.get(name).and_then(text_of)
    })
    .map_err(|e| skip(&format!("missing_variable:{}", e.0)))?;
    if body.trim().is_empty() {
        return Err(skip("empty_message"));
    }
    if body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(skip("message_too_long"));
    }
    let count = segments::count(&body);
    Ok(Planned {
        user_number: user.to_string(),
        request_data,
        variables,
        body,
        encoding: count.encoding.as_str(),
        segments: i64::from(count.segments),
    })
}

/// The variables every row of a CSV file can offer: its columns (a `request_data.<key>`
/// column offers `<key>`) and `global.request_data`'s keys.
pub fn available_variables(s: &BatchSettings) -> Vec<String> {
    let mut names: Vec<String> = s
        .columns
        .iter()
        .map(|c| c.strip_prefix(REQUEST_DATA_PREFIX).unwrap_or(c).to_owned())
        .collect();
    names.extend(s.request_data.keys().cloned());
    names
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn settings(message: &str) -> BatchSettings {
        BatchSettings {
            format: "csv".into(),
            path: String::new(),
            columns: vec![],
            column_mapping: BTreeMap::from([("plan".to_owned(), REQUEST_DATA.to_owned())]),
            agent_message: message.into(),
            request_data: json!({"team": "global", "tier": "basic"})
                .as_object()
                .unwrap()
                .clone(),
            new_conversation: false,
            conversation: StoredFields::default(),
            content_sid: None,
            content_variables: None,
        }
    }

    fn row(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn rules() {
        let s = settings("Hi {{name}} ({{tier}})");
        let p = plan(
            &row(json!({"phone_number": "15551234567", "name": "Ana", "request_data.tier": "gold", "plan": "pro"})),
            &s,
        )
        .unwrap();
        assert_eq!(p.user_number, "+15551234567");
        assert_eq!(p.body, "Hi Ana (gold)");
        assert_eq!(
            Value::Object(p.request_data),
            json!({"team": "global", "tier": "gold", "plan": "pro"})
        );
        assert_eq!(p.variables["name"], "Ana");
        let bad = plan(&row(json!({"phone_number": "12ab", "name": "x"})), &s).unwrap_err();
        assert_eq!(bad.reason, "invalid_phone_number");
        let missing = plan(
            &row(json!({"phone_number": "+15551234567", "name": ""})),
            &s,
        )
        .unwrap_err();
        assert_eq!(missing.reason, "missing_variable:name");
        let nul = plan(
            &row(json!({"phone_number": "+15551234567", "name": "a\u{0}"})),
            &s,
        )
        .unwrap_err();
        assert_eq!(nul.reason, "invalid_characters");
    }
}
