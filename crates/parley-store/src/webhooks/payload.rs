//! The bodies of message and status webhooks (spec 6.2), built inside the transaction of
//! the event they describe and frozen as the exact bytes to send.

use parley_domain::{clock::iso8601_ms, number_config::NumberConfig};
use serde_json::{json, Map, Value};
use sqlx::{Any, Row, Transaction};

use crate::{conversations::ConversationRow, parse_json, Result};

/// Where a conversation's webhooks go: its own `webhook` (a send's override), else its
/// number's config for the conversation's channel. `None`: nowhere, nothing is enqueued.
pub(crate) async fn webhook_url(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
) -> Result<Option<String>> {
    if let Some(url) = c.webhook.as_deref().filter(|u| !u.trim().is_empty()) {
        return Ok(Some(url.to_owned()));
    }
    Ok(number_config(tx, c)
        .await?
        .and_then(|c| c.webhook)
        .filter(|u| !u.trim().is_empty()))
}

/// The config of the conversation's number for the conversation's channel, if one was set.
pub(crate) async fn number_config(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
) -> Result<Option<NumberConfig>> {
    let row = sqlx::query(
        "SELECT nc.config FROM number_configs nc JOIN numbers n ON n.id = nc.number_id \
         WHERE n.org_id = $1 AND n.phone_number = $2 AND nc.channel = $3",
    )
    .bind(&c.org_id)
    .bind(&c.agent_number)
    .bind(&c.channel)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let config: Option<String> = row.try_get("config")?;
    Ok(config.and_then(|t| serde_json::from_str::<NumberConfig>(&t).ok()))
}

/// One message of the transcript.
pub(crate) struct Line {
    pub id: i64,
    pub sender: String,
    pub body: String,
    pub channel: String,
    pub created_at: i64,
}

/// The conversation's visible messages up to and including `up_to` (all when `None`).
pub(crate) async fn transcript(
    tx: &mut Transaction<'_, Any>,
    conversation_id: &str,
    up_to: Option<i64>,
) -> Result<Vec<Line>> {
    let rows = sqlx::query(
        "SELECT id, sender, body, channel, created_at FROM messages WHERE conversation_id = $1 \
         AND deleted_at IS NULL AND id <= $2 ORDER BY id",
    )
    .bind(conversation_id)
    .bind(up_to.unwrap_or(i64::MAX))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Line {
                id: r.try_get("id")?,
                sender: r.try_get("sender")?,
                body: r.try_get("body")?,
                channel: r.try_get("channel")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The fields both kinds share.
fn common(c: &ConversationRow, lines: &[Line], channel: &str) -> Map<String, Value> {
    let history: Vec<Value> = lines
        .iter()
        .map(|l| json!({"sender": l.sender, "message": l.body, "created_at": iso8601_ms(l.created_at)}))
        .collect();
    let mut m = Map::new();
    m.insert("conversation_id".into(), json!(c.id));
    m.insert("phone_number".into(), json!(c.user_number));
    m.insert("agent_number".into(), json!(c.agent_number));
    m.insert("channel".into(), json!(channel));
    m.insert("pathway_id".into(), json!(c.pathway_id));
    m.insert(
        "pathway_version".into(),
        pathway_version(c.pathway_version.as_deref()),
    );
    m.insert("chat_history".into(), Value::Array(history));
    m.insert(
        "variables".into(),
        parse_json(c.variables.clone()).unwrap_or(json!({})),
    );
    // Echoed exactly as the send or create gave it.
    m.insert(
        "metadata".into(),
        parse_json(c.metadata.clone()).unwrap_or(json!({})),
    );
    m.insert(
        "pathway_tags".into(),
        parse_json(c.pathway_tags.clone()).unwrap_or(json!([])),
    );
    m
}

/// Bland types `pathway_version` as a number on sends; a stored `"3"` goes out as `3`.
fn pathway_version(v: Option<&str>) -> Value {
    match v {
        None => Value::Null,
        Some(s) => s
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| json!(s)),
    }
}

/// A message webhook for `line` (the last line of `lines`).
pub(crate) fn message_body(c: &ConversationRow, lines: &[Line], line: &Line) -> Value {
    let mut m = common(c, lines, &line.channel);
    m.insert("type".into(), json!("message"));
    m.insert("message_id".into(), json!(line.id));
    m.insert("message".into(), json!(line.body));
    m.insert("sender".into(), json!(line.sender));
    m.insert("created_at".into(), json!(iso8601_ms(line.created_at)));
    Value::Object(m)
}

/// A status webhook. `message_id` names the message a delivery status (`read`) is about.
pub(crate) fn status_body(
    c: &ConversationRow,
    lines: &[Line],
    status: &str,
    message_id: Option<i64>,
    now: i64,
) -> Value {
    let mut m = common(c, lines, &c.channel);
    let last = lines.last();
    m.insert("type".into(), json!("status"));
    m.insert("status".into(), json!(status));
    m.insert("message".into(), json!(last.map(|l| &l.body)));
    m.insert("sender".into(), json!(last.map(|l| &l.sender)));
    if let Some(id) = message_id {
        m.insert("message_id".into(), json!(id));
    }
    m.insert("message_count".into(), json!(lines.len()));
    let transcript: Vec<String> = lines
        .iter()
        .map(|l| format!("{}: {}", l.sender.to_lowercase(), l.body))
        .collect();
    m.insert(
        "concatenated_transcript".into(),
        json!(transcript.join("\n")),
    );
    // The end-of-conversation pipeline's results; empty (as Bland sends them when nothing
    // is configured) until it ran.
    m.insert("summary".into(), json!(c.summary));
    m.insert(
        "citations".into(),
        parse_json(c.citation_variables.clone()).unwrap_or(json!({})),
    );
    m.insert(
        "dispositions".into(),
        parse_json(c.disposition_logs.clone()).unwrap_or(json!([])),
    );
    m.insert("disposition_tag".into(), json!(c.disposition_tag));
    m.insert("created_at".into(), json!(iso8601_ms(now)));
    Value::Object(m)
}
