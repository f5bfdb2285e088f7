//! Reading operators' arguments: data paths, speakers, lists of names or phrases, regular
//! expressions, and the list shapes operators take.

use regex::RegexBuilder;
use serde_json::{Map, Value};

use super::{
    expr::{Expr, SpeakerFilter},
    parse::{index, key, Checker, MAX_LIST},
};

const MAX_PATH_SEGMENTS: usize = 32;
const MAX_PATTERN_CHARS: usize = 1_000;
/// Patterns come from customers; bound what one may cost to compile.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Checker<'_> {
    pub(super) fn regex(
        &mut self,
        m: &Map<String, Value>,
        arg: &Value,
        path: &str,
        at: &str,
    ) -> Option<Expr> {
        let speaker = self.speaker_option(m, path);
        let ci = match m.get("case_insensitive") {
            None => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => self.fail(&key(path, "case_insensitive"), "must be true or false"),
        };
        let Some(pattern) = arg.as_str().filter(|p| !p.is_empty()) else {
            return self.fail(at, "must be a non-empty regular expression");
        };
        if pattern.chars().count() > MAX_PATTERN_CHARS {
            return self.fail(at, format!("is longer than {MAX_PATTERN_CHARS} characters"));
        }
        let regex = match RegexBuilder::new(pattern)
            .case_insensitive(ci?)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(r) => r,
            Err(e) => return self.fail(at, format!("is not a valid regular expression: {e}")),
        };
        Some(Expr::TranscriptMatches {
            regex,
            speaker: speaker?,
        })
    }

    /// `"a.b.0"`, or `["a.b", 0]` for keys that contain dots.
    pub(super) fn data_path(&mut self, v: &Value, at: &str) -> Option<Vec<String>> {
        let segments: Vec<String> = match v {
            Value::String(s) if !s.is_empty() => {
                let parts: Vec<String> = s.split('.').map(str::to_owned).collect();
                if parts.iter().any(String::is_empty) {
                    return self.fail(at, "has an empty segment (two dots, or a dot at an end)");
                }
                parts
            }
            Value::Array(items) if !items.is_empty() => {
                let mut out = Vec::new();
                for (i, x) in items.iter().enumerate() {
                    match x {
                        Value::String(s) if !s.is_empty() => out.push(s.clone()),
                        Value::Number(n) if n.is_u64() => out.push(n.to_string()),
                        _ => {
                            return self.fail(
                                &index(at, i),
                                "must be a non-empty key or an array position",
                            )
                        }
                    }
                }
                out
            }
            _ => return self.fail(at, "must be a path: \"a.b\" or [\"a\", \"b\"]"),
        };
        if segments.len() > MAX_PATH_SEGMENTS {
            return self.fail(at, format!("has more than {MAX_PATH_SEGMENTS} segments"));
        }
        Some(segments)
    }

    pub(super) fn speaker_option(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
    ) -> Option<SpeakerFilter> {
        match m.get("speaker") {
            None => Some(SpeakerFilter::User),
            Some(v) => self.speaker(v, &key(path, "speaker")),
        }
    }

    pub(super) fn speaker(&mut self, v: &Value, at: &str) -> Option<SpeakerFilter> {
        let s = v.as_str().map(|s| s.trim().to_ascii_lowercase());
        match s.as_deref() {
            Some("user") => Some(SpeakerFilter::User),
            Some("agent") => Some(SpeakerFilter::Agent),
            Some("human") => Some(SpeakerFilter::Human),
            Some("any") => Some(SpeakerFilter::Any),
            _ => self.fail(at, "must be \"user\", \"agent\", \"human\" or \"any\""),
        }
    }

    /// Trimmed, lowercased names.
    pub(super) fn names(&mut self, v: &Value, at: &str) -> Option<Vec<String>> {
        Some(
            self.strings(v, at)?
                .iter()
                .map(|s| s.trim().to_lowercase())
                .collect(),
        )
    }

    /// One non-blank string or a list of 1 to `MAX_LIST` of them.
    pub(super) fn strings(&mut self, v: &Value, at: &str) -> Option<Vec<String>> {
        let items: Vec<(String, &Value)> = match v {
            Value::String(_) => vec![(at.to_owned(), v)],
            Value::Array(a) => {
                self.list(v, at)?;
                a.iter()
                    .enumerate()
                    .map(|(i, x)| (index(at, i), x))
                    .collect()
            }
            _ => return self.fail(at, "must be a string or a list of strings"),
        };
        let mut out = Vec::new();
        for (p, x) in items {
            match x.as_str() {
                Some(s) if !s.trim().is_empty() => out.push(s.to_owned()),
                _ => return self.fail(&p, "must be a non-blank string"),
            }
        }
        Some(out)
    }

    pub(super) fn list<'v>(&mut self, v: &'v Value, at: &str) -> Option<&'v Vec<Value>> {
        match v {
            Value::Array(a) if !a.is_empty() && a.len() <= MAX_LIST => Some(a),
            Value::Array(_) => self.fail(at, format!("must list 1 to {MAX_LIST} entries")),
            _ => self.fail(at, "must be a list"),
        }
    }

    pub(super) fn pair<'v>(&mut self, v: &'v Value, at: &str) -> Option<[&'v Value; 2]> {
        match v.as_array().map(Vec::as_slice) {
            Some([a, b]) => Some([a, b]),
            _ => self.fail(at, "must be a list of two operands"),
        }
    }
}
