//! Dispositions (outcomes, spec 4): per-org definitions with immutable numbered versions.
//!
//! Creating writes version 1; every update writes the next version and makes it current,
//! so a log's `snippet_version` always names a definition that can still be read. The
//! definition is stored as the checked JSON the domain produced; the store neither reads
//! nor checks it (the caller does, through `parley_domain::dispositions`).
//!
//! Every query is scoped by org: another org's disposition is indistinguishable from none.

use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use crate::{placeholders::Placeholders, Result, Store, StoreError};

/// One immutable version of a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct DispositionVersion {
    pub disposition_id: String,
    /// 1, 2, …: Bland's `snippet_version`.
    pub version: i64,
    /// `{name, description, tag_field, fields}` as checked when it was saved.
    pub definition: Value,
    /// When this version was saved.
    pub created_at: i64,
}

/// A disposition with its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct DispositionRow {
    pub id: String,
    pub org_id: String,
    /// When version 1 was saved (the current version's `created_at` is the last update).
    pub created_at: i64,
    pub current: DispositionVersion,
}

/// One id asked of [`Store::current_disposition_versions`].
#[derive(Debug, Clone, PartialEq)]
pub enum DispositionLookup {
    Found(DispositionVersion),
    /// The id, as given, names none of the org's dispositions.
    NotFound(String),
}

/// What [`Store::update_disposition`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionWrite<E> {
    Saved(DispositionRow),
    NotFound,
    /// The revision refused the change; nothing was written.
    Refused(E),
}

#[derive(Debug, Clone, PartialEq)]
pub enum DispositionDelete {
    Deleted,
    NotFound,
    /// Number configs list it in `disposition_ids` and the delete was not forced; these are
    /// their phone numbers. Nothing was deleted.
    InUse(Vec<String>),
}

const ROW_SQL: &str = "SELECT d.id, d.org_id, d.created_at AS d_created_at, v.disposition_id, \
     v.version, v.definition, v.created_at FROM dispositions d JOIN disposition_versions v \
     ON v.disposition_id = d.id AND v.version = d.current_version";
const VERSION_COLUMNS: &str = "disposition_id, version, definition, created_at";

fn version_of(r: &AnyRow) -> Result<DispositionVersion> {
    let definition: String = r.try_get("definition")?;
    Ok(DispositionVersion {
        disposition_id: r.try_get("disposition_id")?,
        version: r.try_get("version")?,
        definition: serde_json::from_str(&definition)
            .map_err(|e| StoreError::Corrupt(format!("disposition definition: {e}")))?,
        created_at: r.try_get("created_at")?,
    })
}

fn row_of(r: &AnyRow) -> Result<DispositionRow> {
    Ok(DispositionRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        created_at: r.try_get("d_created_at")?,
        current: version_of(r)?,
    })
}

/// The stored form of an id: lowercase hyphenated UUID. Anything else names nothing.
fn stored_id(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}

impl Store {
    /// Creates a disposition whose version 1 is `definition`.
    pub async fn create_disposition(
        &self,
        org_id: &str,
        definition: &Value,
        now: i64,
    ) -> Result<DispositionRow> {
        // Time-ordered, so "oldest first" holds within one millisecond too.
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO dispositions (id, org_id, current_version, created_at, updated_at) \
             VALUES ($1, $2, 1, $3, $3)",
        )
        .bind(&id)
        .bind(org_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_version(&mut tx, org_id, &id, 1, definition, now).await?;
        tx.commit().await?;
        self.disposition(org_id, &id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("disposition {id} vanished after create")))
    }

    /// One of the org's dispositions with its current version. `id` is a UUID in any
    /// spelling; anything else names nothing.
    pub async fn disposition(&self, org_id: &str, id: &str) -> Result<Option<DispositionRow>> {
        let Some(id) = stored_id(id) else {
            return Ok(None);
        };
        let sql = format!("{ROW_SQL} WHERE d.org_id = $1 AND d.id = $2");
        let row = sqlx::query(&sql)
            .bind(org_id)
            .bind(&id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(row_of).transpose()
    }

    /// A page of the org's dispositions, oldest first (`page` from 1).
    pub async fn list_dispositions(
        &self,
        org_id: &str,
        page: i64,
        limit: i64,
    ) -> Result<Vec<DispositionRow>> {
        let sql =
            format!("{ROW_SQL} WHERE d.org_id = $1 ORDER BY d.created_at, d.id LIMIT $2 OFFSET $3");
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(limit)
            .bind((page - 1).saturating_mul(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(row_of).collect()
    }

    /// Every version of one of the org's dispositions, newest first; `None` if the org has
    /// no such disposition.
    pub async fn disposition_versions(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Vec<DispositionVersion>>> {
        let Some(id) = stored_id(id) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM disposition_versions \
             WHERE org_id = $1 AND disposition_id = $2 ORDER BY version DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(&id)
            .fetch_all(&self.reader)
            .await?;
        // Versions are never deleted without their disposition, so none means no disposition.
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(rows.iter().map(version_of).collect::<Result<_>>()?))
    }

    /// One version of one of the org's dispositions.
    pub async fn disposition_version(
        &self,
        org_id: &str,
        id: &str,
        version: i64,
    ) -> Result<Option<DispositionVersion>> {
        let Some(id) = stored_id(id) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM disposition_versions \
             WHERE org_id = $1 AND disposition_id = $2 AND version = $3"
        );
        let row = sqlx::query(&sql)
            .bind(org_id)
            .bind(&id)
            .bind(version)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(version_of).transpose()
    }

    /// Writes the next version: `revise` gets the current version and returns the new
    /// definition, or refuses. It runs while the disposition is locked, so concurrent
    /// updates each build on the one before and get consecutive numbers.
    pub async fn update_disposition<E: Send>(
        &self,
        org_id: &str,
        id: &str,
        now: i64,
        revise: impl FnOnce(&DispositionVersion) -> std::result::Result<Value, E> + Send,
    ) -> Result<VersionWrite<E>> {
        let Some(id) = stored_id(id) else {
            return Ok(VersionWrite::NotFound);
        };
        let mut tx = self.writer.begin().await?;
        let lock = format!(
            "SELECT current_version FROM dispositions WHERE org_id = $1 AND id = $2{}",
            self.dialect.for_update()
        );
        let Some(locked) = sqlx::query(&lock)
            .bind(org_id)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(VersionWrite::NotFound);
        };
        let current: i64 = locked.try_get("current_version")?;
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM disposition_versions \
             WHERE disposition_id = $1 AND version = $2"
        );
        let row = sqlx::query(&sql)
            .bind(&id)
            .bind(current)
            .fetch_one(&mut *tx)
            .await?;
        let definition = match revise(&version_of(&row)?) {
            Ok(d) => d,
            Err(e) => {
                tx.rollback().await?;
                return Ok(VersionWrite::Refused(e));
            }
        };
        insert_version(&mut tx, org_id, &id, current + 1, &definition, now).await?;
        sqlx::query("UPDATE dispositions SET current_version = $1, updated_at = $2 WHERE id = $3")
            .bind(current + 1)
            .bind(now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(match self.disposition(org_id, &id).await? {
            Some(d) => VersionWrite::Saved(d),
            None => VersionWrite::NotFound, // deleted between the commit and this read
        })
    }

    /// Deletes a disposition and all its versions. Number configs that list it refuse the
    /// delete unless `force`; a forced delete leaves their `disposition_ids` as they are, so
    /// conversations that still name it get an `ERROR` log naming the id.
    pub async fn delete_disposition(
        &self,
        org_id: &str,
        id: &str,
        force: bool,
    ) -> Result<DispositionDelete> {
        let Some(id) = stored_id(id) else {
            return Ok(DispositionDelete::NotFound);
        };
        let mut tx = self.writer.begin().await?;
        let lock = format!(
            "SELECT id FROM dispositions WHERE org_id = $1 AND id = $2{}",
            self.dialect.for_update()
        );
        if sqlx::query(&lock)
            .bind(org_id)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            return Ok(DispositionDelete::NotFound);
        }
        if !force {
            let using = numbers_using(&mut tx, org_id, &id).await?;
            if !using.is_empty() {
                tx.rollback().await?;
                return Ok(DispositionDelete::InUse(using));
            }
        }
        for sql in [
            "DELETE FROM disposition_versions WHERE org_id = $1 AND disposition_id = $2",
            "DELETE FROM dispositions WHERE org_id = $1 AND id = $2",
        ] {
            sqlx::query(sql)
                .bind(org_id)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(DispositionDelete::Deleted)
    }

    /// The current version of each of `ids` (a conversation's `disposition_ids`), in the
    /// order given, each id once. An id that names none of the org's dispositions (unknown,
    /// another org's, not a UUID) is [`DispositionLookup::NotFound`], never dropped, so the
    /// run can log it.
    pub async fn current_disposition_versions(
        &self,
        org_id: &str,
        ids: &[String],
    ) -> Result<Vec<DispositionLookup>> {
        let mut asked: Vec<(&str, Option<String>)> = Vec::new();
        for raw in ids {
            let stored = stored_id(raw);
            let seen = asked.iter().any(|(r, s)| match (s, &stored) {
                (Some(a), Some(b)) => a == b,
                _ => *r == raw.as_str(),
            });
            if !seen {
                asked.push((raw, stored));
            }
        }
        let wanted: Vec<&String> = asked.iter().filter_map(|(_, s)| s.as_ref()).collect();
        let mut found: Vec<DispositionVersion> = Vec::new();
        // Bound the statement's parameter count (SQLite allows 32,766; stay far below).
        for chunk in wanted.chunks(500) {
            let mut p = Placeholders::new(self.dialect);
            let org = p.next();
            let list = p.repeat("?", chunk.len());
            let sql = format!("{ROW_SQL} WHERE d.org_id = {org} AND d.id IN ({list})");
            let mut q = sqlx::query(&sql).bind(org_id);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for r in q.fetch_all(&self.reader).await? {
                found.push(version_of(&r)?);
            }
        }
        Ok(asked
            .into_iter()
            .map(|(raw, stored)| {
                stored
                    .and_then(|s| found.iter().find(|v| v.disposition_id == s).cloned())
                    .map_or_else(
                        || DispositionLookup::NotFound(raw.to_owned()),
                        DispositionLookup::Found,
                    )
            })
            .collect())
    }
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org_id: &str,
    id: &str,
    version: i64,
    definition: &Value,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO disposition_versions (disposition_id, org_id, version, definition, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(org_id)
    .bind(version)
    .bind(definition.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Phone numbers whose config (any channel) lists disposition `id` in `disposition_ids`,
/// in any spelling of the UUID. The `LIKE` only narrows the rows decoded.
async fn numbers_using(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org_id: &str,
    id: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT n.phone_number, nc.config FROM number_configs nc JOIN numbers n ON n.id = nc.number_id \
         WHERE n.org_id = $1 AND LOWER(nc.config) LIKE $2 ORDER BY n.phone_number",
    )
    .bind(org_id)
    .bind(format!("%{}%", id.replace('-', "%")))
    .fetch_all(&mut **tx)
    .await?;
    let mut using = Vec::new();
    for r in rows {
        let config: String = r.try_get("config")?;
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| StoreError::Corrupt(format!("number config is not valid JSON: {e}")))?;
        let lists = config["disposition_ids"].as_array().is_some_and(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .any(|s| stored_id(s).as_deref() == Some(id))
        });
        let number: String = r.try_get("phone_number")?;
        if lists && !using.contains(&number) {
            using.push(number);
        }
    }
    Ok(using)
}
