//! Outcomes (Bland's "dispositions"): named sets of typed fields computed from a finished
//! conversation, by declarative rules or by the language model.
//!
//! Bland generates code from an outcome's fields and runs it; Parley instead evaluates a
//! small JSON rule language, so an outcome is cheap, deterministic, needs no model unless a
//! field asks for one, and can be checked when it is saved. The language (documented with
//! examples in `docs/API.md`, "Dispositions"):
//!
//! - literals: `true`, `3`, `"confirmed"` (no `null`, no objects; lists only inside `in`);
//! - reads: `{"var": "appointment.date"}`, `{"citation": "Customer Name"}`,
//!   `{"metadata": ["crm", "id"]}`; `{"message_count": "user" | "agent" | "human" | "any"}`;
//! - predicates: `{"has_tag": …}`, `{"ended_reason": …}`, `{"transcript_contains": …,
//!   "speaker"?}`, `{"transcript_matches": regex, "speaker"?, "case_insensitive"?}`,
//!   `{"exists": read}`;
//! - comparisons `==`, `!=`, `<`, `<=`, `>`, `>=` over two operands, `{"in": [x, [..]]}`;
//! - logic `all`, `any`, `not`; and `{"cases": [{"when", "then"}…], "default"?}`.
//!
//! [`Disposition::parse`] type-checks a definition and reports every problem at its path;
//! [`Disposition::evaluate`] never fails. Results and their tag are a [`DispositionLog`].

mod eval;
mod expr;
mod log;
mod operands;
mod parse;

use serde_json::{Map, Value};

pub use eval::{compare, Val};
pub use expr::{CmpOp, DataSource, Expr, Haystack, SpeakerFilter, Ty};
pub use log::{disposition_tag, DispositionLog, LogStatus};
pub use parse::{MAX_DEPTH, MAX_LIST};

use parse::{index, key, Checker};

use crate::conversation_record::ConversationRecord;

/// Most fields one definition may have.
pub const MAX_FIELDS: usize = 50;
const MAX_NAME_CHARS: usize = 200;
const MAX_FIELD_NAME_CHARS: usize = 100;

/// A problem with a definition, at a path into its JSON (`fields[1].rule.cases[0].when`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DefinitionError {
    pub path: String,
    pub message: String,
}

impl DefinitionError {
    pub fn new(path: &str, message: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// The types Bland's outcome fields have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Boolean,
    String,
    Number,
}

impl FieldType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "boolean" => Some(Self::Boolean),
            "string" => Some(Self::String),
            "number" => Some(Self::Number),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Number => "number",
        }
    }

    fn ty(self) -> Ty {
        match self {
            Self::Boolean => Ty::Boolean,
            Self::String => Ty::String,
            Self::Number => Ty::Number,
        }
    }

    /// A value of this type from what a rule or the model gave, or `null`: numbers and
    /// booleans written as text are read, numbers and booleans become text for a string
    /// field, and anything else (missing, a list, the wrong kind) is `null`.
    pub fn convert(self, v: &Val<'_>) -> Value {
        match (self, v) {
            (Self::Boolean, Val::Bool(b)) => Value::Bool(*b),
            (Self::Boolean, Val::Str(s)) => eval::bool_in(s).map_or(Value::Null, Value::Bool),
            (Self::Number, Val::Num(n)) => number(*n),
            (Self::Number, Val::Str(s)) => eval::number_in(s).map_or(Value::Null, number),
            (Self::String, Val::Str(s)) => Value::String(s.to_string()),
            (Self::String, Val::Num(n)) => Value::String(number(*n).to_string()),
            (Self::String, Val::Bool(b)) => Value::String(b.to_string()),
            _ => Value::Null,
        }
    }
}

/// A whole number as a JSON integer (`3`, never `3.0`), anything else as a float.
fn number(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= EXACT {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// How a field gets its value.
#[derive(Debug, Clone)]
pub enum Compute {
    /// The rule, and its JSON as saved.
    Rule { expr: Expr, json: Value },
    /// Asked of the language model, with the field's description as the question.
    Model,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: FieldType,
    pub description: Option<String>,
    pub compute: Compute,
}

/// A checked definition.
#[derive(Debug, Clone)]
pub struct Disposition {
    pub name: String,
    pub description: Option<String>,
    /// A string field whose value is the log's `tag`.
    pub tag_field: Option<String>,
    pub fields: Vec<Field>,
}

impl Disposition {
    /// Checks a definition `{name, description?, tag_field?, fields}`. Keys other than
    /// these four are ignored at the top level (the API's convention), but not inside a
    /// field or a rule, where a misspelt key would silently change what runs.
    pub fn parse(v: &Value) -> Result<Self, Vec<DefinitionError>> {
        let mut errors = Vec::new();
        let Some(m) = v.as_object() else {
            return Err(vec![DefinitionError::new(
                "",
                "a disposition is a JSON object",
            )]);
        };
        let mut c = Checker {
            errors: &mut errors,
        };
        let name = required_text(&mut c, m.get("name"), "name", MAX_NAME_CHARS);
        let description = optional_text(&mut c, m.get("description"), "description");
        let tag_field = optional_text(&mut c, m.get("tag_field"), "tag_field");
        let fields = match m.get("fields") {
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_FIELDS => {
                let parsed: Vec<Option<Field>> = items
                    .iter()
                    .enumerate()
                    .map(|(i, f)| field(&mut c, f, &index("fields", i)))
                    .collect();
                parsed.into_iter().collect::<Option<Vec<_>>>()
            }
            Some(Value::Array(_)) => {
                c.fail("fields", format!("must list 1 to {MAX_FIELDS} fields"))
            }
            None | Some(Value::Null) => c.fail("fields", "is required"),
            Some(_) => c.fail("fields", "must be a list of fields"),
        };
        if let Some(fields) = &fields {
            for (i, f) in fields.iter().enumerate() {
                if let Some(j) = fields[..i].iter().position(|g| g.name == f.name) {
                    c.report(
                        &key(&index("fields", i), "name"),
                        format!("repeats fields[{j}].name"),
                    );
                }
            }
            if let Some(Some(t)) = &tag_field {
                match fields.iter().find(|f| &f.name == t) {
                    Some(f) if f.kind == FieldType::String => {}
                    Some(_) => c.report(
                        "tag_field",
                        format!("names {t:?}, which is not a string field"),
                    ),
                    None => c.report("tag_field", format!("names {t:?}, which is not a field")),
                }
            }
        }
        match (name, description, tag_field, fields) {
            (Some(name), Some(description), Some(tag_field), Some(fields)) if errors.is_empty() => {
                Ok(Self {
                    name,
                    description,
                    tag_field,
                    fields,
                })
            }
            _ => Err(errors),
        }
    }

    /// The definition as stored and shown: what [`Disposition::parse`] read, names trimmed,
    /// every field's `source` spelled out. Parsing it again gives the same definition.
    pub fn to_value(&self) -> Value {
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|f| {
                let mut m = Map::new();
                m.insert("name".into(), f.name.clone().into());
                m.insert("type".into(), f.kind.as_str().into());
                m.insert("description".into(), f.description.clone().into());
                match &f.compute {
                    Compute::Rule { json, .. } => {
                        m.insert("source".into(), "rule".into());
                        m.insert("rule".into(), json.clone());
                    }
                    Compute::Model => {
                        m.insert("source".into(), "model".into());
                    }
                }
                Value::Object(m)
            })
            .collect();
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "tag_field": self.tag_field,
            "fields": fields,
        })
    }

    /// The fields the model computes, in order.
    pub fn model_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields
            .iter()
            .filter(|f| matches!(f.compute, Compute::Model))
    }

    pub fn needs_model(&self) -> bool {
        self.model_fields().next().is_some()
    }

    /// Every field's value, in declared order: rule fields from `record`, model fields from
    /// `model_values` (what the model answered; absent ones are `null`). Each value has the
    /// field's type or is `null`.
    pub fn evaluate(
        &self,
        record: &ConversationRecord,
        model_values: &Map<String, Value>,
    ) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|f| {
                let v = match &f.compute {
                    Compute::Rule { expr, .. } => f.kind.convert(&eval::eval(expr, record)),
                    Compute::Model => f.kind.convert(&Val::of(model_values.get(&f.name))),
                };
                (f.name.clone(), v)
            })
            .collect()
    }

    /// The tag of a result: the `tag_field`'s value when one is named, else the first
    /// string field (in declared order) with a value; blank text is no tag.
    pub fn tag(&self, result: &Map<String, Value>) -> Option<String> {
        let text = |name: &str| {
            result
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        };
        match &self.tag_field {
            Some(t) => text(t),
            None => self
                .fields
                .iter()
                .filter(|f| f.kind == FieldType::String)
                .find_map(|f| text(&f.name)),
        }
    }
}

fn field(c: &mut Checker<'_>, v: &Value, path: &str) -> Option<Field> {
    let Some(m) = v.as_object() else {
        return c.fail(path, "must be {name, type, description?, source?, rule?}");
    };
    const KEYS: [&str; 5] = ["name", "type", "description", "source", "rule"];
    if let Some(extra) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return c.fail(
            &key(path, extra),
            format!("unknown key (a field has {})", KEYS.join(", ")),
        );
    }
    let name = required_text(c, m.get("name"), &key(path, "name"), MAX_FIELD_NAME_CHARS);
    let kind = match m
        .get("type")
        .and_then(Value::as_str)
        .and_then(FieldType::parse)
    {
        Some(k) => Some(k),
        None => c.fail(
            &key(path, "type"),
            "must be \"boolean\", \"string\" or \"number\"",
        ),
    };
    let description = optional_text(c, m.get("description"), &key(path, "description"));
    let rule = m.get("rule").filter(|r| !r.is_null());
    let source = match m.get("source") {
        None | Some(Value::Null) => Some("rule"),
        Some(Value::String(s)) if s == "rule" || s == "model" => Some(s.as_str()),
        Some(_) => c.fail(&key(path, "source"), "must be \"rule\" or \"model\""),
    };
    let compute = match (source, rule) {
        (None, _) => None,
        (Some("model"), Some(_)) => c.fail(
            &key(path, "rule"),
            "a model field has no rule (drop the rule or the source)",
        ),
        (Some("model"), None) if matches!(description, Some(None)) => c.fail(
            &key(path, "description"),
            "is required for a model field: it is what the model is asked",
        ),
        (Some("model"), None) => Some(Compute::Model),
        (Some(_), None) => c.fail(
            &key(path, "rule"),
            "is required (or set \"source\": \"model\")",
        ),
        (Some(_), Some(r)) => c
            .expr(r, &key(path, "rule"), kind.map(FieldType::ty), 0)
            .map(|expr| Compute::Rule {
                expr,
                json: r.clone(),
            }),
    };
    Some(Field {
        name: name?,
        kind: kind?,
        description: description?,
        compute: compute?,
    })
}

fn required_text(c: &mut Checker<'_>, v: Option<&Value>, path: &str, max: usize) -> Option<String> {
    match v {
        Some(Value::String(s)) if s.trim().chars().count() > max => {
            c.fail(path, format!("is longer than {max} characters"))
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::String(_)) => c.fail(path, "must not be blank"),
        None | Some(Value::Null) => c.fail(path, "is required"),
        Some(_) => c.fail(path, "must be a string"),
    }
}

/// `Some(None)` when absent, null or blank; `None` (reported) when not a string.
fn optional_text(c: &mut Checker<'_>, v: Option<&Value>, path: &str) -> Option<Option<String>> {
    match v {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Some(_) => c.fail(path, "must be a string or null"),
    }
}

#[cfg(test)]
mod tests;
