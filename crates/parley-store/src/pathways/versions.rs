//! Numbered pathway versions, publishing them to an environment, and resolving what a
//! caller's version selector (`3`, `production`, `staging`, `draft`, `latest`) runs.

use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use super::{decode_json, PathwayRow, VersionRef, VersionSelector};
use crate::{Result, Store};

/// A numbered snapshot of a pathway's graph.
#[derive(Debug, Clone, PartialEq)]
pub struct PathwayVersionRow {
    pub id: String,
    pub pathway_id: String,
    pub version_number: i64,
    pub name: String,
    /// `{"nodes": [...], "edges": [...]}` as sent.
    pub graph: Value,
    pub created_at: i64,
    pub updated_at: i64,
    /// The highest version number of its pathway.
    pub is_latest: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Production,
    Staging,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Production => "production_version",
            Self::Staging => "staging_version",
        }
    }
}

/// The graph a selector names.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedGraph {
    pub pathway: PathwayRow,
    /// `None`: the draft.
    pub version: Option<PathwayVersionRow>,
}

impl ResolvedGraph {
    pub fn graph(&self) -> &Value {
        self.version
            .as_ref()
            .map_or(&self.pathway.draft, |v| &v.graph)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    Found(Box<ResolvedGraph>),
    /// The org has no such pathway (it may belong to another org).
    PathwayNotFound,
    /// The pathway exists; the selector names nothing (no such number, nothing published to
    /// staging, no version yet for `latest`).
    VersionNotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishOutcome {
    Published,
    PathwayNotFound,
    VersionNotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionDelete {
    Deleted,
    PathwayNotFound,
    VersionNotFound,
    /// The version is published there; publish another one first.
    Published(Environment),
}

const VERSION_COLUMNS: &str = "v.id, v.pathway_id, v.version_number, v.name, v.graph, \
     v.created_at, v.updated_at, \
     (SELECT MAX(w.version_number) FROM pathway_versions w WHERE w.pathway_id = v.pathway_id) \
       AS latest_number";

fn version_row(r: &AnyRow) -> Result<PathwayVersionRow> {
    let number: i64 = r.try_get("version_number")?;
    let latest: Option<i64> = r.try_get("latest_number")?;
    Ok(PathwayVersionRow {
        id: r.try_get("id")?,
        pathway_id: r.try_get("pathway_id")?,
        version_number: number,
        name: r.try_get("name")?,
        graph: decode_json(&r.try_get::<String, _>("graph")?, "a pathway version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        is_latest: latest == Some(number),
    })
}

impl Store {
    /// The versions of one of the org's pathways, by number; `None` without the pathway.
    pub async fn pathway_versions(
        &self,
        org_id: &str,
        pathway_id: &str,
    ) -> Result<Option<Vec<PathwayVersionRow>>> {
        if self.pathway(org_id, pathway_id).await?.is_none() {
            return Ok(None);
        }
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM pathway_versions v WHERE v.pathway_id = $1 \
             ORDER BY v.version_number"
        ))
        .bind(pathway_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(version_row)
            .collect::<Result<_>>()
            .map(Some)
    }

    /// Adds the next numbered version to one of the org's pathways; `None` without the
    /// pathway. Numbers are never reused, even after a delete.
    pub async fn create_pathway_version(
        &self,
        org_id: &str,
        pathway_id: &str,
        version_id: &str,
        name: &str,
        graph: &Value,
        now: i64,
    ) -> Result<Option<PathwayVersionRow>> {
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query(
            "UPDATE pathways SET next_version = next_version + 1, updated_at = $3 \
             WHERE org_id = $1 AND id = $2 RETURNING next_version",
        )
        .bind(org_id)
        .bind(pathway_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let number = row.try_get::<i64, _>("next_version")? - 1;
        sqlx::query(
            "INSERT INTO pathway_versions \
             (id, pathway_id, version_number, name, graph, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(version_id)
        .bind(pathway_id)
        .bind(number)
        .bind(name)
        .bind(graph.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(PathwayVersionRow {
            id: version_id.to_owned(),
            pathway_id: pathway_id.to_owned(),
            version_number: number,
            name: name.to_owned(),
            graph: graph.clone(),
            created_at: now,
            updated_at: now,
            is_latest: true,
        }))
    }

    /// Replaces the name and graph of version `number`; `false` when the org has no such
    /// pathway or version.
    pub async fn update_pathway_version(
        &self,
        org_id: &str,
        pathway_id: &str,
        number: i64,
        name: &str,
        graph: &Value,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE pathway_versions SET name = $4, graph = $5, updated_at = $6 \
             WHERE pathway_id = $2 AND version_number = $3 \
               AND pathway_id IN (SELECT id FROM pathways WHERE org_id = $1)",
        )
        .bind(org_id)
        .bind(pathway_id)
        .bind(number)
        .bind(name)
        .bind(graph.to_string())
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Deletes a version, unless it is published to an environment.
    pub async fn delete_pathway_version(
        &self,
        org_id: &str,
        pathway_id: &str,
        version: &VersionRef,
    ) -> Result<VersionDelete> {
        let found = match self
            .resolve_pathway_ref(org_id, pathway_id, version)
            .await?
        {
            Resolution::Found(r) => r,
            Resolution::PathwayNotFound => return Ok(VersionDelete::PathwayNotFound),
            Resolution::VersionNotFound => return Ok(VersionDelete::VersionNotFound),
        };
        // The draft is not a version: there is nothing to delete.
        let Some(v) = found.version else {
            return Ok(VersionDelete::VersionNotFound);
        };
        let mut tx = self.writer.begin().await?;
        // Refused in the same transaction as the delete, so a concurrent publish of this
        // version cannot leave an environment pointing at nothing.
        let pins = sqlx::query(&format!(
            "SELECT production_version, staging_version FROM pathways WHERE id = $1{}",
            self.dialect.for_update()
        ))
        .bind(pathway_id)
        .fetch_one(&mut *tx)
        .await?;
        for env in [Environment::Production, Environment::Staging] {
            if pins.try_get::<Option<i64>, _>(env.column())? == Some(v.version_number) {
                return Ok(VersionDelete::Published(env));
            }
        }
        sqlx::query("DELETE FROM pathway_versions WHERE id = $1")
            .bind(&v.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(VersionDelete::Deleted)
    }

    /// Publishes version `number` to `env`.
    pub async fn publish_pathway_version(
        &self,
        org_id: &str,
        pathway_id: &str,
        number: i64,
        env: Environment,
        now: i64,
    ) -> Result<PublishOutcome> {
        let mut tx = self.writer.begin().await?;
        let owned = sqlx::query(&format!(
            "SELECT id FROM pathways WHERE org_id = $1 AND id = $2{}",
            self.dialect.for_update()
        ))
        .bind(org_id)
        .bind(pathway_id)
        .fetch_optional(&mut *tx)
        .await?;
        if owned.is_none() {
            return Ok(PublishOutcome::PathwayNotFound);
        }
        let exists = sqlx::query(
            "SELECT id FROM pathway_versions WHERE pathway_id = $1 AND version_number = $2",
        )
        .bind(pathway_id)
        .bind(number)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Ok(PublishOutcome::VersionNotFound);
        }
        sqlx::query(&format!(
            "UPDATE pathways SET {} = $2, updated_at = $3 WHERE id = $1",
            env.column()
        ))
        .bind(pathway_id)
        .bind(number)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PublishOutcome::Published)
    }

    /// The graph `selector` names in one of the org's pathways.
    pub async fn resolve_pathway_version(
        &self,
        org_id: &str,
        pathway_id: &str,
        selector: VersionSelector,
    ) -> Result<Resolution> {
        self.resolve_pathway_ref(org_id, pathway_id, &VersionRef::Selector(selector))
            .await
    }

    /// Like [`Store::resolve_pathway_version`], also accepting a version id.
    pub async fn resolve_pathway_ref(
        &self,
        org_id: &str,
        pathway_id: &str,
        version: &VersionRef,
    ) -> Result<Resolution> {
        let Some(pathway) = self.pathway(org_id, pathway_id).await? else {
            return Ok(Resolution::PathwayNotFound);
        };
        let by_number = "v.version_number = $2";
        let (condition, arg) = match version {
            VersionRef::Id(id) => ("v.id = $2", Arg::Text(id.clone())),
            VersionRef::Selector(s) => match s {
                VersionSelector::Draft => return Ok(found(pathway, None)),
                VersionSelector::Number(n) => (by_number, Arg::Number(*n)),
                VersionSelector::Production => match pathway.production_version {
                    Some(n) => (by_number, Arg::Number(n)),
                    None => return Ok(found(pathway, None)),
                },
                VersionSelector::Staging => match pathway.staging_version {
                    Some(n) => (by_number, Arg::Number(n)),
                    None => return Ok(Resolution::VersionNotFound),
                },
                VersionSelector::Latest => (
                    "v.version_number = (SELECT MAX(version_number) FROM pathway_versions \
                     WHERE pathway_id = $1)",
                    Arg::None,
                ),
            },
        };
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM pathway_versions v WHERE v.pathway_id = $1 AND {condition}"
        );
        let q = sqlx::query(&sql).bind(pathway_id);
        let q = match arg {
            Arg::Text(t) => q.bind(t),
            Arg::Number(n) => q.bind(n),
            Arg::None => q,
        };
        let row = q.fetch_optional(&self.reader).await?;
        match row {
            Some(r) => Ok(found(pathway, Some(version_row(&r)?))),
            None => Ok(Resolution::VersionNotFound),
        }
    }
}

/// The second parameter of a resolving query.
enum Arg {
    Text(String),
    Number(i64),
    None,
}

fn found(pathway: PathwayRow, version: Option<PathwayVersionRow>) -> Resolution {
    Resolution::Found(Box::new(ResolvedGraph { pathway, version }))
}
