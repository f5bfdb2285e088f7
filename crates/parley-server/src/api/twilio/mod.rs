//! Twilio's callbacks: `POST /v1/carriers/twilio/inbound` (a user's SMS or WhatsApp message)
//! and `POST /v1/carriers/twilio/status` (an outbound message's status).
//!
//! Neither carries an API key. Each is trusted only when its `X-Twilio-Signature` verifies
//! with the auth token of the account its `AccountSid` names, over the URL Twilio requested:
//! `public_base_url` plus the path and query, or the request's own `Host` (with
//! `X-Forwarded-Host` / `X-Forwarded-Proto` when a proxy set them), each with and without
//! the port. Anything else is refused with 403 before a single write. The legacy
//! HMAC-SHA1 scheme is the one Twilio's messaging webhooks use; a request announcing another
//! algorithm (`X-Twilio-Webhooks-Signature-Settings`) is refused.

pub mod inbound;
pub mod status;

use axum::http::{HeaderMap, StatusCode, Uri};

use super::error::ApiError;
use crate::{
    app::AppState,
    carriers::twilio::{config::Account, signature},
};

/// A callback whose signature verified.
pub struct Signed {
    pub params: Vec<(String, String)>,
    pub account: Account,
}

impl Signed {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("{name} is required")))
    }

    /// Refuses a callback about a number (or message) that `account` does not serve: a
    /// valid signature from one account must not touch another account's numbers.
    pub fn check_serves(
        &self,
        state: &AppState,
        org_id: &str,
        named: Option<&str>,
    ) -> Result<(), ApiError> {
        let serving = state.config.twilio.account_for(org_id, named);
        if serving.is_some_and(|a| a.sid == self.account.sid) {
            Ok(())
        } else {
            metrics::counter!("parley_twilio_callbacks_refused_total", "reason" => "account")
                .increment(1);
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "ACCOUNT_MISMATCH",
                "the signing Twilio account does not serve this number",
            ))
        }
    }
}

/// Parses a form-encoded callback and verifies its signature.
pub fn verify(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<Signed, ApiError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let refuse = |why: &'static str| {
        metrics::counter!("parley_twilio_callbacks_refused_total", "reason" => why).increment(1);
        tracing::warn!(reason = why, "refused a Twilio callback");
        ApiError::invalid_signature()
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-twilio-webhooks-signature-settings")
        .is_some_and(|s| !s.to_ascii_uppercase().contains("HMAC_SHA1") && !s.trim().is_empty())
    {
        return Err(refuse("algorithm"));
    }
    let signature = header("x-twilio-signature").ok_or_else(|| refuse("missing"))?;
    let account_sid = params
        .iter()
        .find(|(k, _)| k == "AccountSid")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| refuse("no_account"))?;
    let urls = candidate_urls(state, headers, uri);
    for account in state.config.twilio.accounts_with_sid(account_sid) {
        let token = account.token.expose();
        if urls
            .iter()
            .any(|u| signature::validate(token, u, &params, signature))
        {
            return Ok(Signed { params, account });
        }
    }
    Err(refuse("signature"))
}

/// The URLs Twilio may have requested for this path and query.
fn candidate_urls(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Vec<String> {
    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut urls = Vec::new();
    if let Some(base) = state
        .config
        .public_base_url
        .as_deref()
        .filter(|b| !b.is_empty())
    {
        urls.push(format!("{}{pq}", base.trim_end_matches('/')));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(host) = header("x-forwarded-host").or_else(|| header("host")) {
        let host = host.split(',').next().unwrap_or(host).trim();
        match header("x-forwarded-proto") {
            Some(proto) => urls.push(format!(
                "{}://{host}{pq}",
                proto.split(',').next().unwrap_or(proto).trim()
            )),
            // Without the header a TLS-terminating proxy looks like plain HTTP; the HMAC
            // still has to match, so trying both schemes trusts nothing more.
            None => {
                urls.push(format!("https://{host}{pq}"));
                urls.push(format!("http://{host}{pq}"));
            }
        }
    }
    urls
}

/// The Parley message id a status callback URL carries (`?message_id=`).
pub fn message_id_param(uri: &Uri) -> Option<i64> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == "message_id")
        .and_then(|(_, v)| v.parse().ok())
}
