//! Handing a conversation to a human (spec 2.16) and back to the agent (2.17), each in one
//! transaction with everything that belongs to it: the flag, the timers (suspended, then
//! re-armed), the one status webhook of the transition (`human_handoff`,
//! `human_handoff_ended`), the alert to the human team and the takeover message.
//!
//! The alert to `notify_number` is a message of its own pair (the agent number and the
//! team's number, channel `sms`), so every message of a conversation stays between that
//! conversation's two numbers. It is marked `purpose = 'handoff_alert'`, which keeps it from
//! starting that conversation's inactivity timers.

use serde_json::{json, Map, Value};
use sqlx::{Any, Transaction};

use super::{
    insert_outbound, insert_outbound_on,
    pair::{self, Pair},
    ConversationFields, ConversationRow, NewOutbound,
};
use crate::{
    json_text,
    lifecycle::lock_conversation,
    parse_json, timers,
    webhooks::{enqueue_status_with, StatusExtras},
    Result, Store,
};

/// A `POST /v1/sms/conversations/{id}/handoff`.
#[derive(Debug, Clone)]
pub struct HandoffRequest {
    pub org_id: String,
    pub conversation_id: String,
    pub reason: Option<String>,
    pub actor: Option<String>,
    pub metadata: Option<Value>,
    /// Where the `human_handoff` (and later `human_handoff_ended`) webhook goes instead of
    /// the conversation's URL.
    pub webhook: Option<String>,
    /// `(notify_number, text)`: an SMS alert for the human team, from the conversation's
    /// agent number.
    pub alert: Option<(String, NewOutbound)>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HandoffOutcome {
    /// Handed off now; the alert's message id when one was queued.
    HandedOff {
        conversation: Box<ConversationRow>,
        alert_message_id: Option<i64>,
    },
    /// It already was: nothing changed, no webhook, no alert.
    AlreadyHandedOff(Box<ConversationRow>),
    /// The conversation ended: there is nothing to hand off.
    Ended,
    NotFound,
}

/// A `POST /v1/sms/conversations/{id}/resume`.
#[derive(Debug, Clone)]
pub struct ResumeRequest {
    pub org_id: String,
    pub conversation_id: String,
    /// The pathway node to continue from (`current_node_id`).
    pub node_id: Option<String>,
    pub actor: Option<String>,
    /// The agent's takeover message to queue on the conversation.
    pub message: Option<NewOutbound>,
    /// `generate_reply`: request an agent turn in the same transaction; it answers the
    /// user's messages since the agent's last turn (those that came during the handoff).
    pub generate_reply: bool,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResumeOutcome {
    /// Back with the agent; the takeover message's id when one was queued.
    Resumed {
        conversation: Box<ConversationRow>,
        message_id: Option<i64>,
    },
    NotHandedOff,
    NotFound,
}

impl Store {
    /// Hands one of the org's active conversations to a human (module doc). Idempotent: a
    /// second call changes nothing and enqueues nothing.
    pub async fn hand_off(&self, req: &HandoffRequest) -> Result<HandoffOutcome> {
        let mut tx = self.writer.begin().await?;
        let Some(c) =
            lock_conversation(&mut tx, self.dialect, &req.org_id, &req.conversation_id).await?
        else {
            tx.rollback().await?;
            return Ok(HandoffOutcome::NotFound);
        };
        let outcome = hand_off_locked(&mut tx, c, req).await?;
        match outcome {
            HandoffOutcome::HandedOff { .. } => tx.commit().await?,
            _ => tx.rollback().await?,
        }
        Ok(outcome)
    }

    /// Gives a handed-off conversation back to the agent (module doc): clears the handoff,
    /// moves to `node_id`, queues `message`, re-arms the timers (on an active conversation)
    /// and enqueues `human_handoff_ended`, once.
    pub async fn resume(&self, req: &ResumeRequest) -> Result<ResumeOutcome> {
        let mut tx = self.writer.begin().await?;
        let Some(c) =
            lock_conversation(&mut tx, self.dialect, &req.org_id, &req.conversation_id).await?
        else {
            tx.rollback().await?;
            return Ok(ResumeOutcome::NotFound);
        };
        if c.handed_off_at.is_none() {
            tx.rollback().await?;
            return Ok(ResumeOutcome::NotHandedOff);
        }
        let handoff = parse_json(c.handoff.clone()).unwrap_or(Value::Null);
        sqlx::query(
            "UPDATE conversations SET handed_off_at = NULL, handoff = NULL, updated_at = $1, \
             current_node_id = COALESCE($2, current_node_id) WHERE id = $3",
        )
        .bind(req.now)
        .bind(&req.node_id)
        .bind(&c.id)
        .execute(&mut *tx)
        .await?;
        let resumed = reread(&mut tx, &c.id).await?;
        let message_id = match &req.message {
            Some(m) => Some(insert_outbound_on(&mut tx, &resumed, m, req.now).await?),
            None => None,
        };
        if resumed.is_active == 1 {
            // As if the agent had just spoken; the takeover message re-arms them again when
            // it is sent.
            timers::arm(&mut tx, &resumed, req.now).await?;
        }
        if req.generate_reply && resumed.is_active == 1 {
            crate::turns::request_in(&mut tx, &c.id, &c.org_id, req.now).await?;
        }
        let resume = json!({"actor": req.actor, "node_id": req.node_id});
        enqueue_status_with(
            &mut tx,
            &c.id,
            "human_handoff_ended",
            None,
            extras(&handoff, Some(resume)),
            req.now,
        )
        .await?;
        let conversation = reread(&mut tx, &c.id).await?;
        tx.commit().await?;
        Ok(ResumeOutcome::Resumed {
            conversation: Box::new(conversation),
            message_id,
        })
    }
}

/// The webhook of a handoff transition: to the handoff's own URL when it gave one, with
/// `handoff` (reason, actor, metadata, notify_number) and, at its end, `resume`.
fn extras(handoff: &Value, resume: Option<Value>) -> StatusExtras {
    let mut echoed = Map::new();
    for key in ["reason", "actor", "metadata", "notify_number"] {
        echoed.insert(key.into(), handoff.get(key).cloned().unwrap_or(Value::Null));
    }
    let mut fields = Map::new();
    fields.insert("handoff".into(), Value::Object(echoed));
    if let Some(r) = resume {
        fields.insert("resume".into(), r);
    }
    StatusExtras {
        url: handoff
            .get("webhook")
            .and_then(Value::as_str)
            .map(str::to_owned),
        fields,
    }
}

/// Queues the alert on the pair (agent number, `to`) over SMS, marked `handoff_alert`.
async fn queue_alert(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    to: &str,
    alert: &NewOutbound,
    now: i64,
) -> Result<i64> {
    let pair = Pair {
        org_id: &c.org_id,
        agent_number: &c.agent_number,
        user_number: to,
        channel: "sms",
    };
    let existing = pair::active_conversation(tx, &pair).await?;
    let fields = ConversationFields::default();
    let conversation_id = pair::open(tx, &pair, existing, false, &fields, now).await?;
    let id = insert_outbound(tx, &pair, &conversation_id, alert, now)
        .await?
        .message_id;
    sqlx::query("UPDATE messages SET purpose = 'handoff_alert' WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

async fn reread(tx: &mut Transaction<'_, Any>, id: &str) -> Result<ConversationRow> {
    Ok(
        sqlx::query_as::<_, ConversationRow>("SELECT * FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Hands `c` (locked by the caller) to a human inside `tx`: the API's handoff and a
/// pathway's Transfer to Human node share it. Writes nothing unless `HandedOff`.
pub(crate) async fn hand_off_locked(
    tx: &mut Transaction<'_, Any>,
    c: ConversationRow,
    req: &HandoffRequest,
) -> Result<HandoffOutcome> {
    if c.handed_off_at.is_some() {
        return Ok(HandoffOutcome::AlreadyHandedOff(Box::new(c)));
    }
    if c.is_active == 0 {
        return Ok(HandoffOutcome::Ended);
    }
    let handoff = json!({
        "reason": req.reason,
        "actor": req.actor,
        "metadata": req.metadata,
        "webhook": req.webhook,
        "notify_number": req.alert.as_ref().map(|(n, _)| n),
    });
    sqlx::query(
        "UPDATE conversations SET handed_off_at = $1, handoff = $2, updated_at = $1 WHERE id = $3",
    )
    .bind(req.now)
    .bind(json_text(&Some(handoff.clone())))
    .bind(&c.id)
    .execute(&mut **tx)
    .await?;
    timers::cancel(tx, &c.id).await?;
    enqueue_status_with(
        tx,
        &c.id,
        "human_handoff",
        None,
        extras(&handoff, None),
        req.now,
    )
    .await?;
    let alert_message_id = match &req.alert {
        Some((to, text)) => Some(queue_alert(tx, &c, to, text, req.now).await?),
        None => None,
    };
    let conversation = reread(tx, &c.id).await?;
    Ok(HandoffOutcome::HandedOff {
        conversation: Box::new(conversation),
        alert_message_id,
    })
}
