//! Pathways (spec 8): per-org conversation graphs, their numbered versions, the draft the
//! editor works on, and which version is published to `production` and to `staging`.
//!
//! Graphs are stored as the JSON object `{"nodes": [...], "edges": [...]}` exactly as the
//! customer sent them (the engine's `Pathway::from_value` reads them back); the store never
//! interprets them, so validation lives with the caller. Every query is scoped by org: a
//! pathway of another org reads as absent, never as "forbidden".
//!
//! - [`versions`]: numbered versions, publishing, and resolving a selector to a graph.
//! - [`selector`]: version selectors (`3`, `production`, `staging`, `draft`, `latest`).
//! - [`chats`]: the text chat harness's persisted chats.

mod chats;
mod selector;
mod versions;

use serde_json::Value;
use sqlx::{any::AnyRow, Row};

pub use chats::{ChatRow, NewChat};
pub use selector::{VersionRef, VersionSelector};
pub use versions::{
    Environment, PathwayVersionRow, PublishOutcome, Resolution, ResolvedGraph, VersionDelete,
};

use crate::{Result, Store, StoreError};

/// A pathway as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct PathwayRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: Option<String>,
    /// The working copy: `{"nodes": [...], "edges": [...]}` as last saved.
    pub draft: Value,
    /// The version number published to production, if any.
    pub production_version: Option<i64>,
    pub staging_version: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl PathwayRow {
    /// The draft's `nodes` (an empty array when never set).
    pub fn nodes(&self) -> Value {
        graph_part(&self.draft, "nodes")
    }

    pub fn edges(&self) -> Value {
        graph_part(&self.draft, "edges")
    }
}

/// `nodes` or `edges` of a stored graph; an empty array when absent.
pub fn graph_part(graph: &Value, key: &str) -> Value {
    graph
        .get(key)
        .cloned()
        .unwrap_or_else(|| Value::Array(Vec::new()))
}

/// A graph object from its two parts, as the engine reads it.
pub fn graph_of(nodes: Value, edges: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("nodes".into(), nodes);
    m.insert("edges".into(), edges);
    Value::Object(m)
}

/// A partial update of a pathway: `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathwayUpdate {
    pub name: Option<String>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    /// The new draft graph (the caller merges `nodes`/`edges` and validates).
    pub draft: Option<Value>,
}

const PATHWAY_COLUMNS: &str = "id, org_id, name, description, draft, production_version, \
     staging_version, created_at, updated_at";

pub(crate) fn decode_json(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("{what} is not valid JSON: {e}")))
}

fn pathway_row(r: &AnyRow) -> Result<PathwayRow> {
    Ok(PathwayRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        draft: decode_json(&r.try_get::<String, _>("draft")?, "a pathway draft")?,
        production_version: r.try_get("production_version")?,
        staging_version: r.try_get("staging_version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Creates an empty pathway (no nodes, no edges, nothing published).
    pub async fn create_pathway(
        &self,
        org_id: &str,
        id: &str,
        name: &str,
        description: Option<&str>,
        now: i64,
    ) -> Result<PathwayRow> {
        let draft = graph_of(Value::Array(Vec::new()), Value::Array(Vec::new()));
        sqlx::query(
            "INSERT INTO pathways (id, org_id, name, description, draft, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id)
        .bind(org_id)
        .bind(name)
        .bind(description)
        .bind(draft.to_string())
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(PathwayRow {
            id: id.to_owned(),
            org_id: org_id.to_owned(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            draft,
            production_version: None,
            staging_version: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// The org's pathways, oldest first.
    pub async fn pathways(&self, org_id: &str) -> Result<Vec<PathwayRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {PATHWAY_COLUMNS} FROM pathways WHERE org_id = $1 ORDER BY created_at, id"
        ))
        .bind(org_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(pathway_row).collect()
    }

    /// One of the org's pathways; `None` when it does not exist or belongs to another org.
    pub async fn pathway(&self, org_id: &str, id: &str) -> Result<Option<PathwayRow>> {
        let row = sqlx::query(&format!(
            "SELECT {PATHWAY_COLUMNS} FROM pathways WHERE org_id = $1 AND id = $2"
        ))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(pathway_row).transpose()
    }

    /// Applies `update` to one of the org's pathways and returns it; `None` when the org has
    /// no such pathway.
    pub async fn update_pathway(
        &self,
        org_id: &str,
        id: &str,
        update: &PathwayUpdate,
        now: i64,
    ) -> Result<Option<PathwayRow>> {
        // One statement: absent fields keep their value (`$n IS NULL` cannot tell "clear"
        // from "keep" for the description, hence its flag).
        let row = sqlx::query(&format!(
            "UPDATE pathways SET \
               name = COALESCE($3, name), \
               description = CASE WHEN $4 = 1 THEN $5 ELSE description END, \
               draft = COALESCE($6, draft), \
               updated_at = $7 \
             WHERE org_id = $1 AND id = $2 RETURNING {PATHWAY_COLUMNS}"
        ))
        .bind(org_id)
        .bind(id)
        .bind(update.name.as_deref())
        .bind(i64::from(update.description.is_some()))
        .bind(update.description.clone().flatten())
        .bind(update.draft.as_ref().map(Value::to_string))
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        row.as_ref().map(pathway_row).transpose()
    }

    /// Deletes one of the org's pathways with its versions and chats. Returns whether it
    /// existed.
    pub async fn delete_pathway(&self, org_id: &str, id: &str) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        // Children first: the cascade would do it on SQLite (foreign_keys = ON) and
        // PostgreSQL alike, but explicit deletes keep it independent of that pragma.
        let owned = sqlx::query("SELECT id FROM pathways WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !owned {
            return Ok(false);
        }
        for sql in [
            "DELETE FROM pathway_chats WHERE pathway_id = $1",
            "DELETE FROM pathway_versions WHERE pathway_id = $1",
            "DELETE FROM pathways WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
