//! The turn state machine: advances a conversation by one user message (or opens it),
//! without doing any I/O.
//!
//! The engine yields a typed request whenever it needs the model or a webhook and is
//! resumed with the answer, so the same code runs under the async server, in tests with
//! scripted answers, and in property tests with random ones. Per turn (spec 8.5):
//! extract variables -> check the node condition (stay and re-prompt until met) ->
//! choose an edge -> enter the next node (tag, dialogue) -> webhook and SMS nodes act and
//! move on -> stop at a node that waits for the user, or at an end/handoff/transfer.

use serde_json::Value;

use super::{
    model::{Node, NodeType, Pathway},
    protocol::{
        HistoryEntry, ModelReply, ModelRequest, OutboundMessage, Outcome, PathwayState, Poll, Role,
        RouteOption, Signal, TurnContext, Warning,
    },
    variables::{coerce, Scope},
    webhook::{self, BodyTemplate, WebhookRequest, WebhookResponse},
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
    outcome_tags: Vec<super::model::Tag>,
    visited: Vec<String>,
    warnings: Vec<Warning>,
    hops: usize,
    hop_limit: usize,
    step: Step,
}

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

    fn begin(&mut self) -> Result<Option<Poll>, EngineError> {
        if self.state.ended {
            return Err(EngineError::ConversationEnded);
        }
        let current = match self.state.current_node_id.clone() {
            Some(id) => match self.pathway.node_index(&id) {
                Some(n) => Some(n),
                None => {
                    // The pathway was edited under the conversation; start over rather
                    // than leave the user stuck on a node that is gone.
                    self.warnings
                        .push(Warning::CurrentNodeMissing { node_id: id });
                    None
                }
            },
            None => None,
        };
        let start = || {
            self.pathway
                .nodes()
                .iter()
                .position(|n| n.is_start)
                .ok_or(EngineError::NoStartNode)
        };
        match (current, self.user_text.is_some()) {
            // A reply at the node the conversation is on.
            (Some(n), true) => {
                if self.node(n).extract_vars.is_empty() {
                    self.step = Step::AfterExtract(n);
                    Ok(None)
                } else {
                    Ok(Some(self.ask(n, false)))
                }
            }
            // An opener, or a first message before the agent said anything: the
            // conversation begins by entering the entry node and saying its dialogue.
            (Some(n), false) => {
                self.step = Step::Enter { to: n, from: None };
                Ok(None)
            }
            (None, _) => {
                self.step = Step::Enter {
                    to: start()?,
                    from: None,
                };
                Ok(None)
            }
        }
    }

    fn after_extract(&mut self, n: usize) -> Option<Poll> {
        if self.node(n).condition.is_some() {
            return Some(self.ask(n, true));
        }
        self.step = Step::Route(n);
        None
    }

    /// Chooses where the user's message leads from node `n`.
    fn route(&mut self, n: usize) -> Option<Poll> {
        let node = self.node(n);
        if node.global.as_ref().is_some_and(|g| g.auto_return) {
            if let Some(back) = self
                .state
                .return_node_id
                .take()
                .and_then(|id| self.pathway.node_index(&id))
            {
                // The global node has answered; the message is read where the
                // conversation came from, so "ok, yes" still confirms.
                self.state.previous_node_id = Some(node.id.clone());
                self.state.current_node_id = Some(self.node(back).id.clone());
                self.step = Step::Route(back);
                return None;
            }
        }
        let msg = self.user_text.as_deref();
        let vars = &self.state.variables;
        let edges: Vec<_> = self.pathway.outgoing(n).collect();
        let target = |id: &str| self.pathway.node_index(id);
        // Deterministic conditions first, in edge order, then `alwaysPick`.
        let fixed = edges
            .iter()
            .find(|e| e.rule.as_ref().is_some_and(|r| r.matches(msg, vars)))
            .or_else(|| edges.iter().find(|e| e.always_pick));
        if let Some(to) = fixed.and_then(|e| target(&e.target)) {
            self.step = Step::Enter { to, from: Some(n) };
            return None;
        }
        let fallback = edges
            .iter()
            .find(|e| e.is_fallback())
            .and_then(|e| target(&e.target));
        // Global nodes first: they take precedence over the node's own labels.
        let mut options = Vec::new();
        let mut targets = Vec::new();
        for (g, other) in self.pathway.nodes().iter().enumerate() {
            if let (true, Some(settings)) = (g != n, &other.global) {
                if let Some(label) = &settings.label {
                    options.push(RouteOption {
                        label: label.clone(),
                        description: settings.description.clone(),
                        target_node_id: other.id.clone(),
                        edge_id: None,
                    });
                    targets.push(g);
                }
            }
        }
        for e in edges.iter().filter(|e| e.is_label_only()) {
            if let (Some(label), Some(to)) = (&e.label, target(&e.target)) {
                options.push(RouteOption {
                    label: label.clone(),
                    description: e.description.clone(),
                    target_node_id: e.target.clone(),
                    edge_id: Some(e.id.clone()),
                });
                targets.push(to);
            }
        }
        if options.is_empty() {
            self.step = self.no_choice(n, fallback, !edges.is_empty(), false);
            return None;
        }
        let req = ModelRequest::ChooseRoute {
            node_id: node.id.clone(),
            options,
            variables: vars.clone(),
            history: self.history.clone(),
        };
        self.step = Step::Wait(Awaiting::Choose {
            node: n,
            targets,
            fallback,
            auto: false,
        });
        Some(Poll::NeedModel(req))
    }

    /// Nothing was chosen at `n`: take the "otherwise" edge, or stay. Staying re-prompts
    /// a node that offered choices or generates dialogue; a static dead end says nothing
    /// (re-sending "Thanks, bye!" to every "ok" helps nobody). After an action node the
    /// turn simply stops there.
    fn no_choice(
        &mut self,
        n: usize,
        fallback: Option<usize>,
        had_choices: bool,
        auto: bool,
    ) -> Step {
        if let Some(to) = fallback {
            return Step::Enter { to, from: Some(n) };
        }
        if !auto && (had_choices || self.node(n).text.is_none()) {
            return Step::Speak {
                node: n,
                then: Then::Stay,
                unmet: None,
            };
        }
        Step::Finish(Signal::Continue)
    }

    /// Moves on from an action node (webhook, SMS) without new user input: variable
    /// conditions, `alwaysPick`, a single edge, the model among labels, the fallback.
    fn auto_advance(&mut self, n: usize) -> Option<Poll> {
        let vars = &self.state.variables;
        let edges: Vec<_> = self.pathway.outgoing(n).collect();
        let target = |id: &str| self.pathway.node_index(id);
        let fixed = edges
            .iter()
            .find(|e| {
                e.rule
                    .as_ref()
                    .is_some_and(|r| !r.reads_message() && r.matches(None, vars))
            })
            .or_else(|| edges.iter().find(|e| e.always_pick))
            .or_else(|| {
                if edges.len() == 1 {
                    edges.first()
                } else {
                    None
                }
            });
        if let Some(to) = fixed.and_then(|e| target(&e.target)) {
            self.step = Step::Enter { to, from: Some(n) };
            return None;
        }
        let fallback = edges
            .iter()
            .find(|e| e.is_fallback())
            .and_then(|e| target(&e.target));
        let (options, targets): (Vec<_>, Vec<_>) = edges
            .iter()
            .filter(|e| e.is_label_only())
            .filter_map(|e| {
                let to = target(&e.target)?;
                let option = RouteOption {
                    label: e.label.clone()?,
                    description: e.description.clone(),
                    target_node_id: e.target.clone(),
                    edge_id: Some(e.id.clone()),
                };
                Some((option, to))
            })
            .unzip();
        if options.is_empty() {
            self.step = self.no_choice(n, fallback, true, true);
            return None;
        }
        let req = ModelRequest::ChooseRoute {
            node_id: self.node(n).id.clone(),
            options,
            variables: vars.clone(),
            history: self.history.clone(),
        };
        self.step = Step::Wait(Awaiting::Choose {
            node: n,
            targets,
            fallback,
            auto: true,
        });
        Some(Poll::NeedModel(req))
    }

    fn enter(&mut self, to: usize, from: Option<usize>) -> Result<(), EngineError> {
        let node = self.node(to);
        self.hops += 1;
        if self.hops > self.hop_limit {
            return Err(EngineError::HopLimit {
                limit: self.hop_limit,
                node_id: node.id.clone(),
            });
        }
        match (&node.global, from.map(|f| self.node(f))) {
            (Some(g), Some(prev)) if g.auto_return => {
                // Coming from another global node keeps the original way back.
                if prev.global.is_none() {
                    self.state.return_node_id = Some(prev.id.clone());
                }
            }
            _ => self.state.return_node_id = None,
        }
        if let Some(prev) = from.map(|f| self.node(f)) {
            let prompt = prev.prompt_or_text().unwrap_or_default();
            self.prev_prompt = self.render(&prev.id, prompt);
            self.state.previous_node_id = Some(prev.id.clone());
        }
        self.state.current_node_id = Some(node.id.clone());
        self.visited.push(node.id.clone());
        if let Some(tag) = &node.tag {
            if !self.outcome_tags.iter().any(|t| t.name == tag.name) {
                self.outcome_tags.push(tag.clone());
            }
        }
        if let Some(sms) = &node.sms {
            if let Some(body) = &sms.body {
                let text = self.render(&node.id, body);
                let to_number = sms
                    .phone_number
                    .as_ref()
                    .map(|p| self.render(&node.id, p))
                    .filter(|p| !p.trim().is_empty());
                self.push_message(to, text, to_number);
            }
        }
        self.step = Step::Speak {
            node: to,
            then: Then::Arrived(to),
            unmet: None,
        };
        Ok(())
    }

    /// The node's dialogue: static text now, or a request for generated text.
    fn speak(&mut self, n: usize, then: Then, unmet: Option<String>) -> Option<Poll> {
        let node = self.node(n);
        if let Some(text) = &node.text {
            let text = self.render(&node.id, text);
            self.push_message(n, text, None);
        } else if let Some(prompt) = &node.prompt {
            let prompt = self.render(&node.id, prompt);
            let global = [
                self.pathway.global_prompt(),
                node.node_prompt_addendum.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n\n");
            let global_prompt = (!global.is_empty()).then(|| self.render(&node.id, &global));
            let knowledge = node.kb.as_ref().map(|kb| self.render(&node.id, kb));
            let unmet_condition = unmet.map(|c| self.render(&node.id, &c));
            let req = ModelRequest::Dialogue {
                node_id: node.id.clone(),
                prompt,
                global_prompt,
                knowledge,
                unmet_condition,
                variables: self.state.variables.clone(),
                history: self.history.clone(),
            };
            self.step = Step::Wait(Awaiting::Dialogue { node: n, then });
            return Some(Poll::NeedModel(req));
        }
        self.step = self.after_speaking(then);
        None
    }

    fn after_speaking(&self, then: Then) -> Step {
        match then {
            Then::Stay => Step::Finish(Signal::Continue),
            Then::Arrived(n) => Step::Arrived(n),
        }
    }

    /// Acts on a node just entered, once its dialogue is out.
    fn arrived(&mut self, n: usize) -> Option<Poll> {
        let node = self.node(n);
        let node_id = node.id.clone();
        self.step = match &node.node_type {
            NodeType::EndCall => {
                self.state.ended = true;
                Step::Finish(Signal::End { node_id })
            }
            NodeType::TransferToHuman | NodeType::TransferCall => Step::Finish(Signal::Handoff {
                node_id,
                transfer_number: node.transfer_number.clone(),
            }),
            NodeType::TransferPathway => match node
                .transfer_pathway
                .as_ref()
                .and_then(|t| Some((t.pathway_id.clone()?, t)))
            {
                Some((pathway_id, t)) => {
                    self.state.pathway_id = Some(pathway_id.clone());
                    self.state.pathway_version = t.version.clone();
                    self.state.current_node_id = t.node_id.clone();
                    self.state.previous_node_id = None;
                    self.state.return_node_id = None;
                    Step::Finish(Signal::TransferPathway {
                        node_id,
                        pathway_id,
                        version: t.version.clone(),
                        target_node_id: t.node_id.clone(),
                    })
                }
                None => Step::Finish(Signal::Continue),
            },
            NodeType::Webhook => match self.webhook_request(n) {
                Some(req) => {
                    self.step = Step::Wait(Awaiting::Webhook(n));
                    return Some(Poll::NeedWebhook(req));
                }
                None => Step::AutoAdvance(n),
            },
            NodeType::Sms => Step::AutoAdvance(n),
            _ => Step::Finish(Signal::Continue),
        };
        None
    }

    fn webhook_request(&mut self, n: usize) -> Option<WebhookRequest> {
        let node = self.node(n);
        let spec = node.webhook.as_ref()?;
        let url = self.render(&node.id, spec.url.as_deref()?);
        let headers = spec
            .headers
            .iter()
            .map(|(k, v)| (self.render(&node.id, k), self.render(&node.id, v)))
            .collect();
        let mut missing = Vec::new();
        let body = spec.body.as_ref().map(|b| {
            let scope = self.scope();
            match b {
                BodyTemplate::Json(v) => scope.render_value(v, &mut missing).to_string(),
                BodyTemplate::Text(t) if looks_like_json(t) => {
                    let (out, m) = scope.render_json_text(t);
                    missing.extend(m);
                    out
                }
                BodyTemplate::Text(t) => {
                    let (out, m) = scope.render(t);
                    missing.extend(m);
                    out
                }
            }
        });
        self.warn_unknown(&node.id, missing);
        Some(WebhookRequest {
            node_id: node.id.clone(),
            method: spec.method.clone(),
            url,
            headers,
            body,
            timeout_ms: spec.timeout_ms,
        })
    }

    fn store_extracted(&mut self, n: usize, found: serde_json::Map<String, Value>) {
        let node = self.node(n);
        for spec in &node.extract_vars {
            let Some(value) = found.get(&spec.name) else {
                continue;
            };
            match coerce(spec, value) {
                Some(v) => {
                    self.state.variables.insert(spec.name.clone(), v);
                }
                None if value.is_null() => {}
                None => self.warnings.push(Warning::ExtractedValueDropped {
                    node_id: node.id.clone(),
                    name: spec.name.clone(),
                    value: value.clone(),
                }),
            }
        }
    }

    /// Asks for the node's extraction (`condition: false`) or its condition check.
    fn ask(&mut self, n: usize, condition: bool) -> Poll {
        let node = self.node(n);
        let variables = self.state.variables.clone();
        let history = self.history.clone();
        let node_id = node.id.clone();
        let (req, awaiting) = if condition {
            let condition = self.render(&node.id, node.condition.as_deref().unwrap_or_default());
            (
                ModelRequest::CheckCondition {
                    node_id,
                    condition,
                    variables,
                    history,
                },
                Awaiting::Condition(n),
            )
        } else {
            (
                ModelRequest::Extract {
                    node_id,
                    vars: node.extract_vars.clone(),
                    variables,
                    history,
                },
                Awaiting::Extract(n),
            )
        };
        self.step = Step::Wait(awaiting);
        Poll::NeedModel(req)
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

fn looks_like_json(t: &str) -> bool {
    matches!(t.trim_start().chars().next(), Some('{' | '['))
}
