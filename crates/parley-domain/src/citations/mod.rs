//! Citation schemas (spec 3): what to extract from a finished conversation, and the pure
//! part of extracting it.
//!
//! A schema declares typed `variables`, organisational `groupings`, and `conditions` whose
//! extra variables are extracted only when the condition holds over the values already
//! extracted. Bland extracts every variable with a language model; Parley lets a variable
//! declare a deterministic `source` instead (a pathway variable, or a regular expression over
//! the transcript), which needs no model. [`Extraction`] runs a schema over a
//! [`ConversationRecord`](crate::conversation_record::ConversationRecord) and stops where a
//! model's answer is needed, so the async caller owns the model call and this stays pure.
//!
//! Submodules: `schema` (parsing and validation), `coerce` (values to the declared type),
//! `condition` (the operators), `evaluate` (the extraction state machine).

mod coerce;
mod condition;
mod evaluate;
mod schema;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

pub use coerce::coerce;
pub use evaluate::{Extraction, MODEL_CONFIDENCE, SOURCE_CONFIDENCE};
pub use schema::{SchemaError, MAX_NAME_CHARS, MAX_PATTERN_CHARS, MAX_VARIABLES};

/// A parsed, valid citation schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CitationSchema {
    pub variables: Vec<Variable>,
    pub groupings: Vec<Grouping>,
    pub conditions: Vec<Condition>,
}

impl CitationSchema {
    /// Every variable: the top-level ones, then each condition's, in declaration order.
    pub fn all_variables(&self) -> impl Iterator<Item = &Variable> {
        self.variables
            .iter()
            .chain(self.conditions.iter().flat_map(|c| c.variables.iter()))
    }

    /// Names of the variables only a language model can extract (no `source`).
    pub fn needs_model(&self) -> Vec<&str> {
        self.all_variables()
            .filter(|v| v.source.is_none())
            .map(|v| v.name.as_str())
            .collect()
    }

    /// Whether the schema declares no variable at all (nothing to extract).
    pub fn is_empty(&self) -> bool {
        self.all_variables().next().is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// The key of the extracted value (trimmed; unique within the schema).
    pub name: String,
    /// What to extract, for the model.
    pub description: String,
    pub var_type: VarType,
    /// Parley extension: where the value comes from without a model.
    pub source: Option<Source>,
}

/// The declared type of a variable; every extracted value has it (see [`VarType::admits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarType {
    String,
    /// A JSON number; integral values are integers (`3`, not `3.0`).
    Number,
    Boolean,
    /// A non-empty JSON array of non-empty strings.
    Array,
    /// One of the listed options, spelled as declared.
    Category(Vec<String>),
}

impl VarType {
    pub fn name(&self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Array => "array",
            Self::Category(_) => "category",
        }
    }

    /// Whether `v` is a value of this type as extraction produces it.
    pub fn admits(&self, v: &Value) -> bool {
        match (self, v) {
            (Self::String, Value::String(s)) => !s.trim().is_empty(),
            (Self::Number, Value::Number(_)) => true,
            (Self::Boolean, Value::Bool(_)) => true,
            (Self::Array, Value::Array(items)) => {
                !items.is_empty()
                    && items
                        .iter()
                        .all(|i| i.as_str().is_some_and(|s| !s.trim().is_empty()))
            }
            (Self::Category(options), Value::String(s)) => options.contains(s),
            _ => false,
        }
    }
}

/// Where a variable's value comes from without a model.
#[derive(Debug, Clone)]
pub enum Source {
    /// `{"variable": "<name>"}`: a pathway variable (or `request_data` key) of the
    /// conversation.
    Variable(String),
    /// `{"regex": "<pattern>", "group": n, "speaker": "user"|"agent"|"any"}`: a match in
    /// the transcript. `group` defaults to the first capture group (the whole match when the
    /// pattern has none); `speaker` defaults to `user`, because the agent's own questions
    /// ("is your zip 94107?") would otherwise read as answers.
    Regex {
        regex: Regex,
        group: usize,
        speaker: SpeakerFilter,
    },
}

impl PartialEq for Source {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Variable(a), Self::Variable(b)) => a == b,
            (
                Self::Regex {
                    regex: a,
                    group: ga,
                    speaker: sa,
                },
                Self::Regex {
                    regex: b,
                    group: gb,
                    speaker: sb,
                },
            ) => a.as_str() == b.as_str() && ga == gb && sa == sb,
            _ => false,
        }
    }
}

/// Whose messages a regex source reads. `agent` covers the AI agent and human agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerFilter {
    User,
    Agent,
    Any,
}

/// Organisational only: extraction ignores groupings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    pub name: String,
    pub description: Option<String>,
    pub variables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// A variable declared before this condition.
    pub variable: String,
    pub operator: Operator,
    /// As Bland sends it: a string (`"true"`, `"5"`).
    pub value: String,
    /// Extracted only when the condition holds.
    pub variables: Vec<Variable>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `===`
    Eq,
    /// `!==`
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `contains`: a substring of a string, or an element of an array (case-insensitive).
    Contains,
}

impl Operator {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "===" => Self::Eq,
            "!==" => Self::Ne,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "<" => Self::Lt,
            "<=" => Self::Le,
            c if c.eq_ignore_ascii_case("contains") => Self::Contains,
            _ => return None,
        })
    }
}

/// Where an extracted value was read: Bland's `{variable, message, confidence}`, plus the
/// message's id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    pub variable: String,
    /// The source message's text.
    pub message: String,
    /// The source message's id (Parley extension).
    pub message_id: i64,
    /// 0 to 1: [`SOURCE_CONFIDENCE`] for a regex match, [`MODEL_CONFIDENCE`] for a model's
    /// value found in the message.
    pub confidence: f64,
}
