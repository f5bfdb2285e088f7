//! A number's messaging configuration for one channel (Bland's `sms_config`,
//! `whatsapp_config`, iMessage config) and the merge rules of its update endpoint.
//!
//! Every field is optional in storage: `None` means "not set", and the defaults Bland
//! documents (`objective`, `temperature`, `tools`, `request_data`,
//! `restart_after_end_call`) are applied when the config is read, not written. That keeps
//! "explicit `null` clears" honest: clearing a field with a default brings the default back
//! instead of freezing today's default into the row.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::timeouts::{TimeoutError, TimeoutSettings};

/// What `objective` is when nobody set it (Bland's documented default).
pub const DEFAULT_OBJECTIVE: &str = "Chat with the user";

/// One field of a partial update: absent keeps the stored value, `null` clears it, a value
/// replaces it. Deserializes that way when the field is marked `#[serde(default)]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Patch<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// Applies the change to a stored optional value.
    pub fn apply_to(self, slot: &mut Option<T>) {
        match self {
            Patch::Absent => {}
            Patch::Null => *slot = None,
            Patch::Value(v) => *slot = Some(v),
        }
    }

    /// Converts the value, keeping absent and null as they are.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(f(v)),
        }
    }

    /// Converts the value, keeping absent and null as they are, or fails.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(v) => Patch::Value(f(v)?),
        })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(d)?.map_or(Patch::Null, Patch::Value))
    }
}

/// Declares the stored config and its patch from one field list, so a field cannot be
/// added to one and forgotten in the other.
macro_rules! number_config {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct NumberConfig {
            $($(#[$doc])* pub $field: Option<$ty>,)*
        }

        /// A partial update of a [`NumberConfig`].
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct NumberConfigPatch {
            $(pub $field: Patch<$ty>,)*
        }

        impl NumberConfig {
            /// Merges `patch` over this config (absent keeps, null clears, value replaces).
            pub fn apply(&mut self, patch: NumberConfigPatch) {
                $(patch.$field.apply_to(&mut self.$field);)*
            }
        }

        impl NumberConfigPatch {
            pub fn is_empty(&self) -> bool {
                true $(&& self.$field.is_absent())*
            }
        }
    };
}

number_config! {
    /// URL receiving message and status webhooks.
    webhook: String,
    /// Variables available to the agent: an object, or Bland's default empty array.
    request_data: Value,
    /// Seconds of user silence before the timeout flow; `None` = never.
    time_out: i64,
    /// What happens at timeout, e.g. `send_sms` (send `timeout_message`).
    timeout_action: String,
    timeout_message: String,
    /// Seconds before the warning; must be below `time_out`.
    warning_time: i64,
    warning_message: String,
    /// Twilio Messaging Service SID (`MG…`), for A2P / bring-your-own numbers.
    messaging_service_sid: String,
    /// System prompt when no pathway is used.
    objective: String,
    tools: Vec<Value>,
    temperature: f64,
    pathway_id: String,
    pathway_version: String,
    start_node_id: String,
    /// Whether a text after the conversation ended opens a new one.
    restart_after_end_call: bool,
    /// IANA zone for time variables.
    timezone: String,
    summary_prompt: String,
    disposition_ids: Vec<String>,
    citation_schema_ids: Vec<String>,
    /// Legacy (`/v1/sms/update`): messages containing one of these get no AI reply.
    ignore_keywords: Vec<String>,
    /// Parley: the answer to a message that is only HELP (or INFO, AYUDA, AIDE, AJUDA). Sent
    /// even to a user who opted out, without an agent turn. Unset: HELP is an ordinary
    /// message (and a carrier's own HELP handling, such as Twilio's, answers it).
    help_message: String,
}

impl NumberConfig {
    /// The number's layer of the timeout precedence (request > conversation > number).
    pub fn timeouts(&self) -> TimeoutSettings {
        TimeoutSettings {
            time_out: self.time_out,
            timeout_message: self.timeout_message.clone(),
            warning_time: self.warning_time,
            warning_message: self.warning_message.clone(),
        }
    }

    /// The rule Bland enforces on number updates: a warning strictly before the timeout.
    pub fn validate(&self) -> Result<(), TimeoutError> {
        self.timeouts().validate()
    }

    pub fn objective_or_default(&self) -> &str {
        self.objective.as_deref().unwrap_or(DEFAULT_OBJECTIVE)
    }

    pub fn temperature_or_default(&self) -> f64 {
        self.temperature.unwrap_or(0.0)
    }

    pub fn tools_or_default(&self) -> Vec<Value> {
        self.tools.clone().unwrap_or_default()
    }

    /// Bland documents the default as an empty array, although set values are objects.
    pub fn request_data_or_default(&self) -> Value {
        self.request_data
            .clone()
            .unwrap_or_else(|| Value::Array(Vec::new()))
    }

    pub fn restart_after_end_call_or_default(&self) -> bool {
        self.restart_after_end_call.unwrap_or(true)
    }

    /// Whether `text` contains one of `ignore_keywords`, ignoring case (legacy 2.8: the AI
    /// does not answer such messages). A substring match, as Bland words it ("messages
    /// containing them"), so `stop` also matches `unstoppable`.
    pub fn ignores(&self, text: &str) -> bool {
        let Some(words) = &self.ignore_keywords else {
            return false;
        };
        let text = text.to_lowercase();
        words
            .iter()
            .map(|w| w.trim().to_lowercase())
            .any(|w| !w.is_empty() && text.contains(&w))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        webhook: Patch<String>,
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let absent: Body = serde_json::from_value(json!({})).unwrap();
        let null: Body = serde_json::from_value(json!({"webhook": null})).unwrap();
        let set: Body = serde_json::from_value(json!({"webhook": "https://x"})).unwrap();
        assert_eq!(absent.webhook, Patch::Absent);
        assert_eq!(null.webhook, Patch::Null);
        assert_eq!(set.webhook, Patch::Value("https://x".into()));
    }

    #[test]
    fn merge_keeps_absent_clears_null_replaces_values() {
        let mut c = NumberConfig {
            webhook: Some("https://a".into()),
            objective: Some("Sell".into()),
            time_out: Some(60),
            ..Default::default()
        };
        c.apply(NumberConfigPatch {
            objective: Patch::Null,
            time_out: Patch::Value(120),
            ..Default::default()
        });
        assert_eq!(c.webhook.as_deref(), Some("https://a"));
        assert_eq!(c.objective, None);
        assert_eq!(c.objective_or_default(), DEFAULT_OBJECTIVE);
        assert_eq!(c.time_out, Some(120));
    }

    #[test]
    fn defaults_are_bland_s() {
        let c = NumberConfig::default();
        assert_eq!(c.temperature_or_default(), 0.0);
        assert_eq!(c.request_data_or_default(), json!([]));
        assert!(c.tools_or_default().is_empty());
        assert!(c.restart_after_end_call_or_default());
        assert!(NumberConfigPatch::default().is_empty());
    }

    #[test]
    fn ignore_keywords_match_anywhere_ignoring_case() {
        let c = NumberConfig {
            ignore_keywords: Some(vec!["Refund".into(), " ".into()]),
            ..Default::default()
        };
        assert!(c.ignores("I want a REFUND now"));
        assert!(c.ignores("refunds?"));
        assert!(!c.ignores("thanks"), "a blank keyword matches nothing");
        assert!(!NumberConfig::default().ignores("refund"));
    }

    #[test]
    fn stored_json_survives_unknown_and_missing_keys() {
        let c: NumberConfig =
            serde_json::from_value(json!({"webhook": "https://a", "future_field": 1})).unwrap();
        assert_eq!(c.webhook.as_deref(), Some("https://a"));
        assert_eq!(c.time_out, None);
    }

    #[test]
    fn warning_must_precede_timeout() {
        let c = NumberConfig {
            time_out: Some(60),
            warning_time: Some(60),
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
