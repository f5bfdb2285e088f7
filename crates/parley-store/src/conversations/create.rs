//! `/v1/sms/create` (seed a conversation with explicit state and a stored message, nothing
//! transmitted) and sending on a conversation addressed by its id.

use parley_domain::timeouts::{TimeoutError, TimeoutSettings};
use sqlx::Row;

use super::{
    insert_outbound,
    pair::{self, touch_conversation, Pair},
    Accepted, ConversationFields, ConversationRow, NewOutbound,
};
use crate::{
    idempotency::{self, Claim},
    Result, Store,
};

/// A `/v1/sms/create`: the pair's conversation with the given state, and one stored message.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub org_id: String,
    pub user_number: String,
    pub agent_number: String,
    pub channel: String,
    pub new_conversation: bool,
    pub fields: ConversationFields,
    /// The number's own timeout settings, the lowest layer of precedence.
    pub number_timeouts: TimeoutSettings,
    pub body: String,
    /// `USER` (the user wrote it) or `AGENT`.
    pub sender: String,
    pub encoding: String,
    pub segments: i64,
    /// The provider's id of the message (`message_sid`), for correlation.
    pub provider_sid: Option<String>,
    pub now: i64,
}

/// A message to send on one conversation, addressed by id.
#[derive(Debug, Clone)]
pub struct ConversationSend {
    pub org_id: String,
    pub conversation_id: String,
    pub outbound: NewOutbound,
    /// `(key, hash of the request)` when the caller sent an `idempotency-key`.
    pub idempotency: Option<(String, String)>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConversationSendOutcome {
    Accepted(Accepted),
    /// The idempotency key was seen with the same request: the first answer, nothing sent.
    Replayed(Accepted),
    /// The idempotency key was seen with a different request.
    KeyReused,
    ConversationNotFound,
    /// The conversation's agent number no longer belongs to the org.
    AgentNumberNotFound(String),
}

impl Store {
    /// Finds or opens the pair's conversation exactly as a send would (including
    /// `new_conversation` archival and timeout validation), stores the state, and records the
    /// message without queueing it: its `status` stays null, so dispatch never sees it.
    pub async fn accept_create(
        &self,
        req: &CreateRequest,
    ) -> Result<Result<Accepted, TimeoutError>> {
        let pair = Pair {
            org_id: &req.org_id,
            agent_number: &req.agent_number,
            user_number: &req.user_number,
            channel: &req.channel,
        };
        let mut tx = self.writer.begin().await?;
        let existing = if req.new_conversation {
            None
        } else {
            pair::active_conversation(&mut tx, &pair).await?
        };
        if let Err(e) = pair::check_timeouts(existing.as_ref(), &req.fields, &req.number_timeouts) {
            tx.rollback().await?;
            return Ok(Err(e));
        }
        let conversation_id = pair::open(
            &mut tx,
            &pair,
            existing,
            req.new_conversation,
            &req.fields,
            req.now,
        )
        .await?;
        let (direction, from, to) = if req.sender == "USER" {
            ("inbound", &req.user_number, &req.agent_number)
        } else {
            ("outbound", &req.agent_number, &req.user_number)
        };
        let workflow_id = uuid::Uuid::new_v4().to_string();
        let message_id: i64 = sqlx::query(
            "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
             status, provider_sid, encoding, segments, workflow_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, $12, $13, $13) RETURNING id",
        )
        .bind(&req.org_id)
        .bind(&conversation_id)
        .bind(direction)
        .bind(&req.sender)
        .bind(&req.body)
        .bind(from)
        .bind(to)
        .bind(&req.channel)
        .bind(&req.provider_sid)
        .bind(&req.encoding)
        .bind(req.segments)
        .bind(&workflow_id)
        .bind(req.now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        Ok(Ok(Accepted {
            conversation_id,
            message_id,
            workflow_id,
        }))
    }

    /// Queues a message on one conversation of the org, from its agent number to its user,
    /// on its channel, with the same idempotency rules as `/v1/sms/send`. The conversation
    /// need not be active: the message lands on the thread it was addressed to.
    pub async fn accept_conversation_send(
        &self,
        req: &ConversationSend,
    ) -> Result<ConversationSendOutcome> {
        let mut tx = self.writer.begin().await?;
        if let Some((key, hash)) = &req.idempotency {
            match idempotency::claim(&mut tx, &req.org_id, key, hash, req.now).await? {
                Claim::Fresh => {}
                Claim::Replayed(acc) => {
                    tx.rollback().await?;
                    return Ok(ConversationSendOutcome::Replayed(acc));
                }
                Claim::Reused => {
                    tx.rollback().await?;
                    return Ok(ConversationSendOutcome::KeyReused);
                }
            }
        }
        let conversation = sqlx::query_as::<_, ConversationRow>(
            "SELECT * FROM conversations WHERE org_id = $1 AND id = $2",
        )
        .bind(&req.org_id)
        .bind(&req.conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(c) = conversation else {
            tx.rollback().await?;
            return Ok(ConversationSendOutcome::ConversationNotFound);
        };
        let owned = sqlx::query("SELECT id FROM numbers WHERE org_id = $1 AND phone_number = $2")
            .bind(&req.org_id)
            .bind(&c.agent_number)
            .fetch_optional(&mut *tx)
            .await?;
        if owned.is_none() {
            tx.rollback().await?;
            return Ok(ConversationSendOutcome::AgentNumberNotFound(c.agent_number));
        }
        let pair = Pair {
            org_id: &req.org_id,
            agent_number: &c.agent_number,
            user_number: &c.user_number,
            channel: &c.channel,
        };
        touch_conversation(&mut tx, &c, &ConversationFields::default(), req.now).await?;
        let accepted = insert_outbound(&mut tx, &pair, &c.id, &req.outbound, req.now).await?;
        if let Some((key, _)) = &req.idempotency {
            idempotency::record(&mut tx, &req.org_id, key, &accepted).await?;
        }
        tx.commit().await?;
        Ok(ConversationSendOutcome::Accepted(accepted))
    }
}
