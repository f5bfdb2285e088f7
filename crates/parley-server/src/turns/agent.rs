//! The agent's turn on a text conversation: what drives the reply (the persona precedence,
//! `Store::resolve_reply_source`), and the reply itself, from a pathway through the
//! [`TurnDriver`] or from the number's `objective` prompt through the language model.
//!
//! Nothing here writes: the result is a [`TurnWrite`] that the turn worker lands in one
//! transaction. A reply is never an error string: the model failing gives the configured
//! `fallback_reply`; a reply source that cannot run (a pathway that needs a model when none
//! is configured, a pathway or persona deleted since) gives no reply, counted and logged.

use parley_domain::{
    pathways::{HistoryEntry, Pathway, PathwayState, Role, Signal, TurnContext},
    personas::{PersonaVersion, ReplySource},
    segments,
};
use parley_store::{
    ConversationRow, EndStatus, MessageRow, NewOutbound, ReplyLookup, ReplyRequest, Resolution,
    TurnWrite, VersionRef,
};
use serde_json::Value;

use super::driver::TurnReport;
use crate::{
    app::AppState,
    language_models::{CallOptions, ChatMessage, LanguageModelExt},
};

/// Transfer Pathway signals followed within one turn.
const MAX_TRANSFERS: usize = 3;

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
    mut ctx: TurnContext,
    write: &mut TurnWrite,
) -> parley_store::Result<TurnResult> {
    let stored: Option<PathwayState> = state
        .store
        .pathway_state(&c.id)
        .await?
        .and_then(|s| serde_json::from_str(&s).ok())
        .filter(|s: &PathwayState| s.pathway_id.as_deref() == Some(pathway_id));
    let pathway_state = match stored {
        Some(s) => s,
        None => {
            let vars = match c.json(&c.variables) {
                Some(Value::Object(m)) => m,
                _ => Default::default(),
            };
            let mut s = PathwayState::new(pathway_id.to_owned(), version.map(Into::into), vars);
            s.current_node_id = c
                .current_node_id
                .clone()
                .or_else(|| start_node_id.map(Into::into));
            s
        }
    };
    let mut pathway_state = pathway_state;
    let Some(mut pathway) = load_pathway(
        state,
        &c.org_id,
        pathway_id,
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
    let mut report = match state
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
    collect(&report, write);
    ctx.history.push(HistoryEntry {
        role: Role::User,
        text: user_text.to_owned(),
    });
    for _ in 0..MAX_TRANSFERS {
        let Signal::TransferPathway {
            pathway_id: next, ..
        } = &report.outcome.signal
        else {
            break;
        };
        let next = next.clone();
        let version = report.outcome.state.pathway_version.clone();
        let Some(p) = load_pathway(state, &c.org_id, &next, version.as_deref()).await? else {
            tracing::warn!(conversation.id = %c.id, pathway.id = %next, "transfer target pathway not found");
            break;
        };
        pathway = p;
        ctx.history
            .extend(said(&report).into_iter().map(|text| HistoryEntry {
                role: Role::Agent,
                text,
            }));
        write.pathway_id = Some(next);
        write.pathway_version = version;
        report = match state
            .turns
            .run_opener(&pathway, report.outcome.state.clone(), ctx.clone())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(conversation.id = %c.id, error = %e, "transferred pathway cannot run");
                break;
            }
        };
        collect(&report, write);
    }
    Ok(if fallback {
        TurnResult::Fallback
    } else {
        TurnResult::Pathway
    })
}

/// Adds a turn's replies and state to `write`.
fn collect(report: &TurnReport, write: &mut TurnWrite) {
    let o = &report.outcome;
    write
        .messages
        .extend(said(report).iter().map(|t| outbound(t)));
    write
        .tags
        .extend(o.tags.iter().filter_map(|t| serde_json::to_value(t).ok()));
    write.pathway_state = Some(serde_json::to_string(&o.state).expect("state serializes"));
    write.current_node_id = o.state.current_node_id.clone();
    write.variables = Some(Value::Object(o.state.variables.clone()).to_string());
    if matches!(o.signal, Signal::End { .. }) || o.state.ended {
        write.end = Some(EndStatus::Ended);
    }
    if let Signal::Handoff { node_id, .. } = &o.signal {
        write.handoff_node = Some(node_id.clone());
    }
}

/// The texts for this conversation's user (an SMS node's text to another number is not).
fn said(report: &TurnReport) -> Vec<String> {
    report
        .outcome
        .messages
        .iter()
        .filter(|m| m.to.is_none())
        .map(|m| m.text.clone())
        .filter(|t| !t.trim().is_empty())
        .collect()
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

/// A reply queued as an agent message.
pub fn outbound(text: &str) -> NewOutbound {
    let count = segments::count(text);
    NewOutbound {
        body: text.to_owned(),
        sender: "AGENT".into(),
        encoding: count.encoding.as_str().into(),
        segments: i64::from(count.segments),
        content_sid: None,
        content_variables: None,
        priority: 0,
    }
}
