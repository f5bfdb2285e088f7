//! Request extractors that answer bad input in Bland's envelope with the field named.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::app::AppState;

/// A JSON body: not JSON → `INVALID_JSON`; wrong field type → `INVALID_PARAMETER` with the
/// field's path. Also keeps the parsed value, which idempotency hashes.
pub struct BlandJson<T> {
    pub value: T,
    pub raw: serde_json::Value,
}

impl<T: DeserializeOwned> FromRequest<AppState> for BlandJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config.http.max_body_bytes;
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(limit)
            } else {
                ApiError::invalid_json(format!("could not read request body: {e}"))
            }
        })?;
        let raw: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::invalid_json(format!("request body is not valid JSON: {e}"))
            })?
        };
        if !raw.is_object() {
            return Err(ApiError::invalid_json("request body must be a JSON object"));
        }
        let value = serde_path_to_error::deserialize(&raw).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path == "." {
                ApiError::invalid(inner)
            } else {
                ApiError::invalid(format!("{path}: {inner}"))
            }
        })?;
        Ok(Self { value, raw })
    }
}

/// Query parameters, with the same error shape.
pub struct BlandQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for BlandQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(BlandQuery)
            .map_err(|e| ApiError::invalid(format!("query {}: {}", e.path(), e.inner())))
    }
}

/// Returns a field's value unless it is JSON `null`, which Bland clients send for "unset".
pub fn present<'a>(raw: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
    raw.get(field).filter(|v| !v.is_null())
}
