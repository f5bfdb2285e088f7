//! Running an [`Expr`] over a [`ConversationRecord`]. Total: every expression gives a value
//! for every record (possibly [`Val::Missing`]), so evaluation has no error path at all.

use std::{borrow::Cow, cmp::Ordering};

use serde_json::{Map, Value};

use super::expr::{CmpOp, DataSource, Expr, Haystack, SpeakerFilter};
use crate::{
    conversation_record::{ConversationRecord, Speaker, TranscriptLine},
    pathways::condition::words,
};

/// A value while a rule runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// An absent path, a JSON `null`, a `cases` with no match and no default.
    Missing,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    List(&'a [Value]),
    Object(&'a Map<String, Value>),
}

impl<'a> Val<'a> {
    /// A JSON value as the rules see it (`null` is missing).
    pub fn of(v: Option<&'a Value>) -> Self {
        match v {
            None | Some(Value::Null) => Self::Missing,
            Some(Value::Bool(b)) => Self::Bool(*b),
            Some(Value::Number(n)) => n.as_f64().map_or(Self::Missing, Self::Num),
            Some(Value::String(s)) => Self::Str(Cow::Borrowed(s)),
            Some(Value::Array(a)) => Self::List(a),
            Some(Value::Object(m)) => Self::Object(m),
        }
    }

    /// As a condition: only `true` (or the text `"true"`, any case) holds; everything else,
    /// a missing value included, does not.
    pub fn holds(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            Self::Str(s) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        }
    }
}

pub fn eval<'a>(e: &'a Expr, r: &'a ConversationRecord) -> Val<'a> {
    match e {
        Expr::Bool(b) => Val::Bool(*b),
        Expr::Num(n) => Val::Num(*n),
        Expr::Str(s) => Val::Str(Cow::Borrowed(s)),
        Expr::Read { source, path } => Val::of(read(r, *source, path)),
        Expr::MessageCount(who) => Val::Num(lines(r, *who).count() as f64),
        Expr::HasTag(names) => Val::Bool(
            r.pathway_tags
                .iter()
                .any(|t| names.contains(&t.trim().to_lowercase())),
        ),
        Expr::EndedReason(reasons) => Val::Bool(
            r.ended_reason
                .as_deref()
                .is_some_and(|e| reasons.contains(&e.trim().to_lowercase())),
        ),
        Expr::TranscriptContains { phrases, speaker } => Val::Bool(lines(r, *speaker).any(|l| {
            let w = words(&l.text);
            phrases
                .iter()
                .any(|p| w.windows(p.len()).any(|win| win == p.as_slice()))
        })),
        Expr::TranscriptMatches { regex, speaker } => {
            Val::Bool(lines(r, *speaker).any(|l| regex.is_match(&l.text)))
        }
        Expr::Exists(read) => Val::Bool(match eval(read, r) {
            Val::Missing => false,
            Val::Str(s) => !s.trim().is_empty(),
            _ => true,
        }),
        Expr::Compare { op, lhs, rhs } => Val::Bool(compare(*op, &eval(lhs, r), &eval(rhs, r))),
        Expr::In { needle, haystack } => {
            let needle = eval(needle, r);
            let hay: &[Value] = match haystack {
                Haystack::Literals(items) => items,
                Haystack::Read(read) => match eval(read, r) {
                    Val::List(items) => items,
                    _ => &[],
                },
            };
            Val::Bool(
                hay.iter()
                    .any(|x| compare(CmpOp::Eq, &needle, &Val::of(Some(x)))),
            )
        }
        Expr::All(items) => Val::Bool(items.iter().all(|x| eval(x, r).holds())),
        Expr::Any(items) => Val::Bool(items.iter().any(|x| eval(x, r).holds())),
        Expr::Not(x) => Val::Bool(!eval(x, r).holds()),
        Expr::Cases { cases, default } => cases
            .iter()
            .find(|(when, _)| eval(when, r).holds())
            .map(|(_, then)| eval(then, r))
            .or_else(|| default.as_deref().map(|d| eval(d, r)))
            .unwrap_or(Val::Missing),
    }
}

fn read<'a>(r: &'a ConversationRecord, source: DataSource, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let root = match source {
        DataSource::Variables => r.variables.get(first)?,
        DataSource::Citations => r.citations.get(first)?,
        DataSource::Metadata => step(&r.metadata, first)?,
    };
    rest.iter().try_fold(root, |v, seg| step(v, seg))
}

fn step<'a>(v: &'a Value, seg: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m.get(seg),
        Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
        _ => None,
    }
}

fn lines(r: &ConversationRecord, who: SpeakerFilter) -> impl Iterator<Item = &TranscriptLine> {
    r.transcript.iter().filter(move |l| match who {
        SpeakerFilter::Any => true,
        SpeakerFilter::User => l.speaker == Speaker::User,
        SpeakerFilter::Agent => l.speaker == Speaker::Agent,
        SpeakerFilter::Human => l.speaker == Speaker::Human,
    })
}

/// How two values relate.
enum Relation {
    Ordered(Ordering),
    /// Comparable for equality only (booleans, lists, objects).
    Equal(bool),
    /// Of kinds that cannot be compared (a number with a word, anything with a missing
    /// value): equal to nothing, and neither less nor greater.
    Unrelated,
}

/// The comparison operators:
/// - numbers compare numerically, also with text that reads as a number (`"42"`);
/// - text compares trimmed and lowercased, by code point;
/// - booleans compare with booleans and with the text `"true"` / `"false"`, for equality;
/// - lists and objects are equal when their JSON is;
/// - a missing value is equal to nothing, itself included.
///
/// `!=` is exactly "not `==`"; the orderings hold only between ordered values.
pub fn compare(op: CmpOp, a: &Val<'_>, b: &Val<'_>) -> bool {
    let rel = relate(a, b);
    match op {
        CmpOp::Eq => rel.is_equal(),
        CmpOp::Ne => !rel.is_equal(),
        _ => match rel {
            Relation::Ordered(o) => match op {
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            },
            Relation::Equal(_) | Relation::Unrelated => false,
        },
    }
}

impl Relation {
    fn is_equal(&self) -> bool {
        matches!(self, Self::Ordered(Ordering::Equal) | Self::Equal(true))
    }
}

fn relate(a: &Val<'_>, b: &Val<'_>) -> Relation {
    use Val::*;
    match (a, b) {
        (Num(x), Num(y)) => x
            .partial_cmp(y)
            .map_or(Relation::Unrelated, Relation::Ordered),
        (Num(x), Str(s)) => match number_in(s) {
            Some(y) => relate(&Num(*x), &Num(y)),
            None => Relation::Unrelated,
        },
        (Str(_), Num(_)) => flip(relate(b, a)),
        (Str(x), Str(y)) => {
            Relation::Ordered(x.trim().to_lowercase().cmp(&y.trim().to_lowercase()))
        }
        (Bool(x), Bool(y)) => Relation::Equal(x == y),
        (Bool(x), Str(s)) | (Str(s), Bool(x)) => match bool_in(s) {
            Some(y) => Relation::Equal(*x == y),
            None => Relation::Unrelated,
        },
        (List(x), List(y)) => Relation::Equal(x == y),
        (Object(x), Object(y)) => Relation::Equal(x == y),
        _ => Relation::Unrelated,
    }
}

fn flip(r: Relation) -> Relation {
    match r {
        Relation::Ordered(o) => Relation::Ordered(o.reverse()),
        other => other,
    }
}

pub fn number_in(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

pub fn bool_in(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
