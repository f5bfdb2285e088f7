//! The one error type at the HTTP edge, in Bland's envelope:
//! `{"data": null, "errors": [{"error": "CODE", "message": "..."}]}`.
//!
//! Codes are stable and listed in `docs/API.md`. Internal failures are logged with their
//! cause and answered with an opaque message.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use parley_store::StoreError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (seconds) when set.
    pub retry_after_secs: Option<u64>,
    /// Bland's optional `details` object next to `error` and `message`: machine-readable
    /// context such as every pathway validation issue, or the numbers using a persona.
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
            details: None,
        }
    }

    /// Adds Bland's `details` object to the error item.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The sender's queue is too long to take more now; `retry_after_secs` says when it will
    /// have room.
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", message)
        }
    }

    /// A free-form WhatsApp message outside the user's 24-hour window.
    pub fn whatsapp_template_required() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            parley_domain::whatsapp::TEMPLATE_REQUIRED,
            "the user has not written to this WhatsApp sender in the last 24 hours: only a template \
             (content_sid) may be sent",
        )
    }

    /// A carrier webhook whose signature does not verify.
    pub fn invalid_signature() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "INVALID_SIGNATURE",
            "missing or invalid webhook signature",
        )
    }

    /// The user opted out of the sending number (STOP, or the carrier's opt-out signal).
    pub fn recipient_opted_out(user: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "RECIPIENT_OPTED_OUT",
            format!("user_number {user} opted out of messages from this number; nothing was sent"),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AUTH_FAILURE", "Unauthorized")
    }

    /// A field is missing, has the wrong type, or breaks a rule. The message names it.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_PARAMETER", message)
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_JSON", message)
    }

    pub fn invalid_timeout(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_TIMEOUT_CONFIG", message)
    }

    pub fn agent_number_not_found(number: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "AGENT_NUMBER_NOT_FOUND",
            format!("agent_number {number} not found or not configured for SMS"),
        )
    }

    /// A number field (`phone_number`, `from`, …) names no number of the caller's org. The
    /// answer is the same whether the number exists in another org or nowhere.
    pub fn number_not_found(field: &str, number: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "AGENT_NUMBER_NOT_FOUND",
            format!("{field} {number} is not one of your numbers"),
        )
    }

    pub fn conversation_id_required() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "CONVERSATION_ID_REQUIRED",
            "a conversation id is required in the path",
        )
    }

    /// Reactivating a conversation whose pair already has another active one.
    pub fn active_conversation_exists(active_id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ACTIVE_CONVERSATION_EXISTS",
            format!(
                "conversation {active_id} between these numbers is active; close it before reactivating this one"
            ),
        )
    }

    pub fn conversation_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "CONVERSATION_NOT_FOUND",
            format!("conversation {id} not found"),
        )
    }

    /// `handoff` on a conversation that is no longer active.
    pub fn conversation_ended(id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "CONVERSATION_ENDED",
            format!("conversation {id} has ended; there is nothing to hand off"),
        )
    }

    /// `resume` on a conversation that is not handed off.
    pub fn conversation_not_handed_off(id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "CONVERSATION_NOT_HANDED_OFF",
            format!("conversation {id} is not handed off; there is nothing to resume"),
        )
    }

    pub fn no_reply_source() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NO_REPLY_SOURCE",
            "agent_message is required: no pathway, persona or prompt reply engine is configured on this server",
        )
    }

    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "idempotency-key was already used with a different request body",
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "method not allowed on this route",
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("request body exceeds {limit} bytes"),
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "the database is unavailable; retry later",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "internal server error",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_retryable() {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::unavailable()
        } else {
            tracing::error!(error = %e, "store error");
            ApiError::internal()
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorItem {
    /// Stable machine code, e.g. `INVALID_PARAMETER`.
    pub error: String,
    /// Human-readable detail naming the field at fault.
    pub message: String,
    /// Machine-readable context, for the codes documented to carry it (`INVALID_PATHWAY`,
    /// `MODEL_REQUIRED`, `PERSONA_IN_USE`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// Bland's error envelope.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    #[schema(value_type = Option<Object>)]
    pub data: Option<()>,
    pub errors: Vec<ErrorItem>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            data: None,
            errors: vec![ErrorItem {
                error: self.code.to_owned(),
                message: self.message,
                details: self.details,
            }],
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

/// Bland's success envelope: `{"data": ..., "errors": null}`.
#[derive(serde::Serialize)]
pub struct Envelope<T> {
    pub data: T,
    pub errors: Option<()>,
}

pub fn ok<T: serde::Serialize>(data: T) -> Json<Envelope<T>> {
    Json(Envelope { data, errors: None })
}
