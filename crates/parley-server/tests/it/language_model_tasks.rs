//! The typed helpers on top of `LanguageModel::complete` (reply, choose, extract, check a
//! condition), against the scripted fake model on loopback: the prompts they send and how
//! they read what comes back.

use std::time::Duration;

use parley_server::language_models::{
    CallOptions, ChatMessage, FieldKind, FieldSpec, LanguageModelExt, ModelError,
};
use serde_json::json;

use crate::fake_model::{Answer, FakeModel};

#[tokio::test]
async fn generate_sends_system_instruction_and_history_and_trims_the_reply() {
    let fake = FakeModel::start().await;
    fake.push(Answer::reply(
        "<think>They want a table.</think>\n  For how many people?  \n",
    ));
    let history = [ChatMessage::user("Hi, I'd like to book")];

    let text = FakeModel::model(&fake.config())
        .generate(
            "You are Ada, the booking agent of Chez Parley.",
            &history,
            "Ask how many people are coming.",
            &CallOptions::default(),
        )
        .await
        .unwrap();

    assert_eq!(text, "For how many people?");
    let req = fake.only_request();
    assert_eq!(
        req.messages(),
        [
            (
                "system",
                "You are Ada, the booking agent of Chez Parley.\n\nAsk how many people are coming."
            ),
            ("user", "Hi, I'd like to book"),
        ]
        .map(|(r, c)| (r.to_owned(), c.to_owned()))
    );
    assert_eq!(
        req.body["temperature"].as_f64().unwrap() as f32,
        fake.config().temperature
    );
}

#[tokio::test]
async fn generate_never_returns_a_bare_reasoning_trace_or_error_marker() {
    let fake = FakeModel::start().await;
    let model = FakeModel::model(&fake.config());
    fake.push(Answer::reply(
        "<think>The user wants a table but I am unsure",
    ));
    fake.push(Answer::reply("<think>hmm</think>\n<ERROR>"));

    for case in 0..2 {
        let err = model
            .generate("s", &[], "i", &CallOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ModelError::Malformed(_)), "{case}: {err:?}");
    }
}

#[tokio::test]
async fn generate_honours_the_call_timeout() {
    let fake = FakeModel::start().await;
    fake.push(Answer::reply("late").late(30_000));
    let opts = CallOptions {
        timeout: Some(Duration::from_millis(200)),
        ..CallOptions::default()
    };

    let err = FakeModel::model(&fake.config())
        .generate("s", &[], "i", &opts)
        .await
        .unwrap_err();

    assert_eq!(err, ModelError::Timeout { after_ms: 200 });
}

#[tokio::test]
async fn choose_lists_the_options_and_reads_the_answer() {
    let fake = FakeModel::start().await;
    let model = FakeModel::model(&fake.config());
    let options = ["Book a table", "Cancel a booking", "Opening hours"].map(String::from);
    let question = "The user said: \"can I move my reservation off friday\". Which fits?";
    let answers = [
        ("2", Some(1)),
        ("Option 3.", Some(2)),
        ("**Book a table**", Some(0)),
        ("0", None),
        ("none of these", None),
        ("7", None),
        ("I cannot decide between 1 and 2", None),
        ("The capital of France is Paris", None),
    ];
    for (answer, _) in answers {
        fake.push(Answer::reply(answer));
    }

    for (answer, want) in answers {
        let got = model
            .choose(question, &options, &CallOptions::default())
            .await
            .unwrap();
        assert_eq!(got, want, "{answer:?}");
    }

    let req = &fake.requests()[0];
    let (_, prompt) = &req.messages()[1];
    assert!(prompt.starts_with(question), "{prompt}");
    assert!(
        prompt
            .ends_with("1. Book a table\n2. Cancel a booking\n3. Opening hours\n0. None of these"),
        "{prompt}"
    );
    assert_eq!(req.body["temperature"], 0.0);
}

#[tokio::test]
async fn choose_without_options_and_extract_without_fields_ask_nothing() {
    let fake = FakeModel::start().await;
    let model = FakeModel::model(&fake.config());

    let choice = model.choose("?", &[], &CallOptions::default()).await;
    let fields = model
        .extract(&[], "User: hi", &CallOptions::default())
        .await;

    assert_eq!(choice, Ok(None));
    assert_eq!(fields, Ok(serde_json::Map::new()));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn extract_asks_for_json_and_keeps_only_declared_fields_of_their_type() {
    let fake = FakeModel::start().await;
    fake.push(Answer::reply(
        &json!({
            "name": "Ada Lovelace",
            "party_size": "4",
            "high_chair": "maybe",
            "date": 20260301,
            "notes": "window seat",
        })
        .to_string(),
    ));
    let fields = [
        FieldSpec::new("name", FieldKind::String, "the guest's full name"),
        FieldSpec::new("party_size", FieldKind::Integer, "how many people"),
        FieldSpec::new(
            "high_chair",
            FieldKind::Boolean,
            "whether a high chair is needed",
        ),
        FieldSpec::new("date", FieldKind::String, "the day, as YYYY-MM-DD"),
    ];
    let transcript = "User: Ada Lovelace, four of us";

    let got = FakeModel::model(&fake.config())
        .extract(&fields, transcript, &CallOptions::default())
        .await
        .unwrap();

    assert_eq!(
        serde_json::Value::Object(got),
        json!({"name": "Ada Lovelace", "party_size": 4})
    );
    let req = fake.only_request();
    assert_eq!(req.body["response_format"], json!({"type": "json_object"}));
    let messages = req.messages();
    assert!(messages[0].1.contains("JSON"), "{}", messages[0].1);
    assert!(
        messages[0]
            .1
            .contains("- party_size (integer): how many people"),
        "{}",
        messages[0].1
    );
    assert_eq!(messages[1].1, format!("Conversation:\n{transcript}"));
}

#[tokio::test]
async fn extract_refuses_a_reply_that_is_not_a_json_object() {
    let fake = FakeModel::start().await;
    fake.push(Answer::reply("The name is Ada."));
    let fields = [FieldSpec::new("name", FieldKind::String, "")];

    let err = FakeModel::model(&fake.config())
        .extract(&fields, "User: I'm Ada", &CallOptions::default())
        .await
        .unwrap_err();

    assert!(matches!(err, ModelError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn check_condition_is_true_only_on_a_clear_yes() {
    let fake = FakeModel::start().await;
    let model = FakeModel::model(&fake.config());
    fake.script(|body| {
        // Answers by the condition asked, so each call's prompt is checked too.
        let prompt = body["messages"][1]["content"].as_str().unwrap();
        let condition = prompt
            .strip_prefix("Condition: ")
            .and_then(|p| p.split("\n\n").next())
            .unwrap();
        Answer::reply(match condition {
            "agreed" => "Yes.",
            "declined" => "NO",
            _ => "It is hard to say.",
        })
    });
    let transcript = "Agent: Shall I book it?\nUser: yes please";
    let check = |c: &'static str| {
        let model = model.clone();
        async move {
            model
                .check_condition(c, transcript, &CallOptions::default())
                .await
                .unwrap()
        }
    };

    assert!(check("agreed").await);
    assert!(!check("declined").await);
    assert!(!check("unclear").await);
    assert!(fake.requests()[0].messages()[1].1.ends_with(transcript));
}
