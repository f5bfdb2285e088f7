//! The pair rule: at most one active conversation per org, agent number, user number and
//! channel. Send, create and inbound all find or open a conversation through here.

use parley_domain::timeouts::{TimeoutError, TimeoutSettings};
use serde_json::Value;
use sqlx::{Any, Transaction};

use super::{ConversationFields, ConversationRow};
use crate::{json_text, Result, StoreError};

/// The key that identifies a conversation thread.
pub(crate) struct Pair<'a> {
    pub org_id: &'a str,
    pub agent_number: &'a str,
    pub user_number: &'a str,
    pub channel: &'a str,
}

/// Checks the rule every writer of timeout settings must keep: the merged settings
/// (request, then what the conversation stores, then the number's) put the warning before
/// the timeout. `existing` is the conversation the write will land on, if any.
pub(crate) fn check_timeouts(
    existing: Option<&ConversationRow>,
    fields: &ConversationFields,
    number_timeouts: &TimeoutSettings,
) -> Result<(), TimeoutError> {
    let stored = existing.map(ConversationRow::timeouts).unwrap_or_default();
    fields
        .timeouts
        .over(&stored)
        .over(number_timeouts)
        .validate()
}

/// Lands one new message's worth of state on the pair: archives the active conversation
/// first when `new_conversation`, then updates `existing` or creates the conversation.
/// Counts the message the caller is about to insert. Returns the conversation id.
pub(crate) async fn open(
    tx: &mut Transaction<'_, Any>,
    pair: &Pair<'_>,
    existing: Option<ConversationRow>,
    new_conversation: bool,
    fields: &ConversationFields,
    now: i64,
) -> Result<String> {
    if new_conversation {
        archive_active(tx, pair, now).await?;
    }
    Ok(match existing {
        Some(c) => {
            touch_conversation(tx, &c, fields, now).await?;
            c.id
        }
        None => create_conversation(tx, pair, fields, now).await?,
    })
}

pub(crate) async fn active_conversation(
    tx: &mut Transaction<'_, Any>,
    p: &Pair<'_>,
) -> Result<Option<ConversationRow>> {
    Ok(sqlx::query_as::<_, ConversationRow>(
        "SELECT * FROM conversations \
         WHERE org_id = $1 AND agent_number = $2 AND user_number = $3 AND channel = $4 AND is_active = 1",
    )
    .bind(p.org_id)
    .bind(p.agent_number)
    .bind(p.user_number)
    .bind(p.channel)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn archive_active(tx: &mut Transaction<'_, Any>, p: &Pair<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET is_active = 0, ended_reason = 'archived', updated_at = $1 \
         WHERE org_id = $2 AND agent_number = $3 AND user_number = $4 AND channel = $5 AND is_active = 1",
    )
    .bind(now)
    .bind(p.org_id)
    .bind(p.agent_number)
    .bind(p.user_number)
    .bind(p.channel)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts the pair's active conversation, counting the one message the caller is about to
/// store. When a concurrent transaction created it first (only possible on PostgreSQL), the
/// partial unique index makes ours a no-op and we use theirs.
pub(crate) async fn create_conversation(
    tx: &mut Transaction<'_, Any>,
    p: &Pair<'_>,
    f: &ConversationFields,
    now: i64,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = sqlx::query(
        "INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, created_at, updated_at, \
         last_message_at, message_count, request_data, metadata, webhook, disposition_ids, citation_schema_ids, \
         persona_id, persona_version, persona_settings, pathway_id, pathway_version, start_node_id, prompt, time_out, \
         timeout_message, warning_time, warning_message, current_node_id, variables) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $6, 1, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22, $23, $24) \
         ON CONFLICT (org_id, agent_number, user_number, channel) WHERE is_active = 1 DO NOTHING RETURNING id",
    )
    .bind(&id)
    .bind(p.org_id)
    .bind(p.user_number)
    .bind(p.agent_number)
    .bind(p.channel)
    .bind(now)
    .bind(json_text(&f.request_data))
    .bind(json_text(&f.metadata))
    .bind(&f.webhook)
    .bind(json_text(&f.disposition_ids))
    .bind(json_text(&f.citation_schema_ids))
    .bind(&f.persona_id)
    .bind(&f.persona_version)
    .bind(json_text(&f.persona_settings))
    .bind(&f.pathway_id)
    .bind(&f.pathway_version)
    .bind(&f.start_node_id)
    .bind(&f.prompt)
    .bind(f.timeouts.time_out)
    .bind(&f.timeouts.timeout_message)
    .bind(f.timeouts.warning_time)
    .bind(&f.timeouts.warning_message)
    .bind(&f.current_node_id)
    .bind(merge_variables(None, f.request_data.as_ref()))
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        return Ok(id);
    }
    let theirs = active_conversation(tx, p)
        .await?
        .ok_or_else(|| StoreError::Conflict("active conversation vanished during create".into()))?;
    touch_conversation(tx, &theirs, f, now).await?;
    Ok(theirs.id)
}

/// Records one more message on a conversation, overwriting the settings the request
/// carried and keeping the rest. One statement, because it runs on every send; it sets only
/// the columns the request carried, because SQLite rewrites the entries of every index on a
/// column an UPDATE assigns, changed or not (a plain send then touches only the two indexes
/// on `updated_at` and `message_count`, not the pathway and persona ones as well).
pub(crate) async fn touch_conversation(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    f: &ConversationFields,
    now: i64,
) -> Result<()> {
    enum V {
        Text(Option<String>),
        Int(Option<i64>),
    }
    let t = V::Text;
    let fields = [
        ("request_data", t(json_text(&f.request_data))),
        ("metadata", t(json_text(&f.metadata))),
        ("webhook", t(f.webhook.clone())),
        ("disposition_ids", t(json_text(&f.disposition_ids))),
        ("citation_schema_ids", t(json_text(&f.citation_schema_ids))),
        ("persona_id", t(f.persona_id.clone())),
        ("persona_version", t(f.persona_version.clone())),
        ("persona_settings", t(json_text(&f.persona_settings))),
        ("pathway_id", t(f.pathway_id.clone())),
        ("pathway_version", t(f.pathway_version.clone())),
        ("start_node_id", t(f.start_node_id.clone())),
        ("prompt", t(f.prompt.clone())),
        ("time_out", V::Int(f.timeouts.time_out)),
        ("timeout_message", t(f.timeouts.timeout_message.clone())),
        ("warning_time", V::Int(f.timeouts.warning_time)),
        ("warning_message", t(f.timeouts.warning_message.clone())),
        ("current_node_id", t(f.current_node_id.clone())),
        (
            "variables",
            t(merge_variables(
                c.variables.as_deref(),
                f.request_data.as_ref(),
            )),
        ),
    ];
    let present: Vec<(&str, V)> = fields
        .into_iter()
        .filter(|(_, v)| match v {
            V::Text(x) => x.is_some(),
            V::Int(x) => x.is_some(),
        })
        .collect();
    let mut sql = String::from(
        "UPDATE conversations SET updated_at = $1, last_message_at = $1, \
         message_count = message_count + 1",
    );
    for (i, (col, _)) in present.iter().enumerate() {
        sql.push_str(&format!(", {col} = ${}", i + 2));
    }
    sql.push_str(&format!(" WHERE id = ${}", present.len() + 2));
    let mut q = sqlx::query(&sql).bind(now);
    for (_, v) in present {
        q = match v {
            V::Text(x) => q.bind(x),
            V::Int(x) => q.bind(x),
        };
    }
    q.bind(&c.id).execute(&mut **tx).await?;
    Ok(())
}

/// A conversation's `variables` are its variable bag: seeded from `request_data`, and later
/// `request_data` keys are merged in (the later value wins) so that variables the agent
/// extracted meanwhile survive. `None` when there is nothing to change.
fn merge_variables(stored: Option<&str>, request_data: Option<&Value>) -> Option<String> {
    let Some(Value::Object(incoming)) = request_data else {
        return None;
    };
    let mut vars = match stored.and_then(|s| serde_json::from_str::<Value>(s).ok()) {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    vars.extend(incoming.iter().map(|(k, v)| (k.clone(), v.clone())));
    Some(Value::Object(vars).to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_variables;

    #[test]
    fn request_data_is_merged_into_variables() {
        assert_eq!(merge_variables(Some(r#"{"a":1}"#), None), None);
        assert_eq!(
            merge_variables(None, Some(&json!({"a": 1}))).as_deref(),
            Some(r#"{"a":1}"#)
        );
        let merged = merge_variables(Some(r#"{"a":1,"b":2}"#), Some(&json!({"b": 3, "c": 4})));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&merged.unwrap()).unwrap(),
            json!({"a": 1, "b": 3, "c": 4})
        );
    }
}
