//! Variables in a pathway: `{{…}}` rendering with the built-ins, and checking what the
//! model extracted against the declared types.
//!
//! Built-ins (`now_utc`, `from`, `to`, `call_id`, `lastUserMessage`, `prevNodePrompt`) win
//! over a variable of the same name: they are reserved, and a customer's `request_data`
//! must not be able to spoof `{{from}}`. An unknown variable renders as nothing and is
//! reported as a [`Warning::UnknownVariable`](super::Warning) (see `template.rs`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{
    condition::as_text,
    model::{VarSpec, VarType},
    protocol::TurnContext,
};
use crate::{clock::iso8601_ms, template};

/// Everything a template can name at one point of a turn.
pub(crate) struct Scope<'a> {
    pub ctx: &'a TurnContext,
    pub vars: &'a Map<String, Value>,
    pub last_user_message: &'a str,
    pub prev_node_prompt: &'a str,
}

impl Scope<'_> {
    fn lookup(&self, name: &str) -> Option<Cow<'_, str>> {
        Some(match name {
            "now_utc" => Cow::Owned(iso8601_ms(self.ctx.now_ms)),
            "from" => Cow::Borrowed(self.ctx.from.as_str()),
            "to" => Cow::Borrowed(self.ctx.to.as_str()),
            "call_id" => Cow::Borrowed(self.ctx.conversation_id.as_str()),
            "lastUserMessage" => Cow::Borrowed(self.last_user_message),
            "prevNodePrompt" => Cow::Borrowed(self.prev_node_prompt),
            _ => match self.vars.get(name)? {
                Value::Null => return None,
                Value::String(s) => Cow::Borrowed(s.as_str()),
                other => Cow::Owned(other.to_string()),
            },
        })
    }

    /// Fills `template`; returns the text and the names that were unknown.
    pub fn render(&self, template: &str) -> (String, Vec<String>) {
        template::render_lenient(template, |name| self.lookup(name))
    }

    /// Like [`Scope::render`], but every value is JSON-string-escaped, for templates that
    /// are JSON text with `"{{var}}"` inside (webhook bodies).
    pub fn render_json_text(&self, template: &str) -> (String, Vec<String>) {
        template::render_lenient(template, |name| {
            let v = self.lookup(name)?;
            let quoted = Value::String(v.into_owned()).to_string();
            Some(Cow::Owned(quoted[1..quoted.len() - 1].to_owned()))
        })
    }

    /// Fills every string inside a JSON value (keys included).
    pub fn render_value(&self, v: &Value, missing: &mut Vec<String>) -> Value {
        match v {
            Value::String(s) => Value::String(self.fill(s, missing)),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_value(i, missing))
                    .collect(),
            ),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    let k = self.fill(k, missing);
                    out.insert(k, self.render_value(v, missing));
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn fill(&self, s: &str, missing: &mut Vec<String>) -> String {
        let (out, m) = self.render(s);
        missing.extend(m);
        out
    }
}

/// Checks one extracted value against its declared type: `Some(normalized)` if it fits.
/// Strings accept any scalar (as text); integers accept whole numbers and numeric strings;
/// booleans accept `true`/`false` and their strings. Null and blank never fit.
pub(crate) fn coerce(spec: &VarSpec, v: &Value) -> Option<Value> {
    match (spec.var_type, v) {
        (_, Value::Null) => None,
        (VarType::String, Value::String(s)) if s.trim().is_empty() => None,
        (VarType::String, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            Some(Value::String(as_text(v)))
        }
        (VarType::Integer, Value::Number(n)) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .map(Value::from),
        (VarType::Integer, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (VarType::Boolean, Value::Bool(b)) => Some(Value::Bool(*b)),
        (VarType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
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
    fn builtins_win_and_unknown_renders_empty() {
        let ctx = TurnContext {
            conversation_id: "conv_1".into(),
            from: "+15550001111".into(),
            to: "+15552223333".into(),
            now_ms: 1_747_169_459_233,
            history: vec![],
        };
        let vars: Map<String, Value> =
            serde_json::from_value(json!({"from": "spoof", "n": 3, "name": "Ana"})).unwrap();
        let scope = Scope {
            ctx: &ctx,
            vars: &vars,
            last_user_message: "hi",
            prev_node_prompt: "Ask",
        };
        let (out, missing) = scope.render(
            "{{name}}/{{n}}/{{from}}/{{to}}/{{call_id}}/{{now_utc}}/{{lastUserMessage}}/{{prevNodePrompt}}/{{nope}}!",
        );
        assert_eq!(
            out,
            "Ana/3/+15550001111/+15552223333/conv_1/2025-05-13T20:50:59.233Z/hi/Ask/!"
        );
        assert_eq!(missing, vec!["nope"]);
        let quoted: Map<String, Value> =
            serde_json::from_value(json!({"q": "say \"hi\"\n"})).unwrap();
        let scope = Scope {
            vars: &quoted,
            ..scope
        };
        let (body, _) = scope.render_json_text(r#"{"q": "{{q}}"}"#);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            json!({"q": "say \"hi\"\n"})
        );
    }

    #[test]
    fn coercion_follows_declared_types() {
        let spec = |t| VarSpec {
            name: "x".into(),
            var_type: t,
            description: String::new(),
        };
        assert_eq!(
            coerce(&spec(VarType::Integer), &json!("42")),
            Some(json!(42))
        );
        assert_eq!(coerce(&spec(VarType::Integer), &json!(4.0)), Some(json!(4)));
        assert_eq!(coerce(&spec(VarType::Integer), &json!(4.5)), None);
        assert_eq!(coerce(&spec(VarType::Integer), &json!("four")), None);
        assert_eq!(
            coerce(&spec(VarType::Boolean), &json!("TRUE")),
            Some(json!(true))
        );
        assert_eq!(coerce(&spec(VarType::Boolean), &json!(1)), None);
        assert_eq!(coerce(&spec(VarType::String), &json!(7)), Some(json!("7")));
        assert_eq!(coerce(&spec(VarType::String), &json!({"a": 1})), None);
        assert_eq!(coerce(&spec(VarType::String), &json!(" ")), None);
    }
}
