//! The `cursor` parameter of `GET /v1/sms/conversations` (a Parley extension): an opaque
//! token naming the last row of a page, from which the next page is read with one index
//! seek however deep it is.
//!
//! The token is base64url (no padding) of a small JSON object holding the sort it was
//! issued for, a fingerprint of the filters, the row's sort value and its id. It is not
//! secret and not signed: a client that edits one only moves its own position in its own
//! org's rows. What it must not do is silently mean something else, so a token that does
//! not decode, or was issued for another `sortBy`, `sortDir` or `filters`, is
//! `400 INVALID_CURSOR`.

use axum::http::StatusCode;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use parley_store::{Filter, ListCursor, SortField, SortValue};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api::error::ApiError;

/// Bumped if the token's layout changes; older tokens are then refused, not misread.
const VERSION: i64 = 1;
/// Tokens are a few hundred bytes; anything much longer is not one of ours.
const MAX_LEN: usize = 2048;

/// What a token must agree with: the request's sort and filters.
pub struct CursorScope<'a> {
    pub sort: SortField,
    pub descending: bool,
    pub filters: &'a [Filter],
}

impl CursorScope<'_> {
    pub fn encode(&self, cursor: &ListCursor) -> String {
        let value = match &cursor.value {
            SortValue::Null => Value::Null,
            SortValue::Int(i) => json!(i),
            SortValue::Text(s) => json!(s),
        };
        let token = json!({
            "v": VERSION,
            "s": self.sort.api_name(),
            "d": if self.descending { "desc" } else { "asc" },
            "f": self.fingerprint(),
            "k": value,
            "i": cursor.id,
        });
        URL_SAFE_NO_PAD.encode(token.to_string())
    }

    pub fn decode(&self, token: &str) -> Result<ListCursor, ApiError> {
        let garbage = || invalid("cursor is not a cursor this server issued (it does not decode)");
        if token.len() > MAX_LEN {
            return Err(garbage());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| garbage())?;
        let Ok(Value::Object(t)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(garbage());
        };
        if t.get("v").and_then(Value::as_i64) != Some(VERSION) {
            return Err(invalid(
                "cursor was issued by another version of this API; start again from page 1",
            ));
        }
        let dir = if self.descending { "desc" } else { "asc" };
        if t.get("s").and_then(Value::as_str) != Some(self.sort.api_name())
            || t.get("d").and_then(Value::as_str) != Some(dir)
        {
            return Err(invalid(format!(
                "cursor was issued for another sort; send it with the sortBy and sortDir of the \
                 request that returned it (this request: {} {dir})",
                self.sort.api_name()
            )));
        }
        if t.get("f").and_then(Value::as_str) != Some(self.fingerprint().as_str()) {
            return Err(invalid(
                "cursor was issued for other filters; send it with the filters of the request \
                 that returned it",
            ));
        }
        let value = match t.get("k") {
            Some(Value::Null) => SortValue::Null,
            Some(Value::Number(n)) => SortValue::Int(n.as_i64().ok_or_else(garbage)?),
            Some(Value::String(s)) => SortValue::Text(s.clone()),
            _ => return Err(garbage()),
        };
        let id = match t.get("i") {
            Some(Value::String(s)) if !s.is_empty() && !s.contains('\0') => s.clone(),
            _ => return Err(garbage()),
        };
        if !self.sort.admits(&value) || value_has_nul(&value) {
            return Err(garbage());
        }
        Ok(ListCursor { value, id })
    }

    /// Identifies the filters: the parsed form, so spacing or key order in the JSON the
    /// client sent does not matter, only what the filters mean.
    fn fingerprint(&self) -> String {
        let digest = Sha256::digest(format!("{:?}", self.filters).as_bytes());
        hex::encode(&digest[..8])
    }
}

fn value_has_nul(v: &SortValue) -> bool {
    matches!(v, SortValue::Text(s) if s.contains('\0'))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_CURSOR", message)
}

#[cfg(test)]
mod tests {
    use parley_store::TextField;

    use super::*;

    fn scope(filters: &[Filter]) -> CursorScope<'_> {
        CursorScope {
            sort: SortField::CurrPathwayId,
            descending: false,
            filters,
        }
    }

    #[test]
    fn tokens_round_trip_every_value_kind() {
        let s = scope(&[]);
        for value in [SortValue::Null, SortValue::Text("p-é\"'".into())] {
            let c = ListCursor {
                value,
                id: "0192-x".into(),
            };
            assert_eq!(s.decode(&s.encode(&c)).unwrap(), c);
        }
        let ints = CursorScope {
            sort: SortField::CreatedAt,
            descending: true,
            filters: &[],
        };
        let c = ListCursor {
            value: SortValue::Int(-5),
            id: "a".into(),
        };
        assert_eq!(ints.decode(&ints.encode(&c)).unwrap(), c);
    }

    #[test]
    fn foreign_or_broken_tokens_are_refused() {
        let f = [Filter::TextUnset(TextField::UserNumber)];
        let s = scope(&f);
        let token = s.encode(&ListCursor {
            value: SortValue::Text("p".into()),
            id: "a".into(),
        });
        let code = |r: Result<ListCursor, ApiError>| r.unwrap_err().code;
        assert_eq!(code(scope(&[]).decode(&token)), "INVALID_CURSOR");
        let other_dir = CursorScope {
            descending: true,
            ..scope(&f)
        };
        assert!(other_dir
            .decode(&token)
            .unwrap_err()
            .message
            .contains("sort"));
        for garbage in ["", "!!!", "bnVsbA", &"A".repeat(3000)] {
            assert_eq!(code(s.decode(garbage)), "INVALID_CURSOR", "{garbage}");
        }
        // A number where the sort column holds text.
        let wrong_kind = URL_SAFE_NO_PAD.encode(
            json!({"v": 1, "s": "curr_pathway_id", "d": "asc", "f": s.fingerprint(), "k": 3, "i": "a"})
                .to_string(),
        );
        assert_eq!(code(s.decode(&wrong_kind)), "INVALID_CURSOR");
    }
}
