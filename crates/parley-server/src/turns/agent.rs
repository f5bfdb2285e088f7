//! The agent's turn on a text conversation: what drives the reply (the persona precedence,
//! `Store::resolve_reply_source`), and the reply itself, from a pathway through the
//! [`TurnDriver`] or from the number's `objective` prompt through the language model.
//!
//! Nothing here writes: the result is a [`TurnWrite`] that the turn worker lands in one
//! transaction. A reply is never an error string: the model failing gives the configured
//! `fallback_reply`; a reply source that cannot run (a pathway that needs a model when none
//! is configured, a pathway or persona deleted since) gives no reply, counted and logged.

use parley_domain::{
    pathways::{HistoryEntry, Pathway, PathwayState, Role, TurnContext},
    personas::{PersonaVersion, ReplySource},
};
use parley_store::{
    ConversationRow, MessageRow, ReplyLookup, ReplyRequest, Resolution, TurnWrite, VersionRef,
};
use serde_json::Value;

use super::effects::{follow_transfers, outbound, Gathered};
use crate::{
    app::AppState,
    language_models::{CallOptions, ChatMessage, LanguageModelExt},
};

/// How a turn ended, for the `parley_agent_turns_total{result}` metric and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnResult {
    Pathway,
    Objective,
    /// The model failed or timed out: the fallback reply went out.
    Fallback,
    /// Nothing new from the user since the last turn.
    NothingNew,
    /// No reply source names anything.
    NoSource,
    /// The reply source needs a language model and none is configured.
    NoModel,
    /// The pathway or persona the conversation names no longer exists.
    Unresolved,
}

impl TurnResult {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnResult::Pathway => "pathway",
            TurnResult::Objective => "objective",
            TurnResult::Fallback => "fallback",
            TurnResult::NothingNew => "nothing_new",
            TurnResult::NoSource => "no_source",
            TurnResult::NoModel => "no_model",
            TurnResult::Unresolved => "unresolved",
        }
    }
}

/// Computes the reply to the user messages newer than `seen_message_id`.
pub async fn reply(
    state: &AppState,
    c: &ConversationRow,
    messages: &[MessageRow],
    seen_message_id: i64,
) -> parley_store::Result<(TurnWrite, TurnResult)> {
    let mut write = TurnWrite {
        seen_message_id: messages.iter().map(|m| m.id).max().unwrap_or(0),
        ..TurnWrite::default()
    };
    let visible: Vec<&MessageRow> = messages.iter().filter(|m| m.hidden_from_ai == 0).collect();
    let (earlier, new): (Vec<&MessageRow>, Vec<&MessageRow>) =
        visible.into_iter().partition(|m| m.id <= seen_message_id);
    let user_text: Vec<&str> = new
        .iter()
        .filter(|m| m.direction == "inbound")
        .map(|m| m.body.as_str())
        .collect();
    if user_text.is_empty() {
        return Ok((write, TurnResult::NothingNew));
    }
    let user_text = user_text.join("\n");
    // Everything before this turn's user messages, in order (agent messages sent since the
    // last turn, e.g. by a human, count as context too).
    let history: Vec<HistoryEntry> = earlier
        .iter()
        .chain(new.iter().filter(|m| m.direction != "inbound"))
        .map(|m| HistoryEntry {
            role: if m.direction == "inbound" {
                Role::User
            } else {
                Role::Agent
            },
            text: m.body.clone(),
        })
        .collect();

    let settings = c.json(&c.persona_settings);
    let lookup = state
        .store
        .resolve_reply_source(
            &c.org_id,
            &c.agent_number,
            Some(&c.channel),
            &ReplyRequest {
                persona_id: c.persona_id.as_deref(),
                persona_version: c.persona_version.as_deref().and_then(PersonaVersion::parse),
                persona_settings: settings.as_ref(),
                pathway_id: c.pathway_id.as_deref(),
                pathway_version: c.pathway_version.as_deref(),
                start_node_id: c.start_node_id.as_deref(),
            },
        )
        .await?;
    let source = match lookup {
        ReplyLookup::Resolved { source, .. } => source,
        other => {
            tracing::warn!(conversation.id = %c.id, lookup = ?other, "no reply: the conversation's number or persona is gone");
            return Ok((write, TurnResult::Unresolved));
        }
    };
    let result = match source {
        ReplySource::Nothing => TurnResult::NoSource,
        ReplySource::Objective { prompt, .. } => {
            objective(state, c, &prompt, &history, &user_text, &mut write).await
        }
        ReplySource::Pathway { pathway, .. } => {
            let ctx = TurnContext {
                conversation_id: c.id.clone(),
                from: c.user_number.clone(),
                to: c.agent_number.clone(),
                now_ms: state.clock.now_ms(),
                history,
            };
            pathway_turn(
                state,
                c,
                &pathway.pathway_id,
                pathway.version.as_deref(),
                pathway.start_node_id.as_deref(),
                &user_text,
                ctx,
                &mut write,
            )
            .await?
        }
    };
    Ok((write, result))
}

/// The number's `objective` prompt mode: one model reply with the conversation as context.
async fn objective(
    state: &AppState,
    c: &ConversationRow,
    prompt: &str,
    history: &[HistoryEntry],
    user_text: &str,
    write: &mut TurnWrite,
) -> TurnResult {
    let Some(model) = &state.language_model else {
        return TurnResult::NoModel;
    };
    let cfg = &state.config.language_model;
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(cfg.turn_budget_ms);
    let mut chat: Vec<ChatMessage> = history
        .iter()
        .map(|h| match h.role {
            Role::User => ChatMessage::user(&h.text),
            Role::Agent => ChatMessage::assistant(&h.text),
        })
        .collect();
    chat.push(ChatMessage::user(user_text));
    let system = format!(
        "{prompt}\n\nYou are texting with a person by {channel} from {agent}. Answer their latest \
         message in plain text, briefly, as one text message.",
        channel = c.channel.to_uppercase(),
        agent = c.agent_number,
    );
    let instruction = "Write the next message to the user.";
    match model
        .generate(&system, &chat, instruction, &CallOptions::before(deadline))
        .await
    {
        Ok(text) => {
            write.messages.push(outbound(&text));
            TurnResult::Objective
        }
        Err(e) => {
            tracing::warn!(conversation.id = %c.id, error = %e, "model failed; sending the fallback reply");
            write.messages.push(outbound(&cfg.fallback_reply));
            TurnResult::Fallback
        }
    }
}

/// One pathway turn, following Transfer Pathway signals.
#[allow(clippy::too_many_arguments)]
async fn pathway_turn(
    state: &AppState,
    c: &ConversationRow,
    pathway_id: &str,
    version: Option<&str>,
    start_node_id: Option<&str>,
    user_text: &str,
    ctx: TurnContext,
    write: &mut TurnWrite,
) -> parley_store::Result<TurnResult> {
    // The conversation's variables: request_data (merged over by later sends) and what
    // earlier runs set, so a send's new request_data reaches a pathway already running.
    let variables = match c.json(&c.variables) {
        Some(Value::Object(m)) => m,
        _ => Default::default(),
    };
    // The stored engine state is where the conversation stands, unless it was pointed at
    // another pathway since (a later send naming one). A pathway it transferred to is its
    // own `pathway_id` now, even where the reply source still names the first one (a
    // persona's settings, the number's config).
    let stored: Option<PathwayState> = state
        .store
        .pathway_state(&c.id)
        .await?
        .and_then(|s| serde_json::from_str(&s).ok())
        .filter(|s: &PathwayState| {
            let at = s.pathway_id.as_deref();
            at == Some(pathway_id) || (at.is_some() && at == c.pathway_id.as_deref())
        });
    let mut pathway_state = match stored {
        Some(mut s) => {
            s.variables.extend(variables);
            // Every run stores its node on the row too, so a row that names another node was
            // moved there since (`resume` with `node_id`, `/v1/sms/create`): it wins.
            if c.current_node_id.is_some() && c.current_node_id != s.current_node_id {
                s.current_node_id = c.current_node_id.clone();
                s.return_node_id = None;
            }
            s
        }
        None => {
            let mut s =
                PathwayState::new(pathway_id.to_owned(), version.map(Into::into), variables);
            s.current_node_id = c
                .current_node_id
                .clone()
                .or_else(|| start_node_id.map(Into::into));
            s
        }
    };
    let running = pathway_state.pathway_id.clone().unwrap_or_default();
    let Some(pathway) = load_pathway(
        state,
        &c.org_id,
        &running,
        pathway_state.pathway_version.as_deref(),
    )
    .await?
    else {
        return Ok(TurnResult::Unresolved);
    };
    // The conversation was opened with the agent's own message (`/v1/sms/send` with
    // `agent_message`): the user is answering the start node, which the engine must not
    // say again.
    if pathway_state.current_node_id.is_none() && ctx.history.iter().any(|h| h.role == Role::Agent)
    {
        pathway_state.current_node_id = pathway.start_node().map(|n| n.id.clone());
    }
    let report = match state
        .turns
        .run_turn(&pathway, pathway_state, user_text, ctx.clone())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(conversation.id = %c.id, error = %e, "pathway turn cannot run; no reply");
            return Ok(TurnResult::NoModel);
        }
    };
    let fallback = report.fallback.is_some();
    let mut g = Gathered::default();
    g.add(&report, &c.user_number);
    follow_transfers(
        state,
        &c.org_id,
        &c.user_number,
        report,
        ctx,
        Some(user_text),
        &mut g,
    )
    .await?;
    write
        .messages
        .extend(g.messages.iter().map(|t| outbound(t)));
    write.pathway = Some(g.write);
    Ok(if fallback {
        TurnResult::Fallback
    } else {
        TurnResult::Pathway
    })
}

/// The graph a pathway and version name, or `None` when either is gone.
pub(crate) async fn load_pathway(
    state: &AppState,
    org_id: &str,
    pathway_id: &str,
    version: Option<&str>,
) -> parley_store::Result<Option<Pathway>> {
    let version = VersionRef::parse(version.unwrap_or("production"));
    Ok(
        match state
            .store
            .resolve_pathway_ref(org_id, pathway_id, &version)
            .await?
        {
            Resolution::Found(r) => Some(Pathway::from_value(r.graph().clone())),
            Resolution::PathwayNotFound | Resolution::VersionNotFound => None,
        },
    )
}
