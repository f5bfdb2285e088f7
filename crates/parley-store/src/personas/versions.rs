//! A persona's versions: the list, one version, and promoting the draft.

use parley_domain::personas::VersionType;
use sqlx::Row;

use super::{
    insert_version, lock_persona, version_row, PersonaDetail, PersonaVersionRow, VERSION_COLUMNS,
};
use crate::{Result, Store};

impl Store {
    /// Every version of one of the org's personas, newest first; `None` if there is no such
    /// persona.
    pub async fn persona_versions(
        &self,
        org_id: &str,
        id: &str,
    ) -> Result<Option<Vec<PersonaVersionRow>>> {
        if !self.persona_exists(org_id, id).await? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM persona_versions WHERE org_id = $1 AND persona_id = $2 \
             ORDER BY version_number DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(org_id)
            .bind(id)
            .fetch_all(&self.reader)
            .await?;
        Ok(Some(rows.iter().map(version_row).collect::<Result<_>>()?))
    }

    /// One version of one of the org's personas.
    pub async fn persona_version(
        &self,
        org_id: &str,
        id: &str,
        version_id: &str,
    ) -> Result<Option<PersonaVersionRow>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM persona_versions \
             WHERE org_id = $1 AND persona_id = $2 AND id = $3"
        );
        let row = sqlx::query(&sql)
            .bind(org_id)
            .bind(id)
            .bind(version_id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(version_row).transpose()
    }

    /// Copies the draft into a new production version and archives the previous one.
    /// `None` if the org has no such persona.
    pub async fn promote_persona(
        &self,
        org_id: &str,
        id: &str,
        now: i64,
    ) -> Result<Option<PersonaDetail>> {
        let mut tx = self.writer.begin().await?;
        if !lock_persona(&mut tx, self, org_id, id).await? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM persona_versions \
             WHERE org_id = $1 AND persona_id = $2 AND version_type = 'draft'"
        );
        let draft = version_row(
            &sqlx::query(&sql)
                .bind(org_id)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?,
        )?;
        let next: i64 = sqlx::query(
            "SELECT CAST(MAX(version_number) AS BIGINT) AS n FROM persona_versions WHERE persona_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        sqlx::query(
            "UPDATE persona_versions SET version_type = 'archived', updated_at = $1 \
             WHERE persona_id = $2 AND version_type = 'production'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let v = VersionType::Production;
        insert_version(
            &mut tx,
            org_id,
            id,
            v,
            next + 1,
            &draft.config,
            Some(&draft.id),
            Some(now),
            now,
        )
        .await?;
        sqlx::query("UPDATE personas SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.persona(org_id, id).await
    }
}
