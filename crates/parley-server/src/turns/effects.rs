//! What a pathway run means for an SMS conversation, shared by the reply turn (`agent.rs`)
//! and the opener of `/v1/sms/send` (`opener.rs`): the messages for the conversation's
//! user, the `SMS` nodes' messages to other numbers, the state, tags and signals to store
//! ([`Gathered`]), and the `Transfer Pathway` signals followed within the run
//! ([`follow_transfers`]).

use parley_domain::{
    pathways::{HistoryEntry, Role, Signal, TurnContext},
    segments, PhoneNumber,
};
use parley_store::{Elsewhere, NewOutbound, PathwayWrite};
use serde_json::Value;

use super::{agent::load_pathway, driver::TurnReport};
use crate::app::AppState;

/// Transfer Pathway signals followed within one run (a pathway that transfers in a circle
/// stops there rather than spin).
const MAX_TRANSFERS: usize = 3;

/// Everything a run (and the transfers it followed) produced, in order.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Texts for the conversation's user.
    pub messages: Vec<String>,
    /// Engine state, node, variables, tags, a transfer, texts to other numbers, an end or
    /// a handoff.
    pub write: PathwayWrite,
}

impl Gathered {
    /// Adds one engine run's outcome; `user_number` is the conversation's user.
    pub fn add(&mut self, report: &TurnReport, user_number: &str) {
        let o = &report.outcome;
        for m in &o.messages {
            if m.text.trim().is_empty() {
                continue;
            }
            match m.to.as_deref().map(PhoneNumber::parse_lenient) {
                None => self.messages.push(m.text.clone()),
                // An SMS node addressed to the user themself is part of the conversation.
                Some(Ok(to)) if to.as_str() == user_number => self.messages.push(m.text.clone()),
                Some(Ok(to)) => self.write.elsewhere.push(Elsewhere {
                    to: to.to_string(),
                    message: outbound(&m.text),
                }),
                Some(Err(e)) => {
                    tracing::warn!(node.id = %m.node_id, error = %e, "an SMS node's phoneNumber is not a phone number; its message was dropped");
                }
            }
        }
        self.write
            .tags
            .extend(o.tags.iter().filter_map(|t| serde_json::to_value(t).ok()));
        self.write.state = serde_json::to_string(&o.state).expect("state serializes");
        self.write.current_node_id = o.state.current_node_id.clone();
        self.write.variables = Some(Value::Object(o.state.variables.clone()).to_string());
        self.write.end |= matches!(o.signal, Signal::End { .. }) || o.state.ended;
        if let Signal::Handoff { node_id, .. } = &o.signal {
            self.write.handoff_node = Some(node_id.clone());
        }
    }
}

/// The texts of a run for the conversation's user (for the history the next run sees).
fn said(report: &TurnReport) -> Vec<String> {
    report
        .outcome
        .messages
        .iter()
        .filter(|m| m.to.is_none() && !m.text.trim().is_empty())
        .map(|m| m.text.clone())
        .collect()
}

/// Follows the `Transfer Pathway` signals of `report` (already added to `g`): each target
/// is loaded and opens in the same run, at the node the transfer names
/// (`transferPathwayNode`, which the engine put in the state) or at its start node, seeing
/// the whole conversation. `ctx.history` must hold what came before `report`'s run, and
/// `user_text` the text that run answered (none for an opener).
pub async fn follow_transfers(
    state: &AppState,
    org_id: &str,
    user_number: &str,
    mut report: TurnReport,
    mut ctx: TurnContext,
    user_text: Option<&str>,
    g: &mut Gathered,
) -> parley_store::Result<()> {
    ctx.history.extend(user_text.map(|t| HistoryEntry {
        role: Role::User,
        text: t.to_owned(),
    }));
    for _ in 0..MAX_TRANSFERS {
        let Signal::TransferPathway {
            pathway_id: next, ..
        } = &report.outcome.signal
        else {
            break;
        };
        let next = next.clone();
        let version = report.outcome.state.pathway_version.clone();
        let Some(pathway) = load_pathway(state, org_id, &next, version.as_deref()).await? else {
            tracing::warn!(pathway.id = %next, "transfer target pathway (or its version) not found; the transfer is not followed");
            break;
        };
        ctx.history
            .extend(said(&report).into_iter().map(|text| HistoryEntry {
                role: Role::Agent,
                text,
            }));
        g.write.transfer = Some((next, version));
        report = match state
            .turns
            .run_opener(&pathway, report.outcome.state.clone(), ctx.clone())
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "the transferred-to pathway cannot run");
                break;
            }
        };
        g.add(&report, user_number);
    }
    Ok(())
}

/// A text queued as an agent message.
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
