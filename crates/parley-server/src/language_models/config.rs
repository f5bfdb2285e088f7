//! Language model settings (`[language_model]`).
//!
//! No `base_url`, no model: static pathways run without one, and a turn that needs one sends
//! `fallback_reply`. The key comes from configuration, usually the environment
//! (`PARLEY_LANGUAGE_MODEL__API_KEY`) or a file (`api_key_file`), and never shows in logs,
//! `Debug` output or a serialized config.
//!
//! Config keys: `language_model.base_url`, `.api_key`, `.api_key_file`, `.model`,
//! `.timeout_ms`, `.turn_budget_ms`, `.temperature`, `.max_tokens`, `.fallback_reply`.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::config::Secret;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LanguageModelConfig {
    /// The OpenAI-compatible API root, ending in `/v1` (`…/chat/completions` is appended).
    /// Unset or empty: no model is configured.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Sent as `Authorization: Bearer <key>`; unset for servers without auth (llama.cpp,
    /// Ollama, vLLM without `--api-key`).
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// A file holding the key (read once at start), instead of `api_key`.
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// The `model` field of every request (`gpt-4o-mini`, the name vLLM serves, …).
    pub model: String,
    /// Limit (ms) for one call, connecting and reading included.
    pub timeout_ms: u64,
    /// Limit (ms) for a whole agent turn, which may make several calls. Enforced by the
    /// caller, which passes what is left of it as each call's timeout.
    pub turn_budget_ms: u64,
    /// Default sampling temperature (0 to 2).
    pub temperature: f32,
    /// Default limit on the tokens of one reply.
    pub max_tokens: u32,
    /// Sent to the user when the model fails or runs out of time.
    pub fallback_reply: String,
}

impl LanguageModelConfig {
    /// The configured base URL without a trailing `/`, or `None` when unset or blank.
    pub fn base_url(&self) -> Option<&str> {
        self.base_url
            .as_deref()
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn turn_budget(&self) -> Duration {
        Duration::from_millis(self.turn_budget_ms)
    }

    /// The key to send, if any (a blank key counts as none).
    pub fn key(&self) -> Option<&str> {
        self.api_key
            .as_ref()
            .map(Secret::expose)
            .filter(|k| !k.is_empty())
    }

    /// Reads `api_key_file`. Run once at load.
    pub fn resolve_secrets(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.api_key_file {
            let key = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("language_model.api_key_file {}: {e}", path.display())
            })?;
            self.api_key = Some(Secret::new(key.trim()));
        }
        Ok(())
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.fallback_reply.trim().is_empty(),
            "language_model.fallback_reply must not be empty"
        );
        let Some(url) = self.base_url() else {
            return Ok(());
        };
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "language_model.base_url must be an http:// or https:// URL"
        );
        anyhow::ensure!(
            !self.model.trim().is_empty(),
            "language_model.model must be set when language_model.base_url is"
        );
        anyhow::ensure!(
            self.timeout_ms >= 1,
            "language_model.timeout_ms must be at least 1"
        );
        anyhow::ensure!(
            self.turn_budget_ms >= self.timeout_ms,
            "language_model.turn_budget_ms must be at least language_model.timeout_ms"
        );
        anyhow::ensure!(
            (0.0..=2.0).contains(&self.temperature),
            "language_model.temperature must be between 0 and 2"
        );
        anyhow::ensure!(
            self.max_tokens >= 1,
            "language_model.max_tokens must be at least 1"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> LanguageModelConfig {
        crate::Config::defaults().language_model
    }

    #[test]
    fn defaults_configure_no_model_and_a_fallback_reply() {
        let c = cfg();
        assert_eq!(c.base_url(), None);
        assert!(c.validate().is_ok());
        assert!(!c.fallback_reply.is_empty());
        assert!(c.turn_budget_ms >= c.timeout_ms);
    }

    #[test]
    fn blank_base_urls_and_keys_count_as_unset() {
        let mut c = cfg();
        c.base_url = Some("  ".into());
        c.api_key = Some(Secret::new(""));
        assert_eq!(c.base_url(), None);
        assert_eq!(c.key(), None);
        c.base_url = Some("http://localhost:11434/v1/".into());
        assert_eq!(c.base_url(), Some("http://localhost:11434/v1"));
    }

    #[test]
    fn configured_models_are_checked() {
        let mut c = cfg();
        c.base_url = Some("localhost:8000/v1".into());
        assert!(c.validate().is_err());
        c.base_url = Some("http://localhost:8000/v1".into());
        assert!(c.validate().is_ok());
        for bad in [
            LanguageModelConfig {
                model: " ".into(),
                ..c.clone()
            },
            LanguageModelConfig {
                turn_budget_ms: c.timeout_ms - 1,
                ..c.clone()
            },
            LanguageModelConfig {
                temperature: 2.5,
                ..c.clone()
            },
            LanguageModelConfig {
                max_tokens: 0,
                ..c.clone()
            },
            LanguageModelConfig {
                fallback_reply: String::new(),
                ..c.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_key_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "sk-from-file\n").unwrap();
        let mut c = cfg();
        c.api_key_file = Some(path);
        c.resolve_secrets().unwrap();
        assert_eq!(c.key(), Some("sk-from-file"));
        c.api_key_file = Some(dir.path().join("missing"));
        assert!(c.resolve_secrets().is_err());
    }

    #[test]
    fn the_key_never_prints() {
        let mut c = cfg();
        c.api_key = Some(Secret::new("sk-very-secret"));
        let shown = format!("{c:?} {}", serde_json::to_string(&c).unwrap());
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("***"));
    }
}
