//! Answering HELP: a user's whole-message HELP (INFO, AYUDA, …) is stored with its message
//! webhook and answered with the number's `help_message` in the same transaction, with no
//! agent turn. It lands on the pair's latest conversation, ended or not, so a user who
//! opted out and asks for help does not open a new conversation.

use parley_domain::segments;
use sqlx::Row;

use crate::{
    conversations::{
        inbound::latest_conversation,
        insert_inbound, insert_outbound_on,
        pair::{create_conversation, touch_conversation},
        ConversationFields, InboundMessage, InboundOutcome, NewOutbound, ReplyDecision,
    },
    lifecycle::lock_conversation,
    number_configs::decode_config,
    Result, Store, PRIORITY_LIVE,
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
            .expect("the conversation was found or created in this transaction");
        let count = segments::count(answer);
        let reply = insert_outbound_on(
            &mut tx,
            &c,
            &NewOutbound {
                body: answer.to_owned(),
                sender: "AGENT".into(),
                encoding: count.encoding.as_str().into(),
                segments: i64::from(count.segments),
                content_sid: None,
                content_variables: None,
                priority: PRIORITY_LIVE,
            },
            m.now,
        )
        .await?;
        sqlx::query("UPDATE messages SET purpose = $1 WHERE id = $2")
            .bind(HELP_PURPOSE)
            .bind(reply)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(InboundOutcome {
            conversation_id,
            message_id,
            reply: ReplyDecision::Help,
        })
    }
}
