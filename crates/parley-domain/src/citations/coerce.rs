//! Turning a found value (a pathway variable, a regex match, a model's answer) into the
//! declared type. A value that does not plainly mean a value of that type is left out:
//! extraction never guesses.

use serde_json::{Number, Value};

use super::VarType;

/// Largest magnitude at which an integral float is written as an integer: beyond 2^53 a
/// float no longer names one integer exactly.
const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;

/// `v` as a value of `ty`, or `None` when it does not plainly mean one.
///
/// - string: a non-blank string (trimmed); a number or boolean as its JSON text.
/// - number: a number, or a string that is one (`"42"`, `" 3.5 "`; not `"1,000"`, `"NaN"`).
/// - boolean: `true`/`false`, or the strings `true`, `false`, `yes`, `no` (any case).
/// - array: an array, its strings (and numbers, booleans as text) kept, other items
///   dropped; a single string is a one-item array. Empty means nothing was found.
/// - category: one of the options, compared trimmed and case-insensitively, returned as
///   declared.
pub fn coerce(v: &Value, ty: &VarType) -> Option<Value> {
    match ty {
        VarType::String => text(v).map(Value::String),
        VarType::Number => number(v),
        VarType::Boolean => boolean(v),
        VarType::Array => {
            let items: Vec<Value> = match v {
                Value::Array(items) => items.iter().filter_map(text).map(Value::String).collect(),
                Value::String(_) => text(v).map(Value::String).into_iter().collect(),
                _ => Vec::new(),
            };
            (!items.is_empty()).then_some(Value::Array(items))
        }
        VarType::Category(options) => {
            let t = text(v)?;
            options
                .iter()
                .find(|o| o.to_lowercase() == t.to_lowercase())
                .map(|o| Value::String(o.clone()))
        }
    }
}

/// A scalar as trimmed, non-blank text.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<Value> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            // Rust also reads `inf`, `NaN` and `infinity`; those are words, not numbers here.
            if !s.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.') {
                return None;
            }
            s.parse::<f64>().ok()?
        }
        _ => return None,
    };
    normalized(x)
}

/// A finite float as a JSON number, integral ones as integers (so it serializes as `3`,
/// as JavaScript would).
pub(super) fn normalized(x: f64) -> Option<Value> {
    if !x.is_finite() {
        return None;
    }
    if x.fract() == 0.0 && x.abs() < EXACT_INTEGER_LIMIT {
        return Some(Value::from(x as i64));
    }
    Number::from_f64(x).map(Value::Number)
}

fn boolean(v: &Value) -> Option<Value> {
    match v {
        Value::Bool(b) => Some(Value::Bool(*b)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(Value::Bool(true)),
            "false" | "no" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_take_the_declared_type_or_are_left_out() {
        let cat = VarType::Category(vec!["Small".into(), "Large".into()]);
        for (v, ty, want) in [
            (json!(" Ann "), VarType::String, Some(json!("Ann"))),
            (json!("  "), VarType::String, None),
            (json!(42), VarType::String, Some(json!("42"))),
            (json!({"a": 1}), VarType::String, None),
            (json!("42"), VarType::Number, Some(json!(42))),
            (json!(" 3.5"), VarType::Number, Some(json!(3.5))),
            (json!(7.0), VarType::Number, Some(json!(7))),
            (json!("1,000"), VarType::Number, None),
            (json!("NaN"), VarType::Number, None),
            (json!("inf"), VarType::Number, None),
            (json!("-2"), VarType::Number, Some(json!(-2))),
            (json!(true), VarType::Number, None),
            (json!("YES"), VarType::Boolean, Some(json!(true))),
            (json!("false"), VarType::Boolean, Some(json!(false))),
            (json!(1), VarType::Boolean, None),
            (json!("maybe"), VarType::Boolean, None),
            (
                json!(["a", 2, null, {"x": 1}, " "]),
                VarType::Array,
                Some(json!(["a", "2"])),
            ),
            (json!("solo"), VarType::Array, Some(json!(["solo"]))),
            (json!([]), VarType::Array, None),
            (json!(" large"), cat.clone(), Some(json!("Large"))),
            (json!("medium"), cat.clone(), None),
            (json!(null), cat, None),
        ] {
            let got = coerce(&v, &ty);
            assert_eq!(got, want, "{v} as {}", ty.name());
            if let Some(g) = got {
                assert!(ty.admits(&g), "{g}");
            }
        }
    }

    #[test]
    fn integral_numbers_serialize_as_integers() {
        assert_eq!(normalized(3.0).unwrap().to_string(), "3");
        // As JavaScript writes it too.
        assert_eq!(normalized(1e300).unwrap().to_string(), "1e+300");
        assert_eq!(normalized(f64::NAN), None);
    }
}
