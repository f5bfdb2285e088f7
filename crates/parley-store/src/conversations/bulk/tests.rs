use parley_domain::timeouts::TimeoutSettings;

use super::{runs, MAX_RUN};
use crate::{ConversationFields, NewOutbound, SendRequest};

fn send(user: &str) -> SendRequest {
    SendRequest {
        org_id: "o".into(),
        user_number: user.into(),
        agent_number: "+15550100000".into(),
        channel: "sms".into(),
        new_conversation: false,
        fields: ConversationFields::default(),
        number_timeouts: TimeoutSettings::default(),
        outbound: NewOutbound {
            body: "hi".into(),
            sender: "AGENT".into(),
            encoding: "GSM-7".into(),
            segments: 1,
            content_sid: None,
            content_variables: None,
            priority: 0,
        },
        more: Vec::new(),
        pathway: None,
        idempotency: None,
        now: 0,
    }
}

fn keyed(user: &str) -> SendRequest {
    let mut r = send(user);
    r.idempotency = Some(("k".into(), "h".into()));
    r
}

fn split(reqs: &[SendRequest]) -> Vec<std::ops::Range<usize>> {
    runs(&reqs.iter().collect::<Vec<_>>())
}

#[test]
fn distinct_plain_sends_form_one_run() {
    let reqs: Vec<_> = (0..5).map(|i| send(&format!("+1555000000{i}"))).collect();
    assert_eq!(split(&reqs), vec![0..5]);
    assert!(split(&[]).is_empty());
}

#[test]
fn a_repeated_pair_starts_a_new_run() {
    let reqs = [send("+1"), send("+2"), send("+1"), send("+3"), send("+2")];
    // The second +1 must see the first one's conversation, so it cannot share its run.
    assert_eq!(split(&reqs), vec![0..2, 2..5]);
    let mut other_channel = send("+1");
    other_channel.channel = "whatsapp".into();
    assert_eq!(split(&[send("+1"), other_channel]), vec![0..2]);
}

#[test]
fn keyed_and_new_conversation_sends_go_alone_in_order() {
    let mut fresh = send("+4");
    fresh.new_conversation = true;
    let reqs = [
        send("+1"),
        keyed("+2"),
        send("+2"),
        send("+3"),
        fresh,
        send("+4"),
    ];
    assert_eq!(split(&reqs), vec![0..1, 1..2, 2..4, 4..5, 5..6]);
    assert_eq!(split(&[keyed("+1"), keyed("+1")]), vec![0..1, 1..2]);
}

#[test]
fn runs_are_capped_and_cover_every_send_once() {
    let reqs: Vec<_> = (0..MAX_RUN * 2 + 3)
        .map(|i| send(&format!("+1{i:09}")))
        .collect();
    let got = split(&reqs);
    assert_eq!(
        got,
        vec![
            0..MAX_RUN,
            MAX_RUN..2 * MAX_RUN,
            2 * MAX_RUN..2 * MAX_RUN + 3
        ]
    );
}

#[test]
fn settings_count_as_changes() {
    let mut r = send("+1");
    assert!(r.fields.is_empty());
    r.fields.timeouts.time_out = Some(60);
    assert!(!r.fields.is_empty());
    let mut r = send("+1");
    r.fields.request_data = Some(serde_json::json!({"a": 1}));
    assert!(!r.fields.is_empty());
}
