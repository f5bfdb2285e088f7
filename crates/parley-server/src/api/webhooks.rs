//! Customer webhook endpoints: the delivery log (spec 2.18), resend (2.19), and Parley's
//! extension for the org's signing secrets (`/v1/webhook_secrets`).

use std::collections::HashSet;

use axum::{
    extract::{Path, State},
    Json,
};
use parley_domain::{clock::iso8601_ms, webhook_signing};
use parley_store::{WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookLog};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    auth::Org,
    conversations::conversation_id,
    error::{ok, ApiError, Envelope, ErrorBody},
    extract::BlandJson,
};
use crate::app::AppState;

/// Most conversations one resend may name.
pub const MAX_RESEND: usize = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub sent_at: String,
    /// The receiver's HTTP status; null when no answer came (timeout, refused address).
    pub response_code: Option<i64>,
    /// e.g. `"142ms"`.
    pub response_time: String,
    /// `spawn` (the original delivery and its retries) or `resend`.
    pub send_type: String,
    pub error_message: Option<String>,
}

/// Parley extension: one webhook of the conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    /// The `webhook-id` header it is sent with.
    pub webhook_id: String,
    /// `message` or `status`.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: Option<String>,
    pub message_id: Option<i64>,
    pub url: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub metadata: Vec<AttemptOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookLogOut {
    pub conversation_id: String,
    pub url: String,
    /// The body exactly as posted.
    #[schema(value_type = Object)]
    pub payload: Value,
    pub created_at: String,
    /// The org that owns the conversation.
    pub user_id: String,
    /// Every attempt of this webhook, oldest first.
    pub metadata: Vec<AttemptOut>,
    /// Parley extension: `pending`, `delivered` or `failed`.
    pub state: String,
    /// Parley extension: every webhook of the conversation (message and status), oldest first.
    pub webhooks: Vec<WebhookOut>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookLogEnvelope {
    pub data: Option<WebhookLogOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

fn attempt_out(a: &WebhookAttempt) -> AttemptOut {
    AttemptOut {
        sent_at: iso8601_ms(a.sent_at),
        response_code: a.response_code,
        response_time: format!("{}ms", a.response_ms),
        send_type: a.send_type.clone(),
        error_message: a.error_message.clone(),
    }
}

fn webhook_out(e: &WebhookEvent, attempts: &[WebhookAttempt]) -> WebhookOut {
    WebhookOut {
        webhook_id: e.event_id.clone(),
        kind: e.kind.clone(),
        status: e.status.clone(),
        message_id: e.message_id,
        url: e.url.clone(),
        state: e.state.clone(),
        next_attempt_at: e
            .next_attempt_at
            .filter(|_| e.state == "pending")
            .map(iso8601_ms),
        created_at: iso8601_ms(e.created_at),
        metadata: attempts.iter().map(attempt_out).collect(),
    }
}

fn log_out(log: &WebhookLog) -> Option<WebhookLogOut> {
    let (e, attempts) = log.record()?;
    Some(WebhookLogOut {
        conversation_id: e.conversation_id.clone(),
        url: e.url.clone(),
        payload: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
        created_at: iso8601_ms(e.created_at),
        user_id: e.org_id.clone(),
        metadata: attempts.iter().map(attempt_out).collect(),
        state: e.state.clone(),
        webhooks: log.events.iter().map(|(e, a)| webhook_out(e, a)).collect(),
    })
}

#[utoipa::path(
    get, path = "/v1/sms/conversations/{id}/webhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)")),
    responses(
        (status = 200, description = "The conversation's webhook log; `data` is null when no webhook was enqueued", body = WebhookLogEnvelope),
        (status = 400, description = "`CONVERSATION_ID_REQUIRED`: a blank id", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn webhook_log(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
) -> Result<Json<Envelope<Option<WebhookLogOut>>>, ApiError> {
    let id = conversation_id(&id)?;
    let log = state
        .store
        .webhook_log(&org.id, id)
        .await?
        .ok_or_else(|| ApiError::conversation_not_found(id))?;
    Ok(ok(log_out(&log)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResendIn {
    /// Conversations whose latest status webhook to send again (1 to 100, no duplicates).
    #[schema(required = true, value_type = std::collections::BTreeSet<uuid::Uuid>, min_items = 1, max_items = 100)]
    pub conversation_ids: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct ResendEnvelope {
    pub data: Vec<WebhookLogOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    post, path = "/v1/sms/conversations/webhooks/resend", tag = "webhooks",
    request_body = ResendIn,
    responses(
        (status = 200, description = "Resent now; the updated logs (each with a `resend` attempt)", body = ResendEnvelope),
        (status = 400, description = "Missing, empty, malformed or duplicate ids", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`: a conversation has no status webhook (nothing was resent)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn resend(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<ResendIn>,
) -> Result<Json<Envelope<Vec<WebhookLogOut>>>, ApiError> {
    let ids = body
        .value
        .conversation_ids
        .ok_or_else(|| ApiError::invalid("conversation_ids is required"))?;
    if ids.is_empty() || ids.len() > MAX_RESEND {
        return Err(ApiError::invalid(format!(
            "conversation_ids must hold 1 to {MAX_RESEND} ids"
        )));
    }
    let mut seen = HashSet::new();
    for id in &ids {
        if id.trim().is_empty() {
            return Err(ApiError::invalid(
                "conversation_ids must not hold empty ids",
            ));
        }
        if !seen.insert(id.as_str()) {
            return Err(ApiError::invalid(format!(
                "conversation_ids holds {id} twice"
            )));
        }
    }
    let targets: Vec<WebhookDelivery> = match state.store.resend_targets(&org.id, &ids).await? {
        Ok(t) => t,
        Err(missing) => {
            return Err(ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "WEBHOOK_NOT_FOUND",
                format!("conversation {missing} has no status webhook to resend"),
            ))
        }
    };
    let secrets = state
        .store
        .signing_secrets(&org.id, state.clock.now_ms())
        .await?;
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        let (answer, record) = state
            .webhooks
            .post(&t, &secrets, state.clock.now_ms(), "resend")
            .await;
        state
            .store
            .record_webhook_resend(t.id, &record, answer.is_success())
            .await?;
        if let Some(log) = state.store.webhook_log(&org.id, &t.conversation_id).await? {
            out.extend(log_out(&log));
        }
    }
    Ok(ok(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSecretIn {
    /// Seconds the org's older secrets keep signing next to the new one (default 86400,
    /// at most 604800; 0 retires them at once).
    #[serde(default, deserialize_with = "crate::api::extract::whole_number")]
    #[schema(minimum = 0, maximum = 604_800)]
    pub grace_seconds: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSecretOut {
    pub id: String,
    /// The secret, shown this once: `whsec_` + base64.
    pub secret: String,
    pub created_at: String,
    /// When the secrets it replaces stop signing.
    pub previous_expire_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedSecretEnvelope {
    pub data: CreatedSecretOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    post, path = "/v1/webhook_secrets", tag = "webhooks",
    // Optional: an empty body (or none) creates a secret with the default grace period.
    request_body = Option<CreateSecretIn>,
    responses(
        (status = 200, description = "The new signing secret (shown once); older ones expire after the grace period", body = CreatedSecretEnvelope),
        (status = 400, description = "Invalid grace_seconds", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_secret(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<CreateSecretIn>,
) -> Result<Json<Envelope<CreatedSecretOut>>, ApiError> {
    let grace = body.value.grace_seconds.unwrap_or(86_400);
    if !(0..=604_800).contains(&grace) {
        return Err(ApiError::invalid(
            "grace_seconds must be between 0 and 604800",
        ));
    }
    let mut random = [0u8; 24];
    rand::thread_rng().fill(&mut random);
    let secret = webhook_signing::format_secret(&random);
    let id = uuid::Uuid::new_v4().to_string();
    let now = state.clock.now_ms();
    state
        .store
        .add_webhook_secret(&org.id, &id, &secret, grace * 1000, now)
        .await?;
    Ok(ok(CreatedSecretOut {
        id,
        secret,
        created_at: iso8601_ms(now),
        previous_expire_at: iso8601_ms(now + grace * 1000),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretOut {
    pub id: String,
    /// The first characters, to recognise it by.
    pub prefix: String,
    pub created_at: String,
    /// Null for the current secret.
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SecretsEnvelope {
    pub data: Vec<SecretOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    get, path = "/v1/webhook_secrets", tag = "webhooks",
    responses(
        (status = 200, description = "The org's secrets that still sign, newest first (never the secrets themselves)", body = SecretsEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_secrets(
    State(state): State<AppState>,
    org: Org,
) -> Result<Json<Envelope<Vec<SecretOut>>>, ApiError> {
    let rows = state
        .store
        .webhook_secrets(&org.id, state.clock.now_ms())
        .await?;
    Ok(ok(rows
        .into_iter()
        .map(|s| SecretOut {
            id: s.id,
            prefix: s.prefix,
            created_at: iso8601_ms(s.created_at),
            expires_at: s.expires_at.map(iso8601_ms),
        })
        .collect()))
}
