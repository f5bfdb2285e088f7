//! Pathways: Bland's conversation graphs, and the pure engine that runs them over text.
//!
//! - [`model`]: the JSON as customers write it (kept verbatim) and typed views of it,
//!   read leniently by `parse.rs`.
//! - [`validate`]: save-time checks with stable codes, and [`Pathway::model_needs`].
//! - [`condition`]: Parley's deterministic edge conditions (`data.parleyCondition`).
//! - [`variables`]: `{{…}}` rendering with the built-ins; typed extraction.
//! - [`webhook`]: webhook node requests and response mapping.
//! - [`protocol`]: state, context, requests, answers and the outcome of a turn.
//! - [`engine`]: [`Turn`], the sans-IO state machine.
//!
//! `docs/PATHWAYS.md` describes the JSON accepted and the request/answer protocol.

pub mod condition;
pub mod engine;
pub mod model;
mod parse;
pub mod protocol;
pub mod validate;
pub(crate) mod variables;
pub mod webhook;

pub use engine::{EngineError, Turn, DEFAULT_HOP_LIMIT};
pub use model::{Edge, Node, NodeType, Pathway, Tag, VarSpec, VarType};
pub use protocol::{
    HistoryEntry, ModelReply, ModelRequest, OutboundMessage, Outcome, PathwayState, Poll, Role,
    RouteOption, Signal, TurnContext, Warning,
};
pub use validate::{Issue, IssueCode, ModelNeed, ModelNeedReason};
pub use webhook::{WebhookRequest, WebhookResponse};
