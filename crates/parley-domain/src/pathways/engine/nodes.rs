//! Entering a node: bookkeeping (return target, tags, `{{prevNodePrompt}}`), its
//! dialogue, and what its type does next (end, handoff, transfer, webhook call).

use serde_json::Value;

use super::{looks_like_json, Awaiting, EngineError, Step, Then, Turn};
use crate::pathways::{
    model::NodeType,
    protocol::{ModelRequest, Poll, Signal, Warning},
    variables::coerce,
    webhook::{BodyTemplate, WebhookRequest},
};

impl Turn<'_> {
    pub(super) fn enter(&mut self, to: usize, from: Option<usize>) -> Result<(), EngineError> {
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
    pub(super) fn speak(&mut self, n: usize, then: Then, unmet: Option<String>) -> Option<Poll> {
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

    pub(super) fn after_speaking(&self, then: Then) -> Step {
        match then {
            Then::Stay => Step::Finish(Signal::Continue),
            Then::Arrived(n) => Step::Arrived(n),
        }
    }

    /// Acts on a node just entered, once its dialogue is out.
    pub(super) fn arrived(&mut self, n: usize) -> Option<Poll> {
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

    pub(super) fn webhook_request(&mut self, n: usize) -> Option<WebhookRequest> {
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

    pub(super) fn store_extracted(&mut self, n: usize, found: serde_json::Map<String, Value>) {
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
}
