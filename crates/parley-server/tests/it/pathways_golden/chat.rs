//! A golden file's conversations again, through the chat harness (`/v1/pathway/chat/*`):
//! the same engine and driver must give the same replies, model questions, nodes, pathway
//! and variables as the SMS conversation did. Only for files marked `"chat": true`, whose
//! conversations the harness can hold: the agent opens (no `agent_message`), one text per
//! turn, nothing handed off, and no `{{from}}`/`{{to}}`/`{{call_id}}` (a chat has no numbers).

use serde_json::json;

use super::{case::Conversation, Run};
use crate::pathways_chat::{new_chat, say};

pub(super) async fn replay(run: &mut Run, c: &Conversation) {
    let at = format!("{} (chat)", c.user);
    assert!(
        !c.send.contains_key("agent_message") && !c.end.handed_off,
        "{at}: the chat harness cannot replay this conversation"
    );
    let pathway = c
        .send
        .get("pathway_id")
        .or_else(|| c.send.get("persona_settings")?.get("pathway_id"))
        .unwrap_or_else(|| panic!("{at}: the send names no pathway"));
    let mut create = json!({"pathway_id": pathway});
    for key in ["request_data", "start_node_id", "pathway_version"] {
        if let Some(v) = c.send.get(key) {
            create[key] = v.clone();
        }
    }
    let chat = new_chat(&run.app, create).await;
    run.script(&c.opener_model);
    let mut last = say(&run.app, &chat, None).await;
    run.check_model(&format!("{at} opener"), &c.opener_model);
    assert_eq!(last["assistant_responses"], json!(c.opener), "{at} opener");
    for (i, turn) in c.turns.iter().enumerate() {
        let at = format!("{at} turn {}", i + 1);
        let [text] = turn.user.as_slice() else {
            panic!("{at}: one text per turn in a chat");
        };
        run.script(&turn.model);
        last = say(&run.app, &chat, Some(text)).await;
        run.check_model(&at, &turn.model);
        assert_eq!(last["assistant_responses"], json!(turn.replies), "{at}");
    }
    let e = &c.end;
    let got = json!({
        "current_node_id": last["current_node_id"],
        "pathway_id": last["pathway_id"],
        "variables": last["variables"],
        "completed": last["completed"],
    });
    let want = json!({
        "current_node_id": e.current_node_id,
        "pathway_id": e.pathway_id,
        "variables": e.variables,
        "completed": e.ended_reason.as_deref() == Some("ended"),
    });
    assert_eq!(got, want, "{at} end");
}
