//! The rule language's syntax tree: what `parse` builds from JSON and `eval` runs.

use regex::Regex;
use serde_json::Value;

/// The static type of an expression. Literals and operators have a known type; reading a
/// variable, citation or metadata path gives whatever the conversation holds, known only
/// when the rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Boolean,
    String,
    Number,
    Any,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Number => "number",
            Self::Any => "value read from the conversation",
        }
    }
}

/// Where a path is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    /// `ConversationRecord::variables` (`request_data` with pathway variables over it).
    Variables,
    /// `ConversationRecord::citations`.
    Citations,
    /// `ConversationRecord::metadata`.
    Metadata,
}

/// Whose transcript lines an operator looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeakerFilter {
    User,
    Agent,
    Human,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "==" => Self::Eq,
            "!=" => Self::Ne,
            "<" => Self::Lt,
            "<=" => Self::Le,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            _ => return None,
        })
    }

    pub fn is_ordering(self) -> bool {
        !matches!(self, Self::Eq | Self::Ne)
    }
}

#[derive(Debug, Clone)]
pub enum Expr {
    Bool(bool),
    Num(f64),
    Str(String),
    /// A path into variables, citations or metadata; segments that name array positions
    /// are decimal digits.
    Read {
        source: DataSource,
        path: Vec<String>,
    },
    MessageCount(SpeakerFilter),
    /// Tag names, trimmed and lowercased.
    HasTag(Vec<String>),
    /// Reasons, trimmed and lowercased.
    EndedReason(Vec<String>),
    /// Each phrase as its words, lowercased.
    TranscriptContains {
        phrases: Vec<Vec<String>>,
        speaker: SpeakerFilter,
    },
    TranscriptMatches {
        regex: Regex,
        speaker: SpeakerFilter,
    },
    /// Always a [`Expr::Read`].
    Exists(Box<Expr>),
    Compare {
        op: CmpOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    In {
        needle: Box<Expr>,
        haystack: Haystack,
    },
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Cases {
        /// `(when, then)` pairs in order.
        cases: Vec<(Expr, Expr)>,
        default: Option<Box<Expr>>,
    },
}

/// The second operand of `in`.
#[derive(Debug, Clone)]
pub enum Haystack {
    /// A JSON array of strings, numbers and booleans written in the rule.
    Literals(Vec<Value>),
    /// A read that should give an array when the rule runs.
    Read(Box<Expr>),
}

impl Expr {
    /// The type the expression gives. `cases` takes the first branch whose type is known
    /// (the parser has already made every branch agree).
    pub fn ty(&self) -> Ty {
        match self {
            Self::Bool(_)
            | Self::HasTag(_)
            | Self::EndedReason(_)
            | Self::TranscriptContains { .. }
            | Self::TranscriptMatches { .. }
            | Self::Exists(_)
            | Self::Compare { .. }
            | Self::In { .. }
            | Self::All(_)
            | Self::Any(_)
            | Self::Not(_) => Ty::Boolean,
            Self::Num(_) | Self::MessageCount(_) => Ty::Number,
            Self::Str(_) => Ty::String,
            Self::Read { .. } => Ty::Any,
            Self::Cases { cases, default } => cases
                .iter()
                .map(|(_, then)| then)
                .chain(default.as_deref())
                .map(Expr::ty)
                .find(|t| *t != Ty::Any)
                .unwrap_or(Ty::Any),
        }
    }
}
