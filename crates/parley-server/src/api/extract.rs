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
        // Only a body of no bytes at all is "no body" (every field absent). Whitespace is
        // not JSON: schemathesis sent "\n" where a body was required and it was accepted.
        let raw: serde_json::Value = if bytes.is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::invalid_json(format!("request body is not valid JSON: {e}"))
            })?
        };
        if !raw.is_object() {
            return Err(ApiError::invalid_json("request body must be a JSON object"));
        }
        if let Some(path) = nul_path(&raw) {
            return Err(ApiError::invalid(format!(
                "{path} must not contain NUL characters"
            )));
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
        if let Some((k, _)) =
            form_urlencoded::parse(q.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(ApiError::invalid(format!(
                "query {k} must not contain NUL characters"
            )));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(BlandQuery)
            .map_err(|e| ApiError::invalid(format!("query {}: {}", e.path(), e.inner())))
    }
}

/// An optional whole number sent as a JSON integer or as a float with no fraction (`5.0`):
/// JSON Schema's `integer`, which the document promises, admits both, and JavaScript
/// clients, whose numbers are all floats, may send either.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        // 2^63 as f64 is exactly i64::MAX + 1, so the range check is strict there.
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 => {
            Ok(Some(f as i64))
        }
        _ => Err(serde::de::Error::custom(format!(
            "expected a whole number, got {n}"
        ))),
    }
}

/// Returns a field's value unless it is JSON `null`, which Bland clients send for "unset".
pub fn present<'a>(raw: &'a serde_json::Value, field: &str) -> Option<&'a serde_json::Value> {
    raw.get(field).filter(|v| !v.is_null())
}

/// Where a NUL character sits in a JSON value (`request_data.name`, `tags[2]`), if anywhere.
/// PostgreSQL can store neither NUL in text nor `\u0000` in JSON, so such input would fail
/// deep in the database; it is refused at the edge instead, on both backends alike.
pub fn nul_path(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    /// The path below `v`; empty when `v` itself holds the NUL.
    fn walk(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => s.contains('\0').then(String::new),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x).map(|rest| format!("[{i}]{}", join(&rest)))),
            Value::Object(m) => m.iter().find_map(|(k, x)| {
                if k.contains('\0') {
                    return Some(k.replace('\0', "\\0"));
                }
                walk(x).map(|rest| format!("{k}{}", join(&rest)))
            }),
            _ => None,
        }
    }
    fn join(rest: &str) -> String {
        if rest.is_empty() || rest.starts_with('[') {
            rest.to_owned()
        } else {
            format!(".{rest}")
        }
    }
    walk(v).map(|p| if p.is_empty() { "value".into() } else { p })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::nul_path;

    #[test]
    fn nul_characters_are_located() {
        assert_eq!(
            nul_path(&json!({"a": "ok", "b": [1, {"c": "x\0"}]})).as_deref(),
            Some("b[1].c")
        );
        assert_eq!(
            nul_path(&json!({"tags": ["a", "\0"]})).as_deref(),
            Some("tags[1]")
        );
        assert_eq!(nul_path(&json!("\0")).as_deref(), Some("value"));
        assert_eq!(nul_path(&json!({"a": {"b": 1}})), None);
    }
}
