//! Whether a schema condition holds over the values extracted so far.
//!
//! The compared value is typed by what was extracted: a boolean compares with
//! `"true"`/`"false"`, a number numerically, a string as text (exactly, as JavaScript's
//! `===` would), an array by its elements. A variable that was not extracted satisfies no
//! condition, `!==` included: the condition's variables are extracted only on evidence.
//! Ordering operators hold only between numbers.

use serde_json::{Map, Value};

use super::{Condition, Operator};

impl Condition {
    pub fn holds(&self, values: &Map<String, Value>) -> bool {
        let Some(v) = values.get(&self.variable) else {
            return false;
        };
        let want = self.value.trim();
        match self.operator {
            Operator::Eq => equals(v, want).unwrap_or(false),
            Operator::Ne => equals(v, want).is_some_and(|eq| !eq),
            Operator::Contains => contains(v, want),
            op => match (
                v.as_f64(),
                want.parse::<f64>().ok().filter(|w| w.is_finite()),
            ) {
                (Some(a), Some(b)) => match op {
                    Operator::Gt => a > b,
                    Operator::Ge => a >= b,
                    Operator::Lt => a < b,
                    _ => a <= b,
                },
                _ => false,
            },
        }
    }
}

/// Whether `v` equals `want`; `None` when they cannot be compared (a boolean against
/// `"maybe"`, a number against `"five"`), which makes both `===` and `!==` false.
fn equals(v: &Value, want: &str) -> Option<bool> {
    match v {
        Value::Bool(b) => match want.to_ascii_lowercase().as_str() {
            "true" => Some(*b),
            "false" => Some(!*b),
            _ => None,
        },
        Value::Number(n) => {
            let w = want.parse::<f64>().ok()?;
            Some(n.as_f64() == Some(w))
        }
        Value::String(s) => Some(s.trim() == want),
        Value::Array(items) => {
            Some(items.len() == 1 && items[0].as_str().is_some_and(|s| s.trim() == want))
        }
        _ => None,
    }
}

fn contains(v: &Value, want: &str) -> bool {
    let want = want.to_lowercase();
    match v {
        Value::String(s) => s.to_lowercase().contains(&want),
        Value::Array(items) => items
            .iter()
            .any(|i| i.as_str().is_some_and(|s| s.trim().to_lowercase() == want)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn holds(value: Value, op: &str, want: &str) -> bool {
        let c = Condition {
            variable: "x".into(),
            operator: Operator::parse(op).unwrap(),
            value: want.into(),
            variables: Vec::new(),
        };
        let mut values = Map::new();
        if !value.is_null() {
            values.insert("x".into(), value);
        }
        c.holds(&values)
    }

    #[test]
    fn operators_compare_by_the_extracted_type() {
        for (v, op, want, expect) in [
            (json!(true), "===", "true", true),
            (json!(false), "===", "TRUE", false),
            (json!(false), "!==", "true", true),
            (json!(true), "===", "maybe", false),
            (json!(true), "!==", "maybe", false),
            (json!(7), ">=", "5", true),
            (json!(7), ">", "7", false),
            (json!(7.5), "<", "8", true),
            (json!(3), "<=", "3", true),
            (json!(3), "===", "3.0", true),
            (json!("5"), ">", "3", false),
            (json!(3), ">", "three", false),
            (json!("Gold"), "===", "Gold", true),
            (json!("Gold"), "===", "gold", false),
            (json!("Gold"), "!==", "Silver", true),
            (json!("I want a refund now"), "contains", "REFUND", true),
            (json!(["Shoes", "Hats"]), "contains", "hats", true),
            (json!(["Shoes"]), "contains", "sho", false),
            (json!(null), "!==", "x", false),
            (json!(null), "===", "x", false),
        ] {
            assert_eq!(holds(v.clone(), op, want), expect, "{v} {op} {want}");
        }
    }
}
