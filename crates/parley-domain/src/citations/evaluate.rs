//! Running one schema over one conversation, as a state machine that stops wherever a
//! language model's answer is needed:
//!
//! ```text
//! let mut x = Extraction::start(&schema, &record);   // deterministic sources resolved
//! while !x.pending().is_empty() {
//!     match ask_model(x.pending()) { Ok(answer) => x.supply(&answer, &record),
//!                                    Err(_) => { x.skip_pending(&record); } }
//! }
//! let (values, citations) = x.into_parts();
//! ```
//!
//! Rounds: first the top-level variables; then, whenever nothing is pending, every
//! condition not yet applied that holds over the values so far brings in its variables.
//! Each condition is applied at most once, so this ends.
//!
//! Sources: a pathway variable is read from the record's `variables`; a regex reads the
//! chosen speaker's messages and the **last** match whose group coerces to the type wins (an
//! `array` variable collects every match, in order). A value that does not coerce is left
//! out. Values of model-extracted variables are cited by the last message containing them
//! (user messages first); a value found in no message has no citation.

use serde_json::{Map, Value};

use super::{coerce, Citation, CitationSchema, Source, SpeakerFilter, VarType, Variable};
use crate::conversation_record::{ConversationRecord, Speaker, TranscriptLine};

/// Confidence of a value read by a regex source from the cited message.
pub const SOURCE_CONFIDENCE: f64 = 1.0;
/// Confidence of a model's value found in the cited message. The model reports none, so
/// this is a fixed figure: lower than a deterministic match, high because the text is there.
pub const MODEL_CONFIDENCE: f64 = 0.8;

#[derive(Debug)]
pub struct Extraction<'s> {
    schema: &'s CitationSchema,
    values: Map<String, Value>,
    citations: Vec<Citation>,
    /// Per condition: whether its variables were taken in.
    applied: Vec<bool>,
    pending: Vec<&'s Variable>,
}

impl<'s> Extraction<'s> {
    /// Resolves every deterministic source it can reach without a model.
    pub fn start(schema: &'s CitationSchema, record: &ConversationRecord) -> Self {
        let mut x = Self {
            schema,
            values: Map::new(),
            citations: Vec::new(),
            applied: vec![false; schema.conditions.len()],
            pending: Vec::new(),
        };
        x.take(&schema.variables, record);
        x.advance(record);
        x
    }

    /// Extracts what it can without a model; returns the values, their citations, and the
    /// names of the variables left out because they need one.
    pub fn without_model(
        schema: &'s CitationSchema,
        record: &ConversationRecord,
    ) -> (Map<String, Value>, Vec<Citation>, Vec<String>) {
        let mut x = Self::start(schema, record);
        let mut skipped = Vec::new();
        while !x.pending.is_empty() {
            skipped.extend(x.skip_pending(record));
        }
        let (values, citations) = x.into_parts();
        (values, citations, skipped)
    }

    /// The variables waiting for a model's answer; empty when extraction is done.
    pub fn pending(&self) -> &[&'s Variable] {
        &self.pending
    }

    /// The values extracted so far.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Takes the model's answer for the pending variables (other keys are ignored, values
    /// that do not coerce are left out), then goes on with the conditions that now hold.
    pub fn supply(&mut self, answer: &Map<String, Value>, record: &ConversationRecord) {
        for var in std::mem::take(&mut self.pending) {
            let Some(value) = answer.get(&var.name).and_then(|v| coerce(v, &var.var_type)) else {
                continue;
            };
            if let Some(line) = locate(record, &value) {
                self.citations.push(cite(var, line, MODEL_CONFIDENCE));
            }
            self.values.insert(var.name.clone(), value);
        }
        self.advance(record);
    }

    /// Gives up on the pending variables (no model, or it failed) and goes on with what
    /// holds without them. Returns their names.
    pub fn skip_pending(&mut self, record: &ConversationRecord) -> Vec<String> {
        let names = self.pending.drain(..).map(|v| v.name.clone()).collect();
        self.advance(record);
        names
    }

    pub fn into_parts(self) -> (Map<String, Value>, Vec<Citation>) {
        (self.values, self.citations)
    }

    /// Resolves the deterministic variables of `vars`; the others become pending.
    fn take(&mut self, vars: &'s [Variable], record: &ConversationRecord) {
        for var in vars {
            let Some(source) = &var.source else {
                self.pending.push(var);
                continue;
            };
            if let Some((value, line)) = resolve(var, source, record) {
                if let Some(line) = line {
                    self.citations.push(cite(var, line, SOURCE_CONFIDENCE));
                }
                self.values.insert(var.name.clone(), value);
            }
        }
    }

    /// While nothing is pending, applies the conditions that hold and were not applied.
    fn advance(&mut self, record: &ConversationRecord) {
        let schema = self.schema;
        while self.pending.is_empty() {
            let ready: Vec<usize> = (0..schema.conditions.len())
                .filter(|&i| !self.applied[i] && schema.conditions[i].holds(&self.values))
                .collect();
            if ready.is_empty() {
                return;
            }
            for i in ready {
                self.applied[i] = true;
                self.take(&schema.conditions[i].variables, record);
            }
        }
    }
}

fn cite(var: &Variable, line: &TranscriptLine, confidence: f64) -> Citation {
    Citation {
        variable: var.name.clone(),
        message: line.text.clone(),
        message_id: line.message_id,
        confidence,
    }
}

/// A deterministic source's value, with the message it was read from when there is one.
fn resolve<'r>(
    var: &Variable,
    source: &Source,
    record: &'r ConversationRecord,
) -> Option<(Value, Option<&'r TranscriptLine>)> {
    match source {
        Source::Variable(name) => {
            let v = record.variables.get(name)?;
            Some((coerce(v, &var.var_type)?, None))
        }
        Source::Regex {
            regex,
            group,
            speaker,
        } => {
            let lines = record
                .transcript
                .iter()
                .filter(|l| speaks(*speaker, l.speaker));
            let matches_in = |l: &'r TranscriptLine| {
                regex
                    .captures_iter(&l.text)
                    .filter_map(|c| c.get(*group).map(|m| Value::String(m.as_str().to_owned())))
                    .collect::<Vec<_>>()
            };
            if var.var_type == VarType::Array {
                let mut items = Vec::new();
                let mut last = None;
                for l in lines {
                    let found = matches_in(l);
                    if found.iter().any(|m| coerce(m, &VarType::String).is_some()) {
                        last = Some(l);
                    }
                    items.extend(found);
                }
                return Some((coerce(&Value::Array(items), &VarType::Array)?, last));
            }
            lines.rev().find_map(|l| {
                matches_in(l)
                    .iter()
                    .rev()
                    .find_map(|m| coerce(m, &var.var_type))
                    .map(|v| (v, Some(l)))
            })
        }
    }
}

fn speaks(filter: SpeakerFilter, speaker: Speaker) -> bool {
    match filter {
        SpeakerFilter::Any => true,
        SpeakerFilter::User => speaker == Speaker::User,
        SpeakerFilter::Agent => speaker != Speaker::User,
    }
}

/// The last message whose text contains the value (user messages first), for a model's
/// answer. Booleans are found in no message: their evidence is not a substring.
fn locate<'r>(record: &'r ConversationRecord, value: &Value) -> Option<&'r TranscriptLine> {
    let needles: Vec<String> = match value {
        Value::String(s) => vec![s.to_lowercase()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect(),
        _ => return None,
    };
    let has = |l: &&TranscriptLine| {
        let text = l.text.to_lowercase();
        needles
            .iter()
            .any(|n| !n.is_empty() && text.contains(n.as_str()))
    };
    let t = &record.transcript;
    t.iter()
        .rev()
        .filter(|l| l.speaker == Speaker::User)
        .find(has)
        .or_else(|| t.iter().rev().find(has))
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
