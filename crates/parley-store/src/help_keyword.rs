//! Answering HELP: a user's whole-message HELP (INFO, AYUDA, …) is stored with its message
//! webhook and answered with the number's `help_message` in the same transaction, with no
//! agent turn. It lands on the pair's latest conversation, ended or not, so a user who
//! opted out and asks for help does not open a new conversation.

use sqlx::Row;

use crate::{
    conversations::{
        inbound::latest_conversation,
        insert_inbound,
        pair::{create_conversation, touch_conversation},
        ConversationFields, InboundMessage, InboundOutcome, ReplyDecision,
    },
    lifecycle::lock_conversation,
    number_configs::decode_config,
    Result, Store, StoreError,
};

/// Marks the answer so the dispatcher sends it even to a suppressed user: carriers'
/// rules (CTIA) want HELP answered whatever the user's opt-out state.
pub const HELP_PURPOSE: &str = "help";

impl Store {
    /// The `help_message` of the org's number for `channel`, if it set one.
    pub async fn help_message(
        &self,
        org_id: &str,
        agent_number: &str,
        channel: &str,
    ) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT nc.config FROM number_configs nc JOIN numbers n ON n.id = nc.number_id \
             WHERE n.org_id = $1 AND n.phone_number = $2 AND nc.channel = $3",
        )
        .bind(org_id)
        .bind(agent_number)
        .bind(channel)
        .fetch_optional(&self.reader)
        .await?;
        let config = decode_config(row.map(|r| r.try_get("config")).transpose()?)?;
        Ok(config.help_message.filter(|t| !t.trim().is_empty()))
    }

    /// Stores `m` and queues `answer` to its sender, in one transaction.
    pub async fn record_inbound_help(
        &self,
        m: &InboundMessage,
        media: Option<&serde_json::Value>,
        answer: &str,
    ) -> Result<InboundOutcome> {
        let mut tx = self.writer.begin().await?;
        let pair = m.pair();
        let conversation_id = match latest_conversation(&mut tx, self.dialect, &pair).await? {
            Some(c) => {
                touch_conversation(&mut tx, &c, &ConversationFields::default(), m.now).await?;
                c.id
            }
            None => {
                create_conversation(&mut tx, &pair, &ConversationFields::default(), m.now).await?
            }
        };
        let message_id = insert_inbound(&mut tx, &conversation_id, m, media).await?;
        let c = lock_conversation(&mut tx, self.dialect, &m.org_id, &conversation_id)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "conversation {conversation_id} vanished mid-transaction"
                ))
            })?;
        crate::timers::queue(&mut tx, &c, answer.to_owned(), HELP_PURPOSE, m.now).await?;
        tx.commit().await?;
        Ok(InboundOutcome {
            conversation_id,
            message_id,
            reply: ReplyDecision::Help,
        })
    }
}
