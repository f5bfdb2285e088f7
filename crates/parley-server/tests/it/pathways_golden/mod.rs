//! Golden conversations: every file in `tests/golden/` is a set of pathways and the SMS
//! conversations to hold with them (the user's texts, the model's scripted answers where a
//! node needs one, and what must come out: every reply, webhook-node call, message to another
//! number, the variables, the pathway tags and the end state). Each file runs on a fresh
//! server through the HTTP API and the sandbox carrier, with the workers drained on a fake
//! clock; `case.rs` documents the format.
//!
//! The model is the scripted fake on loopback, answering from a queue: a turn that asks it
//! something the file did not script gets an error (and the fallback reply), and every
//! request is checked against the file's task list, so a file also pins *which* questions a
//! turn asks. A file with `"model": false` runs on a server with no model configured.

mod case;
mod chat;
mod node_api;

use std::{
    collections::{BTreeSet, HashMap},
    path::PathBuf,
};

use serde_json::{json, Value};

use self::{
    case::{ApiCall, Case, Conversation, ModelStep, Task, TurnCase},
    node_api::NodeApi,
};
use crate::{
    fake_model::{Answer, FakeModel},
    helpers::{test_config, Backend, TestApp, AGENT},
    webhook_receiver::Receiver,
};

crate::backend_tests!(every_golden_file_holds_its_conversations_over_sms,);

/// The set must not shrink unnoticed (a renamed directory would otherwise pass vacuously).
const AT_LEAST: usize = 9;

fn golden_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

async fn every_golden_file_holds_its_conversations_over_sms(b: Backend) {
    let files = golden_files();
    assert!(files.len() >= AT_LEAST, "only {} golden files", files.len());
    let mut failed = Vec::new();
    // One file at a time (the machine is shared); each in its own task so that one failing
    // file still lets the others report.
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(e) = tokio::spawn(run_file(b, path)).await {
            let panic = e.into_panic();
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{name}: {why}"));
        }
    }
    assert!(failed.is_empty(), "\n{}", failed.join("\n\n"));
}

/// A file's server, its fakes, and how much of each log earlier steps already checked.
pub(super) struct Run {
    pub app: TestApp,
    fake: FakeModel,
    api: NodeApi,
    hooks: Receiver,
    pathways: HashMap<String, String>,
    model_seen: usize,
    api_seen: usize,
    inbox_seen: HashMap<String, usize>,
}

async fn run_file(b: Backend, path: PathBuf) {
    let text = std::fs::read_to_string(&path).unwrap();
    let mut raw: Value = serde_json::from_str(&text).expect("not JSON");
    let fake = FakeModel::start().await;
    let api = NodeApi::start().await;
    let hooks = Receiver::start().await;
    let mut cfg = test_config();
    // Webhook nodes and the status webhooks go to loopback, which the SSRF guard refuses
    // unless allowed.
    cfg.webhooks.allowed_networks = vec!["127.0.0.0/8".into()];
    if raw["model"] == true {
        cfg.language_model = fake.config();
    }
    let app = TestApp::spawn_with(b, cfg).await;
    let mut subs = Vec::new();
    let mut pathways = HashMap::new();
    for name in raw["pathways"].as_object().expect("pathways").keys() {
        let id = crate::pathways::create(&app, &app.key, name).await;
        subs.push((format!("$PATHWAY:{name}"), id.clone()));
        pathways.insert(id, name.clone());
    }
    // Longest first, so that `$PATHWAY:billing_v2` is not read as `$PATHWAY:billing`.
    subs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    subs.push(("$API".into(), api.base_url.clone()));
    subs.push(("$AGENT".into(), AGENT.into()));
    case::substitute(&mut raw, &subs);
    let case: Case = serde_json::from_value(raw).expect("not a golden case");
    api.answer(case.api.clone());
    for (name, graph) in &case.pathways {
        let (id, _) = pathways.iter().find(|(_, n)| *n == name).unwrap();
        let (s, body) = app
            .post(&format!("/v1/pathway/{id}"), &app.key, graph)
            .await;
        assert_eq!(s, 200, "saving pathway {name}: {body}");
    }
    let mut run = Run {
        app,
        fake,
        api,
        hooks,
        pathways,
        model_seen: 0,
        api_seen: 0,
        inbox_seen: HashMap::new(),
    };
    for c in &case.conversations {
        run.sms(c).await;
    }
    if case.chat {
        for c in &case.conversations {
            chat::replay(&mut run, c).await;
        }
    }
}

impl Run {
    async fn sms(&mut self, c: &Conversation) {
        let mut body = Value::Object(c.send.clone());
        body["user_number"] = json!(c.user);
        body["agent_number"] = json!(AGENT);
        body["webhook"] = json!(self.hooks.url("/hooks"));
        self.script(&c.opener_model);
        let (s, res) = self.app.post("/v1/sms/send", &self.app.key, &body).await;
        assert_eq!(s, 200, "{}: send: {res}", c.user);
        let id = res["data"]["conversation_id"].as_str().unwrap().to_owned();
        self.app.drain().await;
        let at = format!("{} opener", c.user);
        self.check_model(&at, &c.opener_model);
        self.check_inbox(&at, &c.user, &c.opener).await;
        self.check_api(&at, &id, &c.opener_api_calls);
        for (i, turn) in c.turns.iter().enumerate() {
            self.turn(&format!("{} turn {}", c.user, i + 1), &id, c, turn)
                .await;
        }
        self.check_end(&id, c).await;
    }

    async fn turn(&mut self, at: &str, id: &str, c: &Conversation, t: &TurnCase) {
        self.script(&t.model);
        for text in &t.user {
            let (s, res) = self
                .app
                .post(
                    "/v1/sandbox/inbound",
                    &self.app.key,
                    &json!({"from": c.user, "to": AGENT, "message": text}),
                )
                .await;
            assert_eq!(s, 200, "{at}: {res}");
            assert_eq!(res["data"]["decision"], t.decision.as_str(), "{at}: {res}");
        }
        self.app.drain().await;
        self.check_model(at, &t.model);
        self.check_inbox(at, &c.user, &t.replies).await;
        self.check_api(at, id, &t.api_calls);
        let targets: BTreeSet<&str> = t.others.iter().map(|o| o.to.as_str()).collect();
        for to in targets {
            let want: Vec<String> = t
                .others
                .iter()
                .filter(|o| o.to == to)
                .map(|o| o.message.clone())
                .collect();
            self.check_inbox(&format!("{at}, to {to}"), to, &want).await;
        }
    }

    /// The webhook-node calls since the last check are exactly `want`.
    fn check_api(&mut self, at: &str, id: &str, want: &[ApiCall]) {
        let calls = self.api.calls();
        let made: Vec<Value> = calls[self.api_seen..]
            .iter()
            .enumerate()
            .map(|(i, call)| {
                // Only the headers the file expects of this call are compared.
                let headers: serde_json::Map<String, Value> = want
                    .get(i)
                    .into_iter()
                    .flat_map(|e| e.headers.keys())
                    .filter_map(|h| Some((h.clone(), json!(call.headers.get(h)?.to_str().ok()?))))
                    .collect();
                json!({"method": call.method, "path": call.path, "body": call.body, "headers": headers})
            })
            .collect();
        self.api_seen = calls.len();
        let mut expected = Value::Array(
            want.iter()
                .map(|e| json!({"method": e.method, "path": e.path, "body": e.body, "headers": e.headers}))
                .collect(),
        );
        case::substitute(&mut expected, &[("$CONVERSATION".into(), id.into())]);
        assert_eq!(Value::Array(made), expected, "{at}: webhook-node calls");
    }

    async fn check_end(&mut self, id: &str, c: &Conversation) {
        let at = format!("{} end", c.user);
        let e = &c.end;
        let got = self.app.conversation(id).await;
        let pathway = got["curr_pathway_id"].as_str().unwrap_or_default();
        let got_state = json!({
            "is_active": got["is_active"],
            "handed_off": got["handed_off"],
            "current_node_id": got["current_node_id"],
            "pathway": self.pathways.get(pathway),
            "variables": got["variables"],
        });
        let want_state = json!({
            "is_active": e.is_active,
            "handed_off": e.handed_off,
            "current_node_id": e.current_node_id,
            "pathway": self.pathways.get(&e.pathway_id),
            "variables": e.variables,
        });
        assert_eq!(got_state, want_state, "{at}");
        let list = self.app.list("pageSize=100").await;
        let listed = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["id"] == id)
            .unwrap_or_else(|| panic!("{at}: not listed"));
        assert_eq!(listed["pathway_tags"], e.pathway_tags, "{at}: pathway_tags");
        // The status webhooks tell how it ended (the API has no `ended_reason` field).
        let statuses: Vec<Value> = self
            .hooks
            .accepted()
            .iter()
            .map(|r| r.json())
            .filter(|h| h["type"] == "status" && h["conversation_id"] == id)
            .collect();
        let names: Vec<&str> = statuses
            .iter()
            .map(|h| h["status"].as_str().unwrap())
            .collect();
        let want: Vec<&str> = e
            .handed_off
            .then_some("human_handoff")
            .into_iter()
            .chain(e.ended_reason.as_deref())
            .collect();
        assert_eq!(names, want, "{at}: status webhooks");
        if let Some(last) = statuses.last() {
            assert_eq!(
                last["variables"], e.variables,
                "{at}: status webhook variables"
            );
            assert_eq!(
                last["pathway_tags"], e.pathway_tags,
                "{at}: status webhook tags"
            );
        }
    }

    /// Queues the model's answers for the next step.
    pub(super) fn script(&self, steps: &[ModelStep]) {
        for s in steps {
            self.fake.push(Answer::reply(&s.answer));
        }
    }

    /// The model requests since the last check are exactly `steps`' tasks, in order, each
    /// containing what `asked` lists.
    pub(super) fn check_model(&mut self, at: &str, steps: &[ModelStep]) {
        let all = self.fake.requests();
        let new = &all[self.model_seen..];
        self.model_seen = all.len();
        let tasks: Vec<Task> = new.iter().map(|r| Task::of(&r.body)).collect();
        let want: Vec<Task> = steps.iter().map(|s| s.task).collect();
        assert_eq!(tasks, want, "{at}: model requests");
        for (req, step) in new.iter().zip(steps) {
            let text = req.body["messages"].to_string();
            for needle in &step.asked {
                let escaped = serde_json::to_string(needle).unwrap();
                let escaped = &escaped[1..escaped.len() - 1];
                assert!(
                    text.contains(escaped),
                    "{at}: the {:?} request lacks {needle:?}: {text}",
                    step.task
                );
            }
        }
    }

    /// The messages `number`'s handset got since the last check are exactly `want`.
    async fn check_inbox(&mut self, at: &str, number: &str, want: &[String]) {
        let inbox = self.app.inbox(number).await;
        let seen = self.inbox_seen.entry(number.to_owned()).or_default();
        let new: Vec<&str> = inbox[*seen..]
            .iter()
            .map(|m| m["message"].as_str().unwrap())
            .collect();
        *seen = inbox.len();
        assert_eq!(new, want, "{at}: messages to {number}");
    }
}
