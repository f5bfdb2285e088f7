//! Agent turns: running a pathway's pure engine (`parley_domain::pathways::Turn`) against
//! the real world, i.e. the language model and customers' webhook URLs.
//!
//! - [`driver`]: [`TurnDriver::run_turn`] and [`TurnDriver::run_opener`], used by the chat
//!   harness and by SMS conversations.
//! - `node_webhooks`: the SSRF-guarded HTTP client for `Webhook` nodes.
//! - [`agent`]: the reply on an SMS/WhatsApp conversation (reply source, pathway or
//!   objective), run by the turn worker (`workers::turns`).
//! - [`opener`]: the agent's first words on `/v1/sms/send` without `agent_message`.
//! - [`effects`]: what a pathway run means for a conversation (its messages, the SMS nodes'
//!   messages to other numbers, state, tags, end, handoff) and the transfers it follows.
//! - [`source_check`]: the reply source a send, create or batch names, checked before
//!   anything is written.
//!
//! Config read: `language_model.turn_budget_ms`, `language_model.fallback_reply`,
//! `webhooks.allowed_networks`, `webhooks.timeout_ms` (connect limit for webhook nodes).

pub mod agent;
pub mod driver;
pub mod effects;
mod node_webhooks;
pub mod opener;
pub mod source_check;

pub use driver::{ModelCall, TurnDriver, TurnError, TurnReport, WebhookCall};
