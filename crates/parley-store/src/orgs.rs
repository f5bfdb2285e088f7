//! Organisations, their API keys and their numbers.

use sqlx::Row;

use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct NumberRow {
    pub id: i64,
    pub org_id: String,
    pub phone_number: String,
    pub carrier: String,
    pub channel: String,
    pub mps: f64,
    #[serde(skip)]
    pub config: String,
    pub created_at: i64,
    /// `long_code`, `toll_free`, `short_code` or `whatsapp`: where the default `mps` came from.
    pub number_type: Option<String>,
    /// Most segments per day, if capped.
    pub daily_cap: Option<i64>,
    /// Sends through this Twilio messaging service (paced as one pool with its other numbers).
    pub messaging_service_sid: Option<String>,
    /// The configured carrier account whose credentials this number uses.
    pub carrier_account: Option<String>,
}

const NUMBER_COLUMNS: &str =
    "id, org_id, phone_number, carrier, channel, mps, config, created_at, \
     number_type, daily_cap, messaging_service_sid, carrier_account";

impl Store {
    pub async fn create_org(&self, id: &str, name: &str, now: i64) -> Result<OrgRow> {
        sqlx::query("INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(name)
            .bind(now)
            .execute(&self.writer)
            .await?;
        Ok(OrgRow {
            id: id.to_owned(),
            name: name.to_owned(),
            created_at: now,
        })
    }

    pub async fn org_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM orgs")
            .fetch_one(&self.reader)
            .await?
            .try_get("n")?)
    }

    pub async fn org_by_id(&self, id: &str) -> Result<Option<OrgRow>> {
        let row = sqlx::query("SELECT id, name, created_at FROM orgs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| {
            Ok(OrgRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    /// Stores the hash of a new API key. The key itself never reaches the database.
    pub async fn add_api_key(
        &self,
        org_id: &str,
        key_hash: &str,
        prefix: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_keys (key_hash, org_id, prefix, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(key_hash)
        .bind(org_id)
        .bind(prefix)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The org owning the key with this hash, if any.
    pub async fn org_for_key_hash(&self, key_hash: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT org_id FROM api_keys WHERE key_hash = $1")
            .bind(key_hash)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| r.try_get("org_id")).transpose()?)
    }

    pub async fn add_number(
        &self,
        org_id: &str,
        phone_number: &str,
        carrier: &str,
        channel: &str,
        mps: f64,
        now: i64,
    ) -> Result<NumberRow> {
        let sql = format!(
            "INSERT INTO numbers (org_id, phone_number, carrier, channel, mps, config, created_at) \
             VALUES ($1, $2, $3, $4, $5, '{{}}', $6) RETURNING {NUMBER_COLUMNS}"
        );
        let res = sqlx::query_as::<_, NumberRow>(&sql)
            .bind(org_id)
            .bind(phone_number)
            .bind(carrier)
            .bind(channel)
            .bind(mps)
            .bind(now)
            .fetch_one(&self.writer)
            .await;
        match res {
            Err(e) => match StoreError::from(e) {
                StoreError::Conflict(_) => Err(StoreError::Conflict(format!(
                    "number {phone_number} already exists"
                ))),
                other => Err(other),
            },
            Ok(row) => Ok(row),
        }
    }

    /// A number as seen by one org: another org's number is simply not found.
    pub async fn number_for_org(
        &self,
        org_id: &str,
        phone_number: &str,
    ) -> Result<Option<NumberRow>> {
        let sql =
            format!("SELECT {NUMBER_COLUMNS} FROM numbers WHERE org_id = $1 AND phone_number = $2");
        Ok(sqlx::query_as::<_, NumberRow>(&sql)
            .bind(org_id)
            .bind(phone_number)
            .fetch_optional(&self.reader)
            .await?)
    }

    /// The send path's lookup in one read: the org's number `phone_number`, and its config
    /// for `channel` (the number's own channel when `None`) as stored JSON (`None`: never
    /// set). Returns the channel the config was read for, so a caller that then settles on
    /// another channel knows to read that one instead.
    pub async fn number_for_send(
        &self,
        org_id: &str,
        phone_number: &str,
        channel: Option<&str>,
    ) -> Result<Option<(NumberRow, String, Option<String>)>> {
        let cols = NUMBER_COLUMNS
            .split(", ")
            .map(|c| format!("n.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, COALESCE($3, n.channel) AS config_channel, c.config AS channel_config \
             FROM numbers n LEFT JOIN number_configs c \
               ON c.number_id = n.id AND c.channel = COALESCE($3, n.channel) \
             WHERE n.org_id = $1 AND n.phone_number = $2"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(org_id)
            .bind(phone_number)
            .bind(channel)
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let number = <NumberRow as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row(&row)?;
        Ok(Some((
            number,
            row.try_get("config_channel")?,
            row.try_get("channel_config")?,
        )))
    }

    /// A number by itself, for workers that already hold a message of it.
    pub async fn number(&self, phone_number: &str) -> Result<Option<NumberRow>> {
        let sql = format!("SELECT {NUMBER_COLUMNS} FROM numbers WHERE phone_number = $1");
        Ok(sqlx::query_as::<_, NumberRow>(&sql)
            .bind(phone_number)
            .fetch_optional(&self.reader)
            .await?)
    }

    pub async fn numbers_for_org(&self, org_id: &str) -> Result<Vec<NumberRow>> {
        let sql = format!("SELECT {NUMBER_COLUMNS} FROM numbers WHERE org_id = $1 ORDER BY id");
        Ok(sqlx::query_as::<_, NumberRow>(&sql)
            .bind(org_id)
            .fetch_all(&self.reader)
            .await?)
    }
}
