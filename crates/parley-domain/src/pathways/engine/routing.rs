//! Reading the user's message at a node: extraction and condition requests, then the
//! choice of the way out (deterministic conditions, `alwaysPick`, global nodes and labels
//! via the model, the "otherwise" edge), and moving on from action nodes.

use super::{Awaiting, EngineError, Step, Then, Turn};
use crate::pathways::protocol::{ModelRequest, Poll, RouteOption, Signal, Warning};

impl Turn<'_> {
    pub(super) fn begin(&mut self) -> Result<Option<Poll>, EngineError> {
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

    pub(super) fn after_extract(&mut self, n: usize) -> Option<Poll> {
        if self.node(n).condition.is_some() {
            return Some(self.ask(n, true));
        }
        self.step = Step::Route(n);
        None
    }

    /// Chooses where the user's message leads from node `n`.
    pub(super) fn route(&mut self, n: usize) -> Option<Poll> {
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
    pub(super) fn no_choice(
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
    pub(super) fn auto_advance(&mut self, n: usize) -> Option<Poll> {
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

    /// Asks for the node's extraction (`condition: false`) or its condition check.
    pub(super) fn ask(&mut self, n: usize, condition: bool) -> Poll {
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
}
