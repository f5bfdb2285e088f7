//! The turn state machine: advances a conversation by one user message (or opens it),
//! without doing any I/O.
//!
//! The engine yields a typed request whenever it needs the model or a webhook and is
//! resumed with the answer, so the same code runs under the async server, in tests with
//! scripted answers, and in property tests with random ones. Per turn (spec 8.5):
//! extract variables -> check the node condition (stay and re-prompt until met) ->
//! choose an edge -> enter the next node (tag, dialogue) -> webhook and SMS nodes act and
//! move on -> stop at a node that waits for the user, or at an end/handoff/transfer.

use super::{
    model::{Node, Pathway, Tag},
    protocol::{
        HistoryEntry, ModelReply, ModelRequest, OutboundMessage, Outcome, PathwayState, Poll, Role,
        Signal, TurnContext, Warning,
    },
    variables::Scope,
    webhook::{self, WebhookRequest, WebhookResponse},
};

/// Node entries allowed in one turn. A pathway that loops without waiting for the user
/// (say `alwaysPick` edges in a cycle) fails the turn instead of spinning.
pub const DEFAULT_HOP_LIMIT: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("the pathway has no start node")]
    NoStartNode,
    #[error("the conversation already reached an End Call node")]
    ConversationEnded,
    #[error(
        "more than {limit} node hops in one turn (last at node {node_id:?}); the pathway loops"
    )]
    HopLimit { limit: usize, node_id: String },
    #[error("the turn is waiting for {expected}, not {got}")]
    UnexpectedAnswer {
        expected: &'static str,
        got: &'static str,
    },
    #[error("the turn is waiting for an answer to its last request")]
    AnswerPending,
    #[error("the turn is already finished")]
    Finished,
}

/// One turn in progress. See the module docs and `docs/PATHWAYS.md` for the protocol.
#[derive(Debug)]
pub struct Turn<'p> {
    pathway: &'p Pathway,
    ctx: TurnContext,
    state: PathwayState,
    user_text: Option<String>,
    /// `ctx.history` plus this turn's messages, for model requests.
    history: Vec<HistoryEntry>,
    /// `{{prevNodePrompt}}`, rendered.
    prev_prompt: String,
    messages: Vec<OutboundMessage>,
    outcome_tags: Vec<Tag>,
    visited: Vec<String>,
    warnings: Vec<Warning>,
    hops: usize,
    hop_limit: usize,
    step: Step,
}

mod nodes;
mod routing;

#[derive(Debug)]
enum Step {
    Begin,
    AfterExtract(usize),
    Route(usize),
    Enter {
        to: usize,
        from: Option<usize>,
    },
    Speak {
        node: usize,
        then: Then,
        unmet: Option<String>,
    },
    Arrived(usize),
    AutoAdvance(usize),
    Finish(Signal),
    Wait(Awaiting),
    Done,
}

/// What follows a node's dialogue.
#[derive(Debug, Clone, Copy)]
enum Then {
    /// Stay on the node and wait for the user (a re-prompt).
    Stay,
    /// The node was just entered: act according to its type.
    Arrived(usize),
}

#[derive(Debug)]
enum Awaiting {
    Extract(usize),
    Condition(usize),
    Choose {
        node: usize,
        targets: Vec<usize>,
        fallback: Option<usize>,
        auto: bool,
    },
    Dialogue {
        node: usize,
        then: Then,
    },
    Webhook(usize),
}

impl<'p> Turn<'p> {
    /// A turn answering `user_text`.
    pub fn new(
        pathway: &'p Pathway,
        state: PathwayState,
        user_text: &str,
        ctx: TurnContext,
    ) -> Self {
        Self::start(pathway, state, Some(user_text.to_owned()), ctx)
    }

    /// A turn where the agent speaks first: the dialogue of `state.current_node_id` (a
    /// caller-chosen `start_node_id`, or the node a pathway transfer named) or else of the
    /// start node.
    pub fn opener(pathway: &'p Pathway, state: PathwayState, ctx: TurnContext) -> Self {
        Self::start(pathway, state, None, ctx)
    }

    fn start(
        pathway: &'p Pathway,
        state: PathwayState,
        user_text: Option<String>,
        ctx: TurnContext,
    ) -> Self {
        let mut history = ctx.history.clone();
        if let Some(text) = &user_text {
            history.push(HistoryEntry {
                role: Role::User,
                text: text.clone(),
            });
        }
        Self {
            pathway,
            ctx,
            state,
            user_text,
            history,
            prev_prompt: String::new(),
            messages: Vec::new(),
            outcome_tags: Vec::new(),
            visited: Vec::new(),
            warnings: Vec::new(),
            hops: 0,
            hop_limit: DEFAULT_HOP_LIMIT,
            step: Step::Begin,
        }
    }

    pub fn with_hop_limit(mut self, limit: usize) -> Self {
        self.hop_limit = limit;
        self
    }

    /// Runs until the turn needs an answer or is done.
    pub fn poll(&mut self) -> Result<Poll, EngineError> {
        loop {
            let step = std::mem::replace(&mut self.step, Step::Done);
            let yielded = match step {
                Step::Wait(a) => {
                    self.step = Step::Wait(a);
                    return Err(EngineError::AnswerPending);
                }
                Step::Done => return Err(EngineError::Finished),
                Step::Begin => self.begin(),
                Step::AfterExtract(n) => Ok(self.after_extract(n)),
                Step::Route(n) => Ok(self.route(n)),
                Step::Enter { to, from } => self.enter(to, from).map(|()| None),
                Step::Speak { node, then, unmet } => Ok(self.speak(node, then, unmet)),
                Step::Arrived(n) => Ok(self.arrived(n)),
                Step::AutoAdvance(n) => Ok(self.auto_advance(n)),
                Step::Finish(signal) => Ok(Some(self.finish(signal))),
            };
            if let Some(poll) = yielded? {
                return Ok(poll);
            }
        }
    }

    /// Resumes after a [`Poll::NeedModel`].
    pub fn answer_model(&mut self, reply: ModelReply) -> Result<(), EngineError> {
        if !matches!(self.step, Step::Wait(_)) {
            return self.not_waiting("a model answer");
        }
        let Step::Wait(awaiting) = std::mem::replace(&mut self.step, Step::Done) else {
            return self.not_waiting("a model answer");
        };
        self.step = match (awaiting, reply) {
            (Awaiting::Extract(n), ModelReply::Extracted(found)) => {
                self.store_extracted(n, found);
                Step::AfterExtract(n)
            }
            (Awaiting::Condition(n), ModelReply::ConditionMet(met)) => {
                if met {
                    Step::Route(n)
                } else {
                    let unmet = self.node(n).condition.clone();
                    Step::Speak {
                        node: n,
                        then: Then::Stay,
                        unmet,
                    }
                }
            }
            (
                Awaiting::Choose {
                    node,
                    targets,
                    fallback,
                    auto,
                },
                ModelReply::Choice(choice),
            ) => match choice.map(|i| (i, targets.get(i))) {
                Some((_, Some(&to))) => Step::Enter {
                    to,
                    from: Some(node),
                },
                Some((index, None)) => {
                    let node_id = self.node(node).id.clone();
                    self.warnings
                        .push(Warning::ChoiceOutOfRange { node_id, index });
                    self.no_choice(node, fallback, true, auto)
                }
                None => self.no_choice(node, fallback, true, auto),
            },
            (Awaiting::Dialogue { node, then }, ModelReply::Dialogue(text)) => {
                self.push_message(node, text, None);
                self.after_speaking(then)
            }
            (awaiting, reply) => {
                let expected = awaiting.expects();
                self.step = Step::Wait(awaiting);
                return Err(EngineError::UnexpectedAnswer {
                    expected,
                    got: reply.kind(),
                });
            }
        };
        Ok(())
    }

    /// Resumes after a [`Poll::NeedWebhook`].
    pub fn answer_webhook(&mut self, response: WebhookResponse) -> Result<(), EngineError> {
        let Step::Wait(Awaiting::Webhook(n)) = self.step else {
            return self.not_waiting("a webhook answer");
        };
        let spec = self.node(n).webhook.as_ref();
        let route = spec.and_then(|spec| {
            webhook::apply_response_data(spec, &response, &mut self.state.variables);
            webhook::route(spec, &response, &self.state.variables)
        });
        self.step = match route.flatten().and_then(|id| self.pathway.node_index(&id)) {
            Some(to) => Step::Enter { to, from: Some(n) },
            None => Step::AutoAdvance(n),
        };
        Ok(())
    }

    /// Drives the turn to the end with synchronous answerers (tests, tools).
    pub fn run(
        mut self,
        mut model: impl FnMut(&ModelRequest) -> ModelReply,
        mut webhook: impl FnMut(&WebhookRequest) -> WebhookResponse,
    ) -> Result<Outcome, EngineError> {
        loop {
            match self.poll()? {
                Poll::Done(outcome) => return Ok(outcome),
                Poll::NeedModel(req) => self.answer_model(model(&req))?,
                Poll::NeedWebhook(req) => self.answer_webhook(webhook(&req))?,
            }
        }
    }

    fn not_waiting(&self, got: &'static str) -> Result<(), EngineError> {
        Err(match &self.step {
            Step::Done => EngineError::Finished,
            Step::Wait(a) => EngineError::UnexpectedAnswer {
                expected: a.expects(),
                got,
            },
            _ => EngineError::UnexpectedAnswer {
                expected: "poll() to be called",
                got,
            },
        })
    }

    fn node(&self, n: usize) -> &'p Node {
        &self.pathway.nodes()[n]
    }

    fn finish(&mut self, signal: Signal) -> Poll {
        self.step = Step::Done;
        Poll::Done(Outcome {
            messages: std::mem::take(&mut self.messages),
            state: self.state.clone(),
            tags: std::mem::take(&mut self.outcome_tags),
            signal,
            visited: std::mem::take(&mut self.visited),
            warnings: std::mem::take(&mut self.warnings),
        })
    }

    fn push_message(&mut self, n: usize, text: String, to: Option<String>) {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return;
        }
        if to.is_none() {
            self.history.push(HistoryEntry {
                role: Role::Agent,
                text: text.clone(),
            });
        }
        self.messages.push(OutboundMessage {
            text,
            node_id: self.node(n).id.clone(),
            to,
        });
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            ctx: &self.ctx,
            vars: &self.state.variables,
            last_user_message: self.user_text.as_deref().unwrap_or_default(),
            prev_node_prompt: &self.prev_prompt,
        }
    }

    fn render(&mut self, node_id: &str, template: &str) -> String {
        let (out, missing) = self.scope().render(template);
        self.warn_unknown(node_id, missing);
        out
    }

    fn warn_unknown(&mut self, node_id: &str, names: Vec<String>) {
        for name in names {
            let w = Warning::UnknownVariable {
                node_id: node_id.to_owned(),
                name,
            };
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
        }
    }
}

impl Awaiting {
    fn expects(&self) -> &'static str {
        match self {
            Self::Extract(_) => "an extraction answer",
            Self::Condition(_) => "a condition answer",
            Self::Choose { .. } => "a route choice",
            Self::Dialogue { .. } => "dialogue",
            Self::Webhook(_) => "a webhook answer",
        }
    }
}

impl ModelReply {
    fn kind(&self) -> &'static str {
        match self {
            Self::Dialogue(_) => "dialogue",
            Self::Choice(_) => "a route choice",
            Self::Extracted(_) => "an extraction answer",
            Self::ConditionMet(_) => "a condition answer",
        }
    }
}

pub(super) fn looks_like_json(t: &str) -> bool {
    matches!(t.trim_start().chars().next(), Some('{' | '['))
}
