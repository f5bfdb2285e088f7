//! The operator interface, run as the real binary: `org create`, `number add`, `migrate`,
//! and `serve`'s first-start bootstrap.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_parley");

fn parley(db: &str, args: &[&str]) -> (bool, String, String) {
    parley_env(db, args, &[])
}

fn parley_env(db: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .args(["--database-url", db])
        .env_remove("PARLEY_API_KEY")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn org_and_number_commands_print_one_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").display().to_string();
    let (ok, out, err) = parley(&db, &["migrate"]);
    assert!(ok, "{err}");

    let (ok, out2, err) = parley(&db, &["org", "create", "acme", "--api-key", "sk_acme_test"]);
    assert!(ok, "{err}");
    assert_eq!(out2.lines().count(), 1, "{out2}");
    let org: Value = serde_json::from_str(out2.trim()).unwrap();
    assert_eq!(org["api_key"], "sk_acme_test");
    let org_id = org["org_id"].as_str().unwrap();

    let (ok, out3, err) = parley(
        &db,
        &[
            "number",
            "add",
            "+15550100001",
            "--org",
            org_id,
            "--mps",
            "5",
            "--channel",
            "whatsapp",
        ],
    );
    assert!(ok, "{err}");
    let number: Value = serde_json::from_str(out3.trim()).unwrap();
    assert_eq!(
        (
            number["phone_number"].as_str(),
            number["org_id"].as_str(),
            number["carrier"].as_str(),
            number["channel"].as_str(),
            number["mps"].as_f64()
        ),
        (
            Some("+15550100001"),
            Some(org_id),
            Some("sandbox"),
            Some("whatsapp"),
            Some(5.0)
        )
    );

    // A generated key is printed once and looks like one.
    let (ok, out4, _) = parley(&db, &["org", "create", "globex"]);
    assert!(ok);
    let generated: Value = serde_json::from_str(out4.trim()).unwrap();
    assert!(generated["api_key"].as_str().unwrap().starts_with("pk_"));

    // Refusals: a malformed number, an unknown org, a number that is taken, a bad carrier.
    let (ok, _, err) = parley(&db, &["number", "add", "5550100002", "--org", org_id]);
    assert!(!ok && err.contains("E.164"), "{err}");
    let (ok, _, err) = parley(&db, &["number", "add", "+15550100002", "--org", "nope"]);
    assert!(!ok && err.contains("does not exist"), "{err}");
    let (ok, _, err) = parley(&db, &["number", "add", "+15550100001", "--org", org_id]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, _) = parley(
        &db,
        &[
            "number",
            "add",
            "+15550100003",
            "--org",
            org_id,
            "--carrier",
            "smpp",
        ],
    );
    assert!(!ok);
    // The key is stored hashed: the database file never contains it.
    let bytes = std::fs::read(dir.path().join("p.db")).unwrap();
    let wal = std::fs::read(dir.path().join("p.db-wal")).unwrap_or_default();
    let hay = [bytes, wal].concat();
    assert!(
        !hay.windows(12).any(|w| w == b"sk_acme_test"),
        "raw API key found in the database"
    );
    let _ = out;
}

#[test]
fn numbers_take_their_sending_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").display().to_string();
    let (ok, out, err) = parley(&db, &["org", "create", "acme"]);
    assert!(ok, "{err}");
    let org: Value = serde_json::from_str(out.trim()).unwrap();
    let org_id = org["org_id"].as_str().unwrap();
    let number = |out: &str| -> Value { serde_json::from_str(out.trim()).unwrap() };

    // The type gives the rate: toll-free sends 3 segments per second by default.
    let (ok, out, err) = parley(
        &db,
        &[
            "number",
            "add",
            "+15550100011",
            "--org",
            org_id,
            "--carrier",
            "twilio",
            "--number-type",
            "toll_free",
            "--daily-cap",
            "2000",
        ],
    );
    assert!(ok, "{err}");
    let n = number(&out);
    assert_eq!(
        (
            n["carrier"].as_str(),
            n["number_type"].as_str(),
            n["mps"].as_f64(),
            n["daily_cap"].as_i64()
        ),
        (Some("twilio"), Some("toll_free"), Some(3.0), Some(2000))
    );
    let service = format!("MG{}", "0a".repeat(16));
    let (ok, out, err) = parley(
        &db,
        &[
            "number",
            "update",
            "+15550100011",
            "--messaging-service-sid",
            &service,
            "--daily-cap",
            "0",
        ],
    );
    assert!(ok, "{err}");
    let n = number(&out);
    assert_eq!(
        (
            n["messaging_service_sid"].as_str(),
            n["daily_cap"].as_i64(),
            n["mps"].as_f64()
        ),
        (Some(service.as_str()), None, Some(3.0))
    );
    let (ok, out, _) = parley(
        &db,
        &[
            "number",
            "update",
            "+15550100011",
            "--number-type",
            "short_code",
        ],
    );
    assert!(ok);
    assert_eq!(number(&out)["mps"].as_f64(), Some(100.0));

    // An account must exist in the configuration (here: from the environment).
    let (ok, _, err) = parley(
        &db,
        &["number", "update", "+15550100011", "--account", "main"],
    );
    assert!(!ok && err.contains("twilio.accounts.main"), "{err}");
    let env = [
        (
            "PARLEY_TWILIO__ACCOUNTS__MAIN__ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef",
        ),
        (
            "PARLEY_TWILIO__ACCOUNTS__MAIN__AUTH_TOKEN",
            "secret-token-value",
        ),
    ];
    let (ok, out, err) = parley_env(
        &db,
        &["number", "update", "+15550100011", "--account", "main"],
        &env,
    );
    assert!(ok, "{err}");
    assert_eq!(number(&out)["carrier_account"], "main");
    assert!(!out.contains("secret-token-value") && !err.contains("secret-token-value"));
    let (ok, _, err) = parley(&db, &["number", "update", "+15550100099", "--mps", "2"]);
    assert!(!ok && err.contains("does not exist"), "{err}");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `parley serve` and returns it with the stdout lines it printed up to "listening".
fn serve(db: &str, port: u16) -> (Server, Vec<String>) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            db,
        ])
        .env_remove("PARLEY_API_KEY")
        .env("PARLEY_SANDBOX__DELIVERY_DELAY_MS", "0")
        // Uploaded batch files go beside the test's database, not into the source tree.
        .env("PARLEY_BATCHES__DATA_DIR", format!("{db}.data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Parley listening");
        lines.push(line);
        if done {
            break;
        }
    }
    (server, lines)
}

/// The API key a first start printed.
fn printed_key(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("API key (shown once, store it now): "))
        .expect("key printed")
        .to_owned()
}

#[test]
fn first_start_prints_a_working_key_and_number_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").display().to_string();
    let port = free_port();
    let (server, lines) = serve(&db, port);
    let key = printed_key(&lines);
    assert!(
        lines
            .iter()
            .any(|l| l == "Sandbox agent number: +15550100000"),
        "{lines:?}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let res: Value = http
            .post(format!("{base}/v1/sms/send"))
            .header("authorization", &key)
            .json(&serde_json::json!({"user_number": "+15551234567", "agent_number": "+15550100000", "agent_message": "Hello from Parley"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(res["data"]["message"], "SMS sent successfully", "{res}");
        // The running dispatch worker delivers it to the simulated handset.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let inbox: Value = http
                .get(format!("{base}/v1/sandbox/messages?number=%2B15551234567"))
                .header("authorization", &key)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if inbox["data"].as_array().is_some_and(|a| a.len() == 1) {
                assert_eq!(inbox["data"][0]["message"], "Hello from Parley");
                break;
            }
            assert!(Instant::now() < deadline, "message never reached the sandbox handset: {inbox}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    drop(server);

    // A restart on the same database creates nothing and prints no key.
    let (_server, lines) = serve(&db, free_port());
    assert!(!lines.iter().any(|l| l.contains("API key")), "{lines:?}");
}

#[test]
fn language_model_settings_come_from_the_environment_and_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").display().to_string();
    let key = "sk-env-only-7f3a";
    let base = [
        ("PARLEY_LANGUAGE_MODEL__BASE_URL", "http://127.0.0.1:9/v1"),
        ("PARLEY_LANGUAGE_MODEL__API_KEY", key),
    ];

    let (ok, _, err) = parley_env(&db, &["migrate"], &base);
    assert!(ok, "{err}");
    let (ok, _, err) = parley_env(
        &db,
        &["migrate"],
        &[
            base[0],
            base[1],
            ("PARLEY_LANGUAGE_MODEL__TEMPERATURE", "5"),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("language_model.temperature must be between 0 and 2"),
        "{err}"
    );
    assert!(!err.contains(key), "{err}");
    let (ok, _, err) = parley_env(
        &db,
        &["migrate"],
        &[("PARLEY_LANGUAGE_MODEL__BASE_URL", "localhost:11434")],
    );
    assert!(!ok);
    assert!(err.contains("language_model.base_url"), "{err}");
}

#[test]
fn batch_send_uploads_starts_and_follows_a_batch_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db").display().to_string();
    let port = free_port();
    let (_server, lines) = serve(&db, port);
    let key = printed_key(&lines);
    let csv = dir.path().join("people.csv");
    std::fs::write(
        &csv,
        "phone_number,first_name\n15551230001,Ann\n+15551230002,Bo\nnot-a-number,Cy\n15551230001,Ann again\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "batch",
            "send",
            csv.to_str().unwrap(),
            "--agent-number",
            "+15550100000",
            "--message",
            "Hi {{first_name}}!",
            "--url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .env("PARLEY_API_KEY", &key)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("uploaded people.csv: 4 rows"), "{stderr}");
    // The last line is the final status: every row accounted for, nothing left queued.
    let status: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let t = &status["totals"];
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(
        (
            t["rows"].as_u64(),
            t["skipped"].as_u64(),
            t["queued"].as_u64()
        ),
        (Some(4), Some(2), Some(0)),
        "{status}"
    );
    assert_eq!(
        t["sent"].as_u64().unwrap() + t["delivered"].as_u64().unwrap(),
        2,
        "{status}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let inbox: Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "http://127.0.0.1:{port}/v1/sandbox/messages?number=%2B15551230001"
            ))
            .header("authorization", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let got: Vec<&str> = inbox["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        ["Hi Ann!"],
        "the duplicate row must not be sent: {inbox}"
    );
}
