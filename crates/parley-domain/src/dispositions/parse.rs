//! JSON → [`Expr`]: every problem is reported at its path (`fields[1].rule.cases[0].when`),
//! and types are checked on the way down, so a rule that cannot give its field's type is
//! refused when it is saved rather than discovered when a conversation ends.
//!
//! Checking is bidirectional: the caller says which type it needs (the field's type, or
//! boolean for a condition) and `cases` hands that need to each branch, so the error names
//! the branch at fault. Where nothing is needed (comparison operands), `cases` branches must
//! agree with each other. Sibling problems are all reported; a failed child makes its parent
//! fail without an extra message, so each mistake is reported once.

use serde_json::{Map, Value};

use super::{
    expr::{CmpOp, DataSource, Expr, Haystack, Ty},
    DefinitionError,
};
use crate::pathways::condition::words;

/// How deep rules may nest; far beyond what a readable rule needs, and it bounds the
/// evaluator's recursion.
pub const MAX_DEPTH: usize = 32;
/// Most entries in one list (phrases, tags, `in` values, `all` operands, `cases`).
pub const MAX_LIST: usize = 100;

/// Operator keys, each with the option keys that may sit next to it.
const OPERATORS: &[(&str, &[&str])] = &[
    ("var", &[]),
    ("citation", &[]),
    ("metadata", &[]),
    ("message_count", &[]),
    ("has_tag", &[]),
    ("ended_reason", &[]),
    ("transcript_contains", &["speaker"]),
    ("transcript_matches", &["speaker", "case_insensitive"]),
    ("exists", &[]),
    ("==", &[]),
    ("!=", &[]),
    ("<", &[]),
    ("<=", &[]),
    (">", &[]),
    (">=", &[]),
    ("in", &[]),
    ("all", &[]),
    ("any", &[]),
    ("not", &[]),
    ("cases", &["default"]),
];

/// `path.key`, or `path["key"]` for keys that are not plain words (`rule["=="]`).
pub fn key(path: &str, k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{path}.{k}")
    } else {
        format!("{path}[{}]", Value::String(k.to_owned()))
    }
}

pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub struct Checker<'a> {
    pub errors: &'a mut Vec<DefinitionError>,
}

impl Checker<'_> {
    pub fn fail<T>(&mut self, path: &str, message: impl Into<String>) -> Option<T> {
        self.report(path, message);
        None
    }

    pub fn report(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(DefinitionError::new(path, message));
    }

    /// The expression at `path`; with `want`, it must give that type (or a value read from
    /// the conversation, which is converted when the rule runs).
    pub fn expr(&mut self, v: &Value, path: &str, want: Option<Ty>, depth: usize) -> Option<Expr> {
        if depth > MAX_DEPTH {
            return self.fail(path, format!("rules nest at most {MAX_DEPTH} levels deep"));
        }
        let e = match v {
            Value::Null => {
                return self.fail(
                    path,
                    "null is not a value; test for a missing value with {\"exists\": …}",
                )
            }
            Value::Bool(b) => Expr::Bool(*b),
            Value::Number(n) => match n.as_f64().filter(|f| f.is_finite()) {
                Some(f) => Expr::Num(f),
                None => return self.fail(path, "is not a finite number"),
            },
            Value::String(s) => Expr::Str(s.clone()),
            Value::Array(_) => {
                return self.fail(path, "a list is only allowed as the second operand of `in`")
            }
            Value::Object(m) => self.operator(m, path, want, depth)?,
        };
        if let Some(want) = want {
            let got = e.ty();
            if !matches!(e, Expr::Cases { .. }) && got != Ty::Any && got != want {
                return self.fail(
                    path,
                    format!("gives a {} where a {} is needed", got.name(), want.name()),
                );
            }
        }
        Some(e)
    }

    fn operator(
        &mut self,
        m: &Map<String, Value>,
        path: &str,
        want: Option<Ty>,
        depth: usize,
    ) -> Option<Expr> {
        let found: Vec<&(&str, &[&str])> = OPERATORS
            .iter()
            .filter(|(k, _)| m.contains_key(*k))
            .collect();
        let (op, options) = match found.as_slice() {
            [one] => **one,
            [] => {
                let names: Vec<&str> = OPERATORS.iter().map(|(k, _)| *k).collect();
                return self.fail(
                    path,
                    format!(
                        "not an expression: an object needs one operator key ({})",
                        names.join(", ")
                    ),
                );
            }
            many => {
                let names: Vec<&str> = many.iter().map(|(k, _)| *k).collect();
                return self.fail(
                    path,
                    format!(
                        "has several operator keys ({}); write one per object",
                        names.join(", ")
                    ),
                );
            }
        };
        if let Some(extra) = m
            .keys()
            .find(|k| *k != op && !options.contains(&k.as_str()))
        {
            let takes = if options.is_empty() {
                String::new()
            } else {
                format!(" (it takes {})", options.join(", "))
            };
            return self.fail(
                &key(path, extra),
                format!("unknown key next to `{op}`{takes}"),
            );
        }
        let (arg, at, d) = (&m[op], key(path, op), depth + 1);
        Some(match op {
            "var" | "citation" | "metadata" => Expr::Read {
                source: match op {
                    "var" => DataSource::Variables,
                    "citation" => DataSource::Citations,
                    _ => DataSource::Metadata,
                },
                path: self.data_path(arg, &at)?,
            },
            "message_count" => Expr::MessageCount(self.speaker(arg, &at)?),
            "has_tag" => Expr::HasTag(self.names(arg, &at)?),
            "ended_reason" => Expr::EndedReason(self.names(arg, &at)?),
            "transcript_contains" => {
                let speaker = self.speaker_option(m, path)?;
                let phrases = self.strings(arg, &at)?;
                let mut out = Vec::new();
                for (i, p) in phrases.iter().enumerate() {
                    let w = words(p);
                    if w.is_empty() {
                        let at = if arg.is_array() {
                            index(&at, i)
                        } else {
                            at.clone()
                        };
                        return self.fail(&at, "has no letters or digits to match");
                    }
                    out.push(w);
                }
                Expr::TranscriptContains {
                    phrases: out,
                    speaker,
                }
            }
            "transcript_matches" => self.regex(m, arg, path, &at)?,
            "exists" => match self.expr(arg, &at, None, d)? {
                read @ Expr::Read { .. } => Expr::Exists(Box::new(read)),
                _ => return self.fail(&at, "`exists` takes a read: var, citation or metadata"),
            },
            "in" => {
                let [needle, hay] = self.pair(arg, &at)?;
                let needle = self.expr(needle, &index(&at, 0), None, d);
                let hay = self.haystack(hay, &index(&at, 1), d);
                Expr::In {
                    needle: Box::new(needle?),
                    haystack: hay?,
                }
            }
            "all" | "any" => {
                let items = self.conditions(arg, &at, d)?;
                if op == "all" {
                    Expr::All(items)
                } else {
                    Expr::Any(items)
                }
            }
            "not" => Expr::Not(Box::new(self.expr(arg, &at, Some(Ty::Boolean), d)?)),
            "cases" => self.cases(m, arg, path, want, d)?,
            cmp => self.compare(CmpOp::parse(cmp)?, arg, &at, d)?,
        })
    }

    fn compare(&mut self, op: CmpOp, arg: &Value, at: &str, d: usize) -> Option<Expr> {
        let [l, r] = self.pair(arg, at)?;
        let lhs = self.expr(l, &index(at, 0), None, d);
        let rhs = self.expr(r, &index(at, 1), None, d);
        let (lhs, rhs) = (lhs?, rhs?);
        let (a, b) = (lhs.ty(), rhs.ty());
        if a != Ty::Any && b != Ty::Any && a != b {
            return self.fail(at, format!("compares a {} with a {}", a.name(), b.name()));
        }
        if op.is_ordering() && (a == Ty::Boolean || b == Ty::Boolean) {
            return self.fail(at, "booleans have no order; compare them with == or !=");
        }
        Some(Expr::Compare {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    fn haystack(&mut self, v: &Value, at: &str, d: usize) -> Option<Haystack> {
        if let Value::Array(items) = v {
            if items.is_empty() || items.len() > MAX_LIST {
                return self.fail(at, format!("needs 1 to {MAX_LIST} values"));
            }
            let mut ok = true;
            for (i, x) in items.iter().enumerate() {
                if !matches!(x, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    self.report(&index(at, i), "must be a string, number or boolean");
                    ok = false;
                }
            }
            return ok.then(|| Haystack::Literals(items.clone()));
        }
        match self.expr(v, at, None, d)? {
            read @ Expr::Read { .. } => Some(Haystack::Read(Box::new(read))),
            _ => self.fail(
                at,
                "the second operand of `in` must be a list or a read of one",
            ),
        }
    }

    fn conditions(&mut self, arg: &Value, at: &str, d: usize) -> Option<Vec<Expr>> {
        let items = self.list(arg, at)?;
        let parsed: Vec<Option<Expr>> = items
            .iter()
            .enumerate()
            .map(|(i, x)| self.expr(x, &index(at, i), Some(Ty::Boolean), d))
            .collect();
        parsed.into_iter().collect()
    }

    fn cases(
        &mut self,
        m: &Map<String, Value>,
        arg: &Value,
        path: &str,
        want: Option<Ty>,
        d: usize,
    ) -> Option<Expr> {
        let at = key(path, "cases");
        let items = self.list(arg, &at)?;
        let mut cases = Vec::new();
        // The first branch with a known type, which the others must match when the caller
        // needs no particular type.
        let mut first: Option<(Ty, String)> = None;
        let mut ok = true;
        let mut branch = |me: &mut Self, v: &Value, at: String| -> Option<Expr> {
            let e = me.expr(v, &at, want, d)?;
            let t = e.ty();
            if want.is_none() && t != Ty::Any {
                match &first {
                    Some((f, fat)) if *f != t => {
                        let msg = format!("gives a {} where {fat} gives a {}", t.name(), f.name());
                        return me.fail(&at, msg);
                    }
                    Some(_) => {}
                    None => first = Some((t, at)),
                }
            }
            Some(e)
        };
        for (i, c) in items.iter().enumerate() {
            let at = index(&at, i);
            let Some(c) = c.as_object() else {
                self.report(&at, "must be {\"when\": …, \"then\": …}");
                ok = false;
                continue;
            };
            if let Some(extra) = c.keys().find(|k| *k != "when" && *k != "then") {
                self.report(&key(&at, extra), "unknown key (a case has when and then)");
                ok = false;
                continue;
            }
            let (Some(w), Some(t)) = (c.get("when"), c.get("then")) else {
                let missing = if c.contains_key("when") {
                    "then"
                } else {
                    "when"
                };
                self.report(&key(&at, missing), "is required");
                ok = false;
                continue;
            };
            let when = self.expr(w, &key(&at, "when"), Some(Ty::Boolean), d);
            let then = branch(self, t, key(&at, "then"));
            match (when, then) {
                (Some(w), Some(t)) => cases.push((w, t)),
                _ => ok = false,
            }
        }
        let default = match m.get("default") {
            None => None,
            Some(v) => match branch(self, v, key(path, "default")) {
                Some(e) => Some(Box::new(e)),
                None => {
                    ok = false;
                    None
                }
            },
        };
        ok.then_some(Expr::Cases { cases, default })
    }
}
