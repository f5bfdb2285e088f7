//! What one disposition's run leaves on the conversation (`disposition_logs[]`, spec 2.11)
//! and in the status webhook's `dispositions`, and how `disposition_tag` follows from them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Disposition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogStatus {
    Complete,
    Error,
}

/// One disposition's run. Bland's fields (`disposition_id`, `snippet_version`, `status`,
/// `result`, `error`, `exec_time`) plus Parley's `name` and `tag`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispositionLog {
    pub disposition_id: String,
    /// The definition's name in the version that ran; `None` when the id named nothing.
    pub name: Option<String>,
    /// The definition's version (1, 2, …) that ran; `None` when the id named nothing.
    pub snippet_version: Option<i64>,
    pub status: LogStatus,
    /// Every field of the definition, each of its type or `null`; `None` on `ERROR`.
    pub result: Option<Map<String, Value>>,
    /// See [`Disposition::tag`]; `None` on `ERROR`.
    pub tag: Option<String>,
    /// Milliseconds the run took, model call included.
    pub exec_time: u64,
    /// Why it failed; `None` on `COMPLETE`.
    pub error: Option<String>,
}

impl DispositionLog {
    pub fn complete(
        disposition_id: &str,
        version: i64,
        def: &Disposition,
        result: Map<String, Value>,
        exec_time: u64,
    ) -> Self {
        Self {
            disposition_id: disposition_id.to_owned(),
            name: Some(def.name.clone()),
            snippet_version: Some(version),
            status: LogStatus::Complete,
            tag: def.tag(&result),
            result: Some(result),
            exec_time,
            error: None,
        }
    }

    /// A failed run; `name` and `version` are those of the definition when one was found.
    pub fn error(
        disposition_id: &str,
        name: Option<&str>,
        version: Option<i64>,
        error: impl Into<String>,
        exec_time: u64,
    ) -> Self {
        Self {
            disposition_id: disposition_id.to_owned(),
            name: name.map(str::to_owned),
            snippet_version: version,
            status: LogStatus::Error,
            result: None,
            tag: None,
            exec_time,
            error: Some(error.into()),
        }
    }
}

/// The conversation's `disposition_tag`: the tag of the first `COMPLETE` log that has one,
/// in the order the dispositions ran. Spec 4 says only "first successful outcome result
/// tag"; a log without a tag (say, an outcome of booleans only) is passed over rather than
/// leaving the conversation untagged.
pub fn disposition_tag(logs: &[DispositionLog]) -> Option<String> {
    logs.iter()
        .filter(|l| l.status == LogStatus::Complete)
        .find_map(|l| l.tag.clone())
}
