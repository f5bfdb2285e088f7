//! Twilio settings and credentials.
//!
//! Credentials come from configuration, never from the database: an account is
//! `[twilio.accounts.NAME]` with `account_sid` and `auth_token` (or `auth_token_file`),
//! usually given through the environment (`PARLEY_TWILIO__ACCOUNTS__NAME__AUTH_TOKEN`). A
//! token kept out of the database cannot leak through a backup or a SQL console, and rotating
//! it is a restart, not a migration. Which account a number uses: the account its
//! `carrier_account` names, else the account listing the number's org in `orgs`, else the
//! account named `default`.
//!
//! Config keys: `twilio.base_url`, `twilio.request_timeout_ms`, `twilio.connect_timeout_ms`,
//! `twilio.lookup_page_size`, `twilio.reconcile_skew_secs`, `twilio.accounts.*`.

use std::{collections::BTreeMap, path::PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::config::Secret;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TwilioConfig {
    /// Twilio's REST API root; tests point it at a mock.
    pub base_url: String,
    /// Whole-request limit for a Twilio call (ms). A call cut off here is treated as
    /// possibly sent, and looked up before it is sent again.
    pub request_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Messages read when looking for a send whose answer was lost.
    pub lookup_page_size: u32,
    /// Clock difference tolerated between Parley and Twilio when matching such a send (s).
    pub reconcile_skew_secs: i64,
    #[serde(default)]
    pub accounts: BTreeMap<String, TwilioAccount>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TwilioAccount {
    /// `AC` and 32 hex digits.
    pub account_sid: String,
    #[serde(default)]
    pub auth_token: Option<Secret>,
    /// A file holding the token (read once at start), instead of `auth_token`.
    #[serde(default)]
    pub auth_token_file: Option<PathBuf>,
    /// Orgs whose numbers use this account unless they name another.
    #[serde(default)]
    pub orgs: Vec<String>,
}

/// One resolved account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub sid: String,
    pub token: Secret,
}

impl TwilioConfig {
    /// Reads token files and checks every account. Run once at load.
    pub fn resolve_secrets(&mut self) -> anyhow::Result<()> {
        for (name, a) in &mut self.accounts {
            anyhow::ensure!(
                is_sid(&a.account_sid, "AC"),
                "twilio.accounts.{name}.account_sid must be AC followed by 32 hex digits"
            );
            if let Some(path) = &a.auth_token_file {
                let token = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!(
                        "twilio.accounts.{name}.auth_token_file {}: {e}",
                        path.display()
                    )
                })?;
                a.auth_token = Some(Secret::new(token.trim()));
            }
            anyhow::ensure!(
                a.auth_token
                    .as_ref()
                    .is_some_and(|t| !t.expose().is_empty()),
                "twilio.accounts.{name} needs auth_token or auth_token_file"
            );
        }
        Ok(())
    }

    fn account(&self, name: &str) -> Option<Account> {
        let a = self.accounts.get(name)?;
        Some(Account {
            name: name.to_owned(),
            sid: a.account_sid.clone(),
            token: a.auth_token.clone()?,
        })
    }

    /// The account a number of `org_id` sends with (see the module docs for the order).
    pub fn account_for(&self, org_id: &str, named: Option<&str>) -> Option<Account> {
        if let Some(name) = named {
            return self.account(name);
        }
        self.accounts
            .iter()
            .find(|(_, a)| a.orgs.iter().any(|o| o == org_id))
            .and_then(|(name, _)| self.account(name))
            .or_else(|| self.account("default"))
    }

    /// Every configured account with this SID (several names may share one account).
    pub fn accounts_with_sid(&self, sid: &str) -> Vec<Account> {
        self.accounts
            .iter()
            .filter(|(_, a)| a.account_sid == sid)
            .filter_map(|(name, _)| self.account(name))
            .collect()
    }
}

/// Whether `s` is a Twilio SID with this two-letter prefix (`AC`, `MG`, `HX`, `SM`…).
pub fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TwilioConfig {
        let acct = |sid: &str, orgs: &[&str]| TwilioAccount {
            account_sid: sid.into(),
            auth_token: Some(Secret::new("tok")),
            auth_token_file: None,
            orgs: orgs.iter().map(|s| s.to_string()).collect(),
        };
        TwilioConfig {
            base_url: "http://x".into(),
            request_timeout_ms: 1,
            connect_timeout_ms: 1,
            lookup_page_size: 1,
            reconcile_skew_secs: 1,
            accounts: [
                (
                    "default".to_string(),
                    acct(&format!("AC{}", "a".repeat(32)), &[]),
                ),
                (
                    "acme".to_string(),
                    acct(&format!("AC{}", "b".repeat(32)), &["org-acme"]),
                ),
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn numbers_pick_their_account_then_their_org_s_then_default() {
        let c = cfg();
        assert_eq!(c.account_for("org-x", Some("acme")).unwrap().name, "acme");
        assert_eq!(c.account_for("org-acme", None).unwrap().name, "acme");
        assert_eq!(c.account_for("org-x", None).unwrap().name, "default");
        assert_eq!(c.account_for("org-x", Some("nope")), None);
    }

    #[test]
    fn tokens_never_print() {
        let c = cfg();
        let shown = format!("{c:?} {}", serde_json::to_string(&c).unwrap());
        assert!(!shown.contains("tok\""), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn sids_are_checked() {
        assert!(is_sid(&format!("HX{}", "0f".repeat(16)), "HX"));
        assert!(!is_sid(&format!("HX{}", "0g".repeat(16)), "HX"));
        assert!(!is_sid("HX123", "HX"));
    }
}
