//! The decision procedure for a user's message (spec 7.3, steps 2 to 6), run in the
//! transaction that stores it, so the answer ("reply" or why not) is about the state the
//! message actually landed on: a handoff or an end committed a moment earlier is seen.
//!
//! 1. The pair's latest conversation: the active one, else the most recent ended one.
//! 2. Handed off (active) → stored on it, no reply.
//! 3. The number is in human mode → stored, no reply.
//! 4. Ended: closed by opt-out and the user still suppressed → stored on it, never a reply;
//!    else `restart_after_end_call` (default true) → a new conversation, a reply; else stored
//!    on the ended conversation, no reply.
//! 5. The text contains an `ignore_keywords` entry → stored, no reply.
//! 6. Otherwise → stored, and the agent should reply.
//!
//! Every branch stores the message with its message webhook and cancels the conversation's
//! pending timers. Where a branch opens a new conversation, the later checks (human mode,
//! ignore keywords) still apply to it.

use parley_domain::number_config::NumberConfig;
use sqlx::{Any, Row, Transaction};

use super::{
    insert_inbound,
    pair::{create_conversation, touch_conversation, Pair},
    ConversationFields, ConversationRow, InboundMessage,
};
use crate::{number_configs::decode_config, Dialect, EndStatus, Result};

/// Whether the agent should answer an inbound message, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyDecision {
    /// The agent should generate and send its turn.
    Reply,
    /// The conversation is handed off to a human (spec 2.16).
    HandedOff,
    /// The number is in human mode (`/v1/sms/toggle`).
    HumanMode,
    /// The conversation ended and `restart_after_end_call` is false: stored on it.
    Ended,
    /// The conversation was closed by the user's opt-out, or the message is itself an
    /// opt-out keyword.
    OptedOut,
    /// An opt-in keyword (START): the user is taken off the suppression list.
    OptedIn,
    /// The text contains one of the number's `ignore_keywords`.
    IgnoredKeyword,
    /// A HELP keyword, answered with the number's `help_message` instead of a turn.
    Help,
}

impl ReplyDecision {
    /// The metric label and the sandbox's `decision` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reply => "reply",
            Self::HandedOff => "handed_off",
            Self::HumanMode => "human_mode",
            Self::Ended => "ended",
            Self::OptedOut => "opted_out",
            Self::OptedIn => "opted_in",
            Self::IgnoredKeyword => "ignored_keyword",
            Self::Help => "help",
        }
    }

    pub fn wants_reply(self) -> bool {
        self == Self::Reply
    }
}

/// A stored inbound message and what the agent should do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundOutcome {
    pub conversation_id: String,
    pub message_id: i64,
    pub reply: ReplyDecision,
}

/// What the number says about inbound messages.
struct NumberRules {
    human_mode: bool,
    config: NumberConfig,
}

async fn number_rules(tx: &mut Transaction<'_, Any>, m: &InboundMessage) -> Result<NumberRules> {
    let row = sqlx::query(
        "SELECT n.human_mode, nc.config FROM numbers n \
         LEFT JOIN number_configs nc ON nc.number_id = n.id AND nc.channel = $3 \
         WHERE n.org_id = $1 AND n.phone_number = $2",
    )
    .bind(&m.org_id)
    .bind(&m.agent_number)
    .bind(&m.channel)
    .fetch_optional(&mut **tx)
    .await?;
    // The routes only store messages for the org's numbers; a number removed meanwhile has
    // no rules left to apply.
    let Some(row) = row else {
        return Ok(NumberRules {
            human_mode: false,
            config: NumberConfig::default(),
        });
    };
    Ok(NumberRules {
        human_mode: row.try_get::<i64, _>("human_mode")? != 0,
        config: decode_config(row.try_get("config")?)?,
    })
}

/// The pair's active conversation, else its most recently created one, locked (on
/// PostgreSQL; SQLite has one writer) so that a handoff or an end racing this message is
/// either seen by the decision or waits for it.
pub(crate) async fn latest_conversation(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    p: &Pair<'_>,
) -> Result<Option<ConversationRow>> {
    let pair = "org_id = $1 AND agent_number = $2 AND user_number = $3 AND channel = $4";
    let lock = dialect.for_update();
    for sql in [
        format!("SELECT * FROM conversations WHERE {pair} AND is_active = 1{lock}"),
        format!(
            "SELECT * FROM conversations WHERE {pair} ORDER BY created_at DESC, id DESC LIMIT 1{lock}"
        ),
    ] {
        let found = sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(p.org_id)
            .bind(p.agent_number)
            .bind(p.user_number)
            .bind(p.channel)
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

async fn suppressed(tx: &mut Transaction<'_, Any>, m: &InboundMessage) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS x FROM suppressions WHERE org_id = $1 AND agent_number = $2 AND user_number = $3",
    )
    .bind(&m.org_id)
    .bind(&m.agent_number)
    .bind(&m.user_number)
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}

/// Where the message lands, before the number-wide rules are applied.
enum Placement {
    /// On this existing conversation; `Some` when the conversation alone already rules out
    /// a reply.
    On(Box<ConversationRow>, Option<ReplyDecision>),
    /// On a new conversation of the pair.
    New,
}

/// Stores `m` by the decision procedure (module doc) inside `tx` and returns the decision.
pub(crate) async fn decide_and_record(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    m: &InboundMessage,
    media: Option<&serde_json::Value>,
) -> Result<InboundOutcome> {
    let pair = m.pair();
    let rules = number_rules(tx, m).await?;
    let placement = match latest_conversation(tx, dialect, &pair).await? {
        None => Placement::New,
        Some(c) if c.is_active == 1 => {
            let handed_off = c
                .handed_off_at
                .is_some()
                .then_some(ReplyDecision::HandedOff);
            Placement::On(Box::new(c), handed_off)
        }
        Some(c)
            if c.ended_reason.as_deref() == Some(EndStatus::Blacklisted.as_str())
                && suppressed(tx, m).await? =>
        {
            Placement::On(Box::new(c), Some(ReplyDecision::OptedOut))
        }
        Some(_) if rules.config.restart_after_end_call_or_default() => Placement::New,
        Some(c) => Placement::On(Box::new(c), Some(ReplyDecision::Ended)),
    };
    let (conversation_id, ruled) = match placement {
        Placement::On(c, ruled) => {
            touch_conversation(tx, &c, &ConversationFields::default(), m.now).await?;
            (c.id, ruled)
        }
        Placement::New => (
            create_conversation(tx, &pair, &ConversationFields::default(), m.now).await?,
            None,
        ),
    };
    // The spec's order: a handoff first, then human mode, then the end, then keywords.
    let reply = match ruled {
        Some(ReplyDecision::HandedOff) => ReplyDecision::HandedOff,
        _ if rules.human_mode => ReplyDecision::HumanMode,
        Some(r) => r,
        None if rules.config.ignores(&m.body) => ReplyDecision::IgnoredKeyword,
        None => ReplyDecision::Reply,
    };
    let message_id = insert_inbound(tx, &conversation_id, m, media).await?;
    Ok(InboundOutcome {
        conversation_id,
        message_id,
        reply,
    })
}
