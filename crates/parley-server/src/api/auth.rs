//! API-key authentication. The key travels raw in `authorization` (Bland's form) or as
//! `Bearer <key>`. Only its SHA-256 is stored; API keys are long random strings, so a fast
//! hash is the right tool (a slow password hash would only cost throughput).

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use axum::{extract::FromRequestParts, http::request::Parts};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::app::AppState;

/// The authenticated caller. Every handler that takes it is scoped to this org.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Generates a new key: `pk_` and 40 random alphanumerics (about 238 bits).
pub fn generate_key() -> String {
    use rand::{distributions::Alphanumeric, Rng};
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("pk_{body}")
}

/// Recently verified key hashes, so a hot client does not cost a query per request.
/// Positive answers only, and briefly, so a deleted key stops working within the TTL.
#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<String, (String, Instant)>>,
}

const CACHE_TTL: Duration = Duration::from_secs(30);
const CACHE_MAX: usize = 10_000;

impl KeyCache {
    fn get(&self, hash: &str) -> Option<String> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(org, _)| org.clone())
    }

    fn put(&self, hash: String, org: String) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_MAX {
            entries.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
        }
        entries.insert(hash, (org, Instant::now()));
    }
}

impl FromRequestParts<AppState> for Org {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        let key = match header.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("bearer ") => header[7..].trim(),
            _ => header,
        };
        if key.is_empty() {
            return Err(ApiError::unauthorized());
        }
        let hash = hash_key(key);
        if let Some(id) = state.keys.get(&hash) {
            return Ok(Org { id });
        }
        let id = state
            .store
            .org_for_key_hash(&hash)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        state.keys.put(hash, id.clone());
        Ok(Org { id })
    }
}
