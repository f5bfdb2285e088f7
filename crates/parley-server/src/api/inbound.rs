//! What happens to a user's message, whichever carrier brought it (the sandbox handset,
//! Twilio): a STOP-style keyword opts the user out (stored, webhooked, conversation ended
//! `blacklisted`, user suppressed, in one transaction); a START-style keyword from a
//! suppressed user opts them back in; HELP is answered with the number's `help_message`
//! when it has one (even to an opted-out user, without a turn); anything else goes through
//! the decision procedure (spec 7.3, `parley_store::ReplyDecision`), which stores it and
//! says whether the agent should answer.

use parley_domain::opt_out::{self, Keyword};
use parley_store::{InboundKeyword, InboundMessage, InboundOutcome};

use crate::app::AppState;

/// Stores `m` (with its carrier-reported `media`), acts on a keyword, and returns where it
/// landed and whether the agent answers it (`outcome.reply.wants_reply()`: then an agent
/// turn was requested with it, which the turn worker runs). The decision is counted in
/// `parley_inbound_total{decision}`.
pub async fn store_inbound(
    state: &AppState,
    m: &InboundMessage,
    media: Option<&serde_json::Value>,
) -> parley_store::Result<InboundOutcome> {
    let outcome = store(state, m, media).await?;
    metrics::counter!("parley_inbound_total", "decision" => outcome.reply.as_str()).increment(1);
    Ok(outcome)
}

async fn store(
    state: &AppState,
    m: &InboundMessage,
    media: Option<&serde_json::Value>,
) -> parley_store::Result<InboundOutcome> {
    let store = &state.store;
    let keyword = opt_out::classify(&m.body);
    if keyword == Some(Keyword::Help) {
        if let Some(answer) = store
            .help_message(&m.org_id, &m.agent_number, &m.channel)
            .await?
        {
            metrics::counter!("parley_opt_keywords_total", "kind" => "help").increment(1);
            let stored = store.record_inbound_help(m, media, &answer).await?;
            state.dispatch_wake.notify_one();
            return Ok(stored);
        }
    }
    let action = match keyword {
        Some(Keyword::OptOut) => Some(InboundKeyword::OptOut),
        // "YES" from a user who never opted out is an ordinary answer.
        Some(Keyword::OptIn)
            if store
                .is_suppressed(&m.org_id, &m.agent_number, &m.user_number)
                .await? =>
        {
            Some(InboundKeyword::OptIn)
        }
        _ => None,
    };
    match action {
        Some(k) => {
            let kind = match k {
                InboundKeyword::OptOut => "opt_out",
                InboundKeyword::OptIn => "opt_in",
            };
            metrics::counter!("parley_opt_keywords_total", "kind" => kind).increment(1);
            store.record_inbound_keyword(m, media, k).await
        }
        None => {
            let stored = store.record_inbound_with_media(m, media).await?;
            if stored.reply.wants_reply() {
                state.turn_wake.notify_one();
            }
            Ok(stored)
        }
    }
}
