//! Reading and checking a citation schema (spec 3): `variables`, `groupings`, `conditions`,
//! and Parley's `source` on a variable. Every error names the offending field by its path
//! (`schema.variables[2].type`), so an API can answer with it as is.
//!
//! Unknown keys are ignored here (the stored JSON keeps them as sent): Bland's dashboard
//! writes fields Parley does not use.

use std::collections::HashSet;

use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value};

use super::{
    CitationSchema, Condition, Grouping, Operator, Source, SpeakerFilter, VarType, Variable,
};

/// Most variables one schema may declare, conditional ones included.
pub const MAX_VARIABLES: usize = 200;
/// Longest variable, grouping or category option name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest `source.regex` pattern.
pub const MAX_PATTERN_CHARS: usize = 1_000;
/// Compiled size limit of one pattern: a pattern is customer input run over every message,
/// so it must not be able to take the server's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SchemaError {
    /// Where the problem is, e.g. `schema.variables[2].type`.
    pub path: String,
    pub message: String,
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T, SchemaError> {
    Err(SchemaError {
        path: path.to_owned(),
        message: message.into(),
    })
}

impl CitationSchema {
    /// Reads a `schema` object as sent; `null` is the empty schema (Bland creates one when
    /// the field is left out). Errors name paths under `schema`.
    pub fn parse(v: &Value) -> Result<Self, SchemaError> {
        Self::parse_at(v, "schema")
    }

    /// Like [`CitationSchema::parse`], with error paths under `root`.
    pub fn parse_at(v: &Value, root: &str) -> Result<Self, SchemaError> {
        let obj = match v {
            Value::Null => return Ok(Self::default()),
            Value::Object(o) => o,
            _ => return err(root, "must be an object"),
        };
        let mut names = HashSet::new();
        let variables = variables(
            obj.get("variables"),
            &format!("{root}.variables"),
            &mut names,
        )?;
        let mut conditions = Vec::new();
        for (i, c) in array(obj.get("conditions"), &format!("{root}.conditions"))?
            .iter()
            .enumerate()
        {
            // A condition may test any variable declared before its own extra variables.
            conditions.push(condition(
                c,
                &format!("{root}.conditions[{i}]"),
                &mut names,
            )?);
        }
        let mut groupings = Vec::new();
        for (i, g) in array(obj.get("groupings"), &format!("{root}.groupings"))?
            .iter()
            .enumerate()
        {
            groupings.push(grouping(g, &format!("{root}.groupings[{i}]"), &names)?);
        }
        Ok(Self {
            variables,
            groupings,
            conditions,
        })
    }
}

/// An optional array field: absent or `null` is empty.
fn array<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a [Value], SchemaError> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => err(path, "must be an array"),
    }
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, SchemaError> {
    v.as_object()
        .map_or_else(|| err(path, "must be an object"), Ok)
}

/// A required, non-blank name (trimmed), at most [`MAX_NAME_CHARS`].
fn name(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, SchemaError> {
    let path = format!("{path}.{key}");
    match obj.get(key) {
        None | Some(Value::Null) => err(&path, "is required"),
        Some(Value::String(s)) if s.trim().is_empty() => err(&path, "must not be blank"),
        Some(Value::String(s)) if s.trim().chars().count() > MAX_NAME_CHARS => err(
            &path,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ),
        Some(Value::String(s)) => Ok(s.trim().to_owned()),
        Some(_) => err(&path, "must be a string"),
    }
}

fn optional_text(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => err(&format!("{path}.{key}"), "must be a string"),
    }
}

fn variables(
    v: Option<&Value>,
    path: &str,
    names: &mut HashSet<String>,
) -> Result<Vec<Variable>, SchemaError> {
    let items = array(v, path)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let var = variable(item, &at)?;
        if !names.insert(var.name.clone()) {
            return err(
                &format!("{at}.name"),
                format!(
                    "{:?} is declared more than once (names are the keys of the results)",
                    var.name
                ),
            );
        }
        if names.len() > MAX_VARIABLES {
            return err(
                &at,
                format!("a schema may declare at most {MAX_VARIABLES} variables"),
            );
        }
        out.push(var);
    }
    Ok(out)
}

fn variable(v: &Value, path: &str) -> Result<Variable, SchemaError> {
    let obj = object(v, path)?;
    let name = name(obj, "name", path)?;
    let description = optional_text(obj, "description", path)?.unwrap_or_default();
    let type_path = format!("{path}.type");
    let var_type = match obj.get("type") {
        None | Some(Value::Null) => return err(&type_path, "is required"),
        Some(Value::String(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "string" => VarType::String,
            "number" => VarType::Number,
            "boolean" => VarType::Boolean,
            "array" => VarType::Array,
            "category" => {
                VarType::Category(options(obj.get("options"), &format!("{path}.options"))?)
            }
            _ => {
                return err(
                    &type_path,
                    format!("{t:?} is not one of string, number, boolean, array, category"),
                )
            }
        },
        Some(_) => return err(&type_path, "must be a string"),
    };
    let source = match obj.get("source") {
        None | Some(Value::Null) => None,
        Some(s) => Some(source(s, &format!("{path}.source"))?),
    };
    Ok(Variable {
        name,
        description,
        var_type,
        source,
    })
}

fn options(v: Option<&Value>, path: &str) -> Result<Vec<String>, SchemaError> {
    let items = match v {
        None | Some(Value::Null) => return err(path, "is required for a category variable"),
        Some(Value::Array(a)) if a.is_empty() => return err(path, "must list at least one option"),
        Some(Value::Array(a)) => a,
        Some(_) => return err(path, "must be an array of strings"),
    };
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, o) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let s = match o {
            Value::String(s) if !s.trim().is_empty() => s.trim(),
            Value::String(_) => return err(&at, "must not be blank"),
            _ => return err(&at, "must be a string"),
        };
        if s.chars().count() > MAX_NAME_CHARS {
            return err(&at, format!("must be at most {MAX_NAME_CHARS} characters"));
        }
        // Options are matched case-insensitively, so two that differ only in case are one.
        if !seen.insert(s.to_lowercase()) {
            return err(&at, format!("{s:?} is listed more than once"));
        }
        out.push(s.to_owned());
    }
    Ok(out)
}

fn source(v: &Value, path: &str) -> Result<Source, SchemaError> {
    let obj = object(v, path)?;
    match (obj.get("variable"), obj.get("regex")) {
        (Some(_), Some(_)) => err(path, "must have either variable or regex, not both"),
        (None, None) => err(
            path,
            "must have variable (a pathway variable) or regex (over the transcript)",
        ),
        (Some(_), None) => Ok(Source::Variable(name(obj, "variable", path)?)),
        (None, Some(_)) => regex_source(obj, path),
    }
}

fn regex_source(obj: &Map<String, Value>, path: &str) -> Result<Source, SchemaError> {
    let at = format!("{path}.regex");
    let pattern = match obj.get("regex") {
        Some(Value::String(p)) if p.is_empty() => return err(&at, "must not be empty"),
        Some(Value::String(p)) if p.chars().count() > MAX_PATTERN_CHARS => {
            return err(
                &at,
                format!("must be at most {MAX_PATTERN_CHARS} characters"),
            )
        }
        Some(Value::String(p)) => p,
        _ => return err(&at, "must be a string"),
    };
    let regex: Regex = RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .or_else(|e| err(&at, format!("is not a valid regular expression: {e}")))?;
    let groups = regex.captures_len();
    let group_at = format!("{path}.group");
    let group = match obj.get("group") {
        // The first capture group when there is one, else the whole match.
        None | Some(Value::Null) => usize::from(groups > 1),
        Some(g) => match g.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n < groups => n,
            Some(n) => {
                return err(
                    &group_at,
                    format!(
                        "the pattern has no group {n} (it has {} capture groups)",
                        groups - 1
                    ),
                )
            }
            None => return err(&group_at, "must be a non-negative integer"),
        },
    };
    let speaker_at = format!("{path}.speaker");
    let speaker = match obj.get("speaker") {
        None | Some(Value::Null) => SpeakerFilter::User,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "user" => SpeakerFilter::User,
            "agent" => SpeakerFilter::Agent,
            "any" => SpeakerFilter::Any,
            _ => return err(&speaker_at, format!("{s:?} is not one of user, agent, any")),
        },
        Some(_) => return err(&speaker_at, "must be a string"),
    };
    Ok(Source::Regex {
        regex,
        group,
        speaker,
    })
}

fn condition(v: &Value, path: &str, names: &mut HashSet<String>) -> Result<Condition, SchemaError> {
    let obj = object(v, path)?;
    let test_path = format!("{path}.condition");
    let test = match obj.get("condition") {
        None | Some(Value::Null) => return err(&test_path, "is required"),
        Some(t) => object(t, &test_path)?,
    };
    let variable = name(test, "variable", &test_path)?;
    if !names.contains(&variable) {
        return err(
            &format!("{test_path}.variable"),
            format!("{variable:?} is not a variable declared before this condition"),
        );
    }
    let op_path = format!("{test_path}.operator");
    let operator = match test.get("operator") {
        Some(Value::String(s)) => Operator::parse(s).map_or_else(
            || {
                err(
                    &op_path,
                    format!("{s:?} is not one of ===, !==, >, >=, <, <=, contains"),
                )
            },
            Ok,
        )?,
        None | Some(Value::Null) => return err(&op_path, "is required"),
        Some(_) => return err(&op_path, "must be a string"),
    };
    let value_path = format!("{test_path}.value");
    // Bland sends the value as a string ("true", "5"); a JSON number or boolean means the same.
    let value = match test.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        None | Some(Value::Null) => return err(&value_path, "is required"),
        Some(_) => return err(&value_path, "must be a string, number or boolean"),
    };
    let variables = variables(obj.get("variables"), &format!("{path}.variables"), names)?;
    Ok(Condition {
        variable,
        operator,
        value,
        variables,
    })
}

fn grouping(v: &Value, path: &str, names: &HashSet<String>) -> Result<Grouping, SchemaError> {
    let obj = object(v, path)?;
    let name = name(obj, "name", path)?;
    let description = optional_text(obj, "description", path)?;
    let list_path = format!("{path}.variables");
    let mut variables = Vec::new();
    for (i, n) in array(obj.get("variables"), &list_path)?.iter().enumerate() {
        let at = format!("{list_path}[{i}]");
        match n {
            Value::String(s) if names.contains(s.trim()) => variables.push(s.trim().to_owned()),
            Value::String(s) => return err(&at, format!("{s:?} is not a variable of this schema")),
            _ => return err(&at, "must be a variable name"),
        }
    }
    Ok(Grouping {
        name,
        description,
        variables,
    })
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
