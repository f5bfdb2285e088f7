//! What a pathway run (a reply turn, or the opener of `/v1/sms/send`) writes besides the
//! replies themselves, landed inside the caller's transaction: the engine state, the node,
//! the variables, the tags of the nodes it entered, a pathway transfer, the messages its
//! SMS nodes send to other numbers, and an End Call (the conversation ends) or a Transfer
//! to Human (it is handed off, as by the handoff API).

use sqlx::{Any, Transaction};

use crate::{
    conversations::{
        handoff::hand_off_locked,
        insert_outbound,
        pair::{active_conversation, create_conversation, touch_conversation, Pair},
        ConversationFields, ConversationRow, HandoffRequest, NewOutbound,
    },
    lifecycle::{end_locked, EndStatus},
    Result,
};

/// A pathway run's effect on its conversation.
#[derive(Debug, Clone, Default)]
pub struct PathwayWrite {
    /// The engine's state after the run (JSON).
    pub state: String,
    pub current_node_id: Option<String>,
    /// The run's variables (JSON object), merged into the conversation's key by key.
    pub variables: Option<String>,
    /// A `Transfer Pathway`: the pathway (and version, `None` for its default) the
    /// conversation follows from now on.
    pub transfer: Option<(String, Option<String>)>,
    /// Tags of the nodes entered (`{name, color}`), added once each by name.
    pub tags: Vec<serde_json::Value>,
    /// `SMS` nodes' messages to numbers other than the conversation's user.
    pub elsewhere: Vec<Elsewhere>,
    /// An End Call node was reached: the conversation ends (`ended`).
    pub end: bool,
    /// A Transfer to Human node was reached (its id): the conversation is handed off.
    pub handoff_node: Option<String>,
}

/// A message from the conversation's agent number to another number.
#[derive(Debug, Clone)]
pub struct Elsewhere {
    /// E.164.
    pub to: String,
    pub message: NewOutbound,
}

/// Lands `w` on conversation `c` (the caller holds its row), after the run's replies were
/// queued on it. Returns the ids of the messages queued to other numbers.
pub(crate) async fn apply(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    w: &PathwayWrite,
    now: i64,
) -> Result<Vec<i64>> {
    let (pathway_id, pathway_version) = match &w.transfer {
        Some((id, version)) => (Some(id.as_str()), version.as_deref()),
        None => (None, None),
    };
    sqlx::query(
        "UPDATE conversations SET pathway_state = $1, current_node_id = COALESCE($2, current_node_id), \
         variables = COALESCE($3, variables), pathway_tags = COALESCE($4, pathway_tags), \
         pathway_id = COALESCE($5, pathway_id), \
         pathway_version = CASE WHEN $5 IS NULL THEN pathway_version ELSE $6 END WHERE id = $7",
    )
    .bind(&w.state)
    .bind(&w.current_node_id)
    .bind(merged_variables(c.variables.as_deref(), w.variables.as_deref()))
    .bind(merged_tags(c.pathway_tags.as_deref(), &w.tags))
    .bind(pathway_id)
    .bind(pathway_version)
    .bind(&c.id)
    .execute(&mut **tx)
    .await?;
    let mut ids = Vec::new();
    for m in &w.elsewhere {
        if let Some(id) = queue_elsewhere(tx, c, m, now).await? {
            ids.push(id);
        }
    }
    if w.end {
        let row = conversation_in(tx, &c.id).await?;
        end_locked(tx, row, EndStatus::Ended, now).await?;
    } else if let Some(node) = &w.handoff_node {
        let row = conversation_in(tx, &c.id).await?;
        let req = HandoffRequest {
            org_id: c.org_id.clone(),
            conversation_id: c.id.clone(),
            reason: Some("Transfer to Human node".into()),
            actor: Some("pathway".into()),
            metadata: Some(serde_json::json!({ "node_id": node })),
            webhook: None,
            alert: None,
            now,
        };
        hand_off_locked(tx, row, &req).await?;
    }
    Ok(ids)
}

/// Queues `m` on the conversation of the agent number and `m.to` (found or opened, on `c`'s
/// channel), through the same insert as every send, so dispatch paces it with the agent
/// number's other messages. A number that opted out of the agent number gets nothing
/// (`None`); dispatch would refuse the message anyway, this keeps it out of the queue.
async fn queue_elsewhere(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    m: &Elsewhere,
    now: i64,
) -> Result<Option<i64>> {
    if crate::suppressions::is_suppressed_in(tx, &c.org_id, &c.agent_number, &m.to).await? {
        tracing::info!(conversation.id = %c.id, "an SMS node's message was not queued: the recipient opted out");
        return Ok(None);
    }
    let pair = Pair {
        org_id: &c.org_id,
        agent_number: &c.agent_number,
        user_number: &m.to,
        channel: &c.channel,
    };
    let none = ConversationFields::default();
    let id = match active_conversation(tx, &pair).await? {
        Some(other) => {
            touch_conversation(tx, &other, &none, now).await?;
            other.id
        }
        None => create_conversation(tx, &pair, &none, now).await?,
    };
    Ok(Some(
        insert_outbound(tx, &pair, &id, &m.message, now)
            .await?
            .message_id,
    ))
}

/// The row of conversation `id` as the transaction sees it.
pub(crate) async fn conversation_in(
    tx: &mut Transaction<'_, Any>,
    id: &str,
) -> Result<ConversationRow> {
    Ok(
        sqlx::query_as::<_, ConversationRow>("SELECT * FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// `stored` with `new`'s keys set (later wins), so variables set by a later send's
/// `request_data` survive a run that started before it; `None` when `new` is.
fn merged_variables(stored: Option<&str>, new: Option<&str>) -> Option<String> {
    let new = new?;
    let mut vars = match stored.and_then(|s| serde_json::from_str(s).ok()) {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(new) {
        vars.extend(m);
    }
    Some(serde_json::Value::Object(vars).to_string())
}

/// `stored` with the `new` tags whose names it lacks appended; `None` when nothing changes.
fn merged_tags(stored: Option<&str>, new: &[serde_json::Value]) -> Option<String> {
    let mut tags: Vec<serde_json::Value> = stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let before = tags.len();
    for t in new {
        if !tags.iter().any(|old| old["name"] == t["name"]) {
            tags.push(t.clone());
        }
    }
    (tags.len() > before).then(|| serde_json::Value::Array(tags).to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{merged_tags, merged_variables};

    #[test]
    fn tags_are_added_once_by_name_in_first_visit_order() {
        let a = json!({"name": "order", "color": "#f00"});
        let b = json!({"name": "vip"});
        assert_eq!(merged_tags(None, &[]), None);
        let first = merged_tags(None, &[a.clone(), a.clone()]).unwrap();
        assert_eq!(first, json!([a]).to_string());
        assert_eq!(merged_tags(Some(&first), std::slice::from_ref(&a)), None);
        assert_eq!(
            merged_tags(Some(&first), &[b.clone(), a.clone()]).unwrap(),
            json!([a, b]).to_string()
        );
    }

    #[test]
    fn a_run_s_variables_are_merged_over_the_stored_ones() {
        assert_eq!(merged_variables(Some(r#"{"a":1}"#), None), None);
        let merged = merged_variables(Some(r#"{"a":1,"b":2}"#), Some(r#"{"b":3,"c":4}"#)).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&merged).unwrap(),
            json!({"a": 1, "b": 3, "c": 4})
        );
    }
}
