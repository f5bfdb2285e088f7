//! HTTP for pathway `Webhook` nodes: the customer's URL, method, headers and body, guarded
//! like customer webhooks (no internal addresses unless `webhooks.allowed_networks` allows
//! them, checked again at connect time; no redirects), and bounded by the node's
//! `timeoutValue` and what is left of the turn's budget.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use parley_domain::pathways::{WebhookRequest, WebhookResponse};
use reqwest::header::{CONTENT_TYPE, USER_AGENT};
use serde_json::Value;

use crate::{
    config::WebhooksConfig,
    webhooks::guard::{Guard, GuardedResolver},
};

/// Most of a response body kept for `responseData` mapping; the rest is not read.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

pub(crate) struct NodeWebhooks {
    http: reqwest::Client,
    guard: Arc<Guard>,
}

impl NodeWebhooks {
    pub(crate) fn new(cfg: &WebhooksConfig) -> anyhow::Result<Self> {
        let guard = Arc::new(Guard::new(&cfg.allowed_networks));
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.timeout_ms))
            // A redirect could lead anywhere, including inside the network.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
            .build()?;
        Ok(Self { http, guard })
    }

    /// Sends the node's request. Every failure (refused URL, timeout, connection) is a
    /// [`WebhookResponse::Failed`] for the engine to route on, never an error.
    pub(crate) async fn call(&self, req: &WebhookRequest, deadline: Instant) -> WebhookResponse {
        let failed = |reason: String| WebhookResponse::Failed { reason };
        let url = match reqwest::Url::parse(req.url.trim()) {
            Ok(u) => u,
            Err(e) => return failed(format!("invalid URL: {e}")),
        };
        if let Err(e) = self.guard.check_url(&url).await {
            return failed(format!("refused: {e}"));
        }
        let Ok(method) = reqwest::Method::from_bytes(req.method.as_bytes()) else {
            return failed(format!("invalid method {:?}", req.method));
        };
        let timeout = Duration::from_millis(req.timeout_ms)
            .min(deadline.saturating_duration_since(Instant::now()));
        if timeout.is_zero() {
            return failed("timeout: the turn's time budget is spent".into());
        }
        let mut builder = self.http.request(method, url).timeout(timeout).header(
            USER_AGENT,
            concat!("Parley-Pathways/", env!("CARGO_PKG_VERSION")),
        );
        let mut has_content_type = false;
        for (k, v) in &req.headers {
            has_content_type |= k.eq_ignore_ascii_case("content-type");
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &req.body {
            let json_like = matches!(body.trim_start().chars().next(), Some('{' | '['));
            if json_like && !has_content_type {
                builder = builder.header(CONTENT_TYPE, "application/json");
            }
            builder = builder.body(body.clone());
        }
        let mut res = match builder.send().await {
            Ok(r) => r,
            Err(e) => return failed(describe(&e)),
        };
        let status = res.status().as_u16();
        let mut bytes = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_RESPONSE_BYTES - bytes.len();
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if bytes.len() >= MAX_RESPONSE_BYTES {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => return failed(describe(&e)),
            }
        }
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        WebhookResponse::Response { status, body }
    }
}

/// A transport error in a few words (no URL: it may carry a customer's token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_builder() {
        "invalid request: a header or the URL is malformed".into()
    } else if e.is_connect() {
        "connection failed (or the address is not permitted)".into()
    } else {
        "request failed".into()
    }
}
