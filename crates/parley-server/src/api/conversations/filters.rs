//! The `filters` parameter of `GET /v1/sms/conversations`: a URL-encoded JSON array of
//! `{field, operator, value}`. Every mistake is a 400 that names the filter (by index), the
//! part at fault and what would have been accepted.

use parley_domain::clock::parse_iso8601_ms;
use parley_store::{CmpOp, Filter, IntField, TextField, TextOp};
use serde_json::{Map, Value};

use crate::api::{error::ApiError, extract::nul_path};

/// Filters per request; each becomes a clause of the query.
pub const MAX_FILTERS: usize = 20;
/// Bounds on a `variables` filter object, so one request cannot build a huge query.
const MAX_JSON_DEPTH: usize = 8;
const MAX_JSON_LEAVES: usize = 64;

pub const FIELDS: &str =
    "created_at, updated_at, user_number, agent_number, is_active, message_count, \
     curr_pathway_id, curr_pathway_version, timed_out_at, variables, current_node_id";
const OPERATORS: &str = "eq, contains, startsWith, endsWith, gt, gte, lt, lte";

pub fn parse_filters(raw: &str) -> Result<Vec<Filter>, ApiError> {
    let bad_shape = || {
        ApiError::invalid(
            "filters must be a URL-encoded JSON array of {\"field\", \"operator\", \"value\"} objects",
        )
    };
    let items = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Array(items)) => items,
        _ => return Err(bad_shape()),
    };
    if let Some(path) = nul_path(&Value::Array(items.clone())) {
        return Err(ApiError::invalid(format!(
            "filters{path} must not contain NUL characters"
        )));
    }
    if items.len() > MAX_FILTERS {
        return Err(ApiError::invalid(format!(
            "filters: at most {MAX_FILTERS} filters per request (got {})",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            parse_one(item).map_err(|m| ApiError::invalid(format!("filters[{i}].{m}")))
        })
        .collect()
}

/// Parses one filter; the error is the message after `filters[i].`.
fn parse_one(item: &Value) -> Result<Filter, String> {
    let obj = item
        .as_object()
        .ok_or("must be an object with field, operator and value")?;
    let field = match obj.get("field") {
        Some(Value::String(f)) => f.as_str(),
        _ => return Err("field is required and must be a string".into()),
    };
    let op_name = match obj.get("operator") {
        Some(Value::String(o)) => o.as_str(),
        _ => return Err("operator is required and must be a string".into()),
    };
    let op = parse_op(op_name)
        .ok_or_else(|| format!("operator {op_name:?} is not one of {OPERATORS}"))?;
    let value = obj.get("value").ok_or("value is required")?;
    let unsupported = |kind: &str, allowed: &str| {
        format!("operator: {op_name} does not apply to {field} ({kind}); use {allowed}")
    };

    if field == "is_active" {
        if op != TextOp::Eq {
            return Err(unsupported("a boolean", "eq"));
        }
        return match value {
            Value::Bool(b) => Ok(Filter::IsActive(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Filter::IsActive(s == "true")),
            Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(Filter::IsActive(n.as_i64() == Some(1)))
            }
            _ => Err("value must be true or false for is_active".into()),
        };
    }
    if field == "variables" {
        if !matches!(op, TextOp::Eq | TextOp::Contains) {
            return Err(unsupported(
                "JSON, matched by containment",
                "eq or contains",
            ));
        }
        return variables_filter(value).map(Filter::VariablesContain);
    }
    if let Some(f) = TextField::parse(field) {
        return match value {
            Value::Null if op == TextOp::Eq => Ok(Filter::TextUnset(f)),
            Value::String(s) => Ok(Filter::Text(f, op, s.clone())),
            Value::Number(n) => Ok(Filter::Text(f, op, n.to_string())),
            _ => Err(format!("value must be a string for {field}")),
        };
    }
    if let Some(f) = IntField::parse(field) {
        let kind = if f.is_time() { "a time" } else { "a number" };
        let cmp = cmp_op(op).ok_or_else(|| unsupported(kind, "eq, gt, gte, lt or lte"))?;
        if value.is_null() {
            return if cmp == CmpOp::Eq {
                Ok(Filter::IntUnset(f))
            } else {
                Err(format!("value null only works with eq for {field}"))
            };
        }
        let n = if f.is_time() {
            time_value(value)
        } else {
            integer_value(value)
        }
        .ok_or_else(|| {
            if f.is_time() {
                format!("value must be an ISO-8601 time (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds for {field}")
            } else {
                format!("value must be an integer for {field}")
            }
        })?;
        return Ok(Filter::Int(f, cmp, n));
    }
    Err(format!("field {field:?} is not one of {FIELDS}"))
}

fn parse_op(s: &str) -> Option<TextOp> {
    Some(match s {
        "eq" => TextOp::Eq,
        "contains" => TextOp::Contains,
        "startsWith" => TextOp::StartsWith,
        "endsWith" => TextOp::EndsWith,
        "gt" => TextOp::Gt,
        "gte" => TextOp::Gte,
        "lt" => TextOp::Lt,
        "lte" => TextOp::Lte,
        _ => return None,
    })
}

fn cmp_op(op: TextOp) -> Option<CmpOp> {
    Some(match op {
        TextOp::Eq => CmpOp::Eq,
        TextOp::Gt => CmpOp::Gt,
        TextOp::Gte => CmpOp::Gte,
        TextOp::Lt => CmpOp::Lt,
        TextOp::Lte => CmpOp::Lte,
        TextOp::Contains | TextOp::StartsWith | TextOp::EndsWith => return None,
    })
}

fn integer_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Times are given the way Parley prints them (ISO-8601), or as epoch milliseconds.
fn time_value(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => parse_iso8601_ms(s.trim()).or_else(|| s.trim().parse().ok()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A `variables` filter is a JSON object (clients that double-encode send it as a string).
fn variables_filter(value: &Value) -> Result<Map<String, Value>, String> {
    let parsed;
    let value = match value {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|_| "value must be a JSON object for variables".to_owned())?;
            &parsed
        }
        v => v,
    };
    let Value::Object(m) = value else {
        return Err("value must be a JSON object for variables, e.g. {\"plan\": \"pro\"}".into());
    };
    let mut leaves = 0;
    if !within_bounds(value, 0, &mut leaves) {
        return Err(format!(
            "value for variables may nest at most {MAX_JSON_DEPTH} levels and hold at most {MAX_JSON_LEAVES} values"
        ));
    }
    Ok(m.clone())
}

fn within_bounds(v: &Value, depth: usize, leaves: &mut usize) -> bool {
    if depth > MAX_JSON_DEPTH {
        return false;
    }
    match v {
        Value::Object(m) => m.values().all(|x| within_bounds(x, depth + 1, leaves)),
        Value::Array(a) => a.iter().all(|x| within_bounds(x, depth + 1, leaves)),
        _ => {
            *leaves += 1;
            *leaves <= MAX_JSON_LEAVES
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn one(v: Value) -> Result<Filter, String> {
        parse_one(&v)
    }

    #[test]
    fn each_field_kind_gets_its_operators() {
        assert_eq!(
            one(json!({"field": "user_number", "operator": "startsWith", "value": "+1555"})),
            Ok(Filter::Text(
                TextField::UserNumber,
                TextOp::StartsWith,
                "+1555".into()
            ))
        );
        assert_eq!(
            one(json!({"field": "created_at", "operator": "gte", "value": "2026-01-01T00:00:00Z"})),
            Ok(Filter::Int(
                IntField::CreatedAt,
                CmpOp::Gte,
                1_767_225_600_000
            ))
        );
        assert_eq!(
            one(json!({"field": "message_count", "operator": "gt", "value": "3"})),
            Ok(Filter::Int(IntField::MessageCount, CmpOp::Gt, 3))
        );
        assert_eq!(
            one(json!({"field": "timed_out_at", "operator": "eq", "value": null})),
            Ok(Filter::IntUnset(IntField::TimedOutAt))
        );
        assert_eq!(
            one(json!({"field": "is_active", "operator": "eq", "value": "false"})),
            Ok(Filter::IsActive(false))
        );
        assert!(matches!(
            one(json!({"field": "variables", "operator": "contains", "value": "{\"a\":1}"})),
            Ok(Filter::VariablesContain(_))
        ));
    }

    #[test]
    fn mistakes_name_the_problem() {
        let err = |v| one(v).unwrap_err();
        assert!(err(json!({"field": "body", "operator": "eq", "value": 1})).contains("\"body\""));
        assert!(
            err(json!({"field": "user_number", "operator": "like", "value": "x"}))
                .contains("\"like\"")
        );
        assert!(
            err(json!({"field": "created_at", "operator": "contains", "value": "2026"}))
                .contains("created_at")
        );
        assert!(
            err(json!({"field": "is_active", "operator": "gt", "value": true}))
                .contains("is_active")
        );
        assert!(
            err(json!({"field": "created_at", "operator": "gt", "value": "soon"}))
                .contains("ISO-8601")
        );
        assert!(
            err(json!({"field": "variables", "operator": "eq", "value": [1]}))
                .contains("JSON object")
        );
        assert!(err(json!({"field": "user_number", "operator": "eq"})).contains("value"));
        let deep = (0..10).fold(json!(1), |v, _| json!({"k": v}));
        assert!(
            err(json!({"field": "variables", "operator": "eq", "value": deep})).contains("nest")
        );
        assert!(parse_filters("{}").is_err());
        assert!(parse_filters("[1]")
            .unwrap_err()
            .message
            .starts_with("filters[0]."));
    }
}
