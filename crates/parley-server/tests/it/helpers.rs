use std::{net::SocketAddr, sync::Arc};

use parley_domain::clock::FakeClock;
use parley_server::{api::auth, App, Config};
use parley_store::{Store, StoreOptions};
use serde_json::Value;

pub const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend for each listed `async fn(Backend)`. The PostgreSQL
/// variant runs when `PARLEY_TEST_DATABASE_URL` is set and says so when it is not.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() {
            super::$name($crate::helpers::Backend::Sqlite).await } )* }
        mod on_postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() {
            if std::env::var("PARLEY_TEST_DATABASE_URL").is_err() {
                eprintln!("PARLEY_TEST_DATABASE_URL not set; PostgreSQL run not requested");
                return;
            }
            super::$name($crate::helpers::Backend::Postgres).await } )* }
    };
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    pub store: Store,
    pub clock: FakeClock,
    pub http: reqwest::Client,
    /// API key of the org `acme`, which owns `AGENT`.
    pub key: String,
    pub org_id: String,
    _dir: Option<tempfile::TempDir>,
    /// Where uploaded batch files go (`batches.data_dir`).
    pub files_dir: tempfile::TempDir,
}

pub const AGENT: &str = "+15550100000";
pub const USER: &str = "+15551230000";

pub fn test_config() -> Config {
    let mut cfg = Config::defaults();
    cfg.sandbox.delivery_delay_ms = 1_000;
    cfg.retry = parley_domain::retry::RetryPolicy {
        base_ms: 1_000,
        max_ms: 60_000,
        max_attempts: 3,
        jitter: 0.0,
    };
    cfg
}

async fn store_for(backend: Backend) -> (Store, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("parley.db").display()
            );
            (
                Store::connect(&url, &StoreOptions::default())
                    .await
                    .unwrap(),
                Some(dir),
            )
        }
        Backend::Postgres => {
            let base = std::env::var("PARLEY_TEST_DATABASE_URL").unwrap();
            let schema = format!("it_{}", uuid::Uuid::new_v4().simple());
            let admin = Store::connect(
                &base,
                &StoreOptions {
                    max_connections: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            admin
                .execute_raw(&format!("CREATE SCHEMA {schema}"))
                .await
                .unwrap();
            admin.close().await;
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            (
                Store::connect(
                    &url,
                    &StoreOptions {
                        max_connections: 4,
                        ..Default::default()
                    },
                )
                .await
                .unwrap(),
                None,
            )
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, test_config()).await
    }

    pub async fn spawn_with(backend: Backend, mut cfg: Config) -> Self {
        let files_dir = tempfile::tempdir().unwrap();
        cfg.batches.data_dir = files_dir.path().to_path_buf();
        let (store, dir) = store_for(backend).await;
        store.migrate().await.unwrap();
        let clock = FakeClock::new(T0);
        let app = Arc::new(App::new(store.clone(), Arc::new(clock.clone()), cfg));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app.router();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let mut t = TestApp {
            addr,
            app,
            store,
            clock,
            http: reqwest::Client::new(),
            key: String::new(),
            org_id: String::new(),
            _dir: dir,
            files_dir,
        };
        let (org_id, key) = t.org("acme").await;
        t.number(&org_id, AGENT, 1000.0).await;
        t.org_id = org_id;
        t.key = key;
        t
    }

    /// Creates an org with a fresh API key.
    pub async fn org(&self, name: &str) -> (String, String) {
        let id = uuid::Uuid::new_v4().to_string();
        self.store.create_org(&id, name, T0).await.unwrap();
        let key = auth::generate_key();
        self.store
            .add_api_key(&id, &auth::hash_key(&key), "pk_test", T0)
            .await
            .unwrap();
        (id, key)
    }

    pub async fn number(&self, org_id: &str, number: &str, mps: f64) {
        self.store
            .add_number(org_id, number, "sandbox", "sms", mps, T0)
            .await
            .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.url(path))
            .header("authorization", key)
            .json(body)
            .send()
            .await
            .unwrap();
        read(res).await
    }

    pub async fn post_with(
        &self,
        path: &str,
        key: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(path))
            .header("authorization", key)
            .json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        read(
            self.http
                .get(self.url(path))
                .header("authorization", key)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Any method, with an optional JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("authorization", key);
        if let Some(b) = body {
            req = req.json(b);
        }
        read(req.send().await.unwrap()).await
    }

    /// `GET /v1/sms/conversations?{query}` as org acme; panics unless it answers 200.
    pub async fn list(&self, query: &str) -> Value {
        let (status, body) = self
            .get(&format!("/v1/sms/conversations?{query}"), &self.key)
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        body
    }

    /// `POST /v1/sms/create` as org acme; panics unless it is accepted.
    pub async fn create(&self, body: &Value) -> Value {
        let (status, res) = self.post("/v1/sms/create", &self.key, body).await;
        assert_eq!(status, 200, "{res}");
        res["data"].clone()
    }

    /// Sends `text` from AGENT to `user` as org acme; panics unless it is accepted.
    /// The user texts AGENT on WhatsApp, which opens the 24-hour window for free-form
    /// WhatsApp messages to them.
    pub async fn open_whatsapp_window(&self, user: &str) {
        let (status, body) = self
            .post(
                "/v1/sandbox/inbound",
                &self.key,
                &serde_json::json!({"from": user, "to": AGENT, "message": "hi", "channel": "whatsapp"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn send(&self, user: &str, text: &str) -> Value {
        let (status, body) = self
            .post("/v1/sms/send", &self.key, &serde_json::json!({"user_number": user, "agent_number": AGENT, "agent_message": text}))
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }

    /// Runs dispatch and due jobs until nothing is left that is due at the current (fake) time.
    pub async fn drain(&self) {
        loop {
            let chunks = self.app.batches.run_once().await.unwrap();
            let sent = self.app.dispatcher.run_once().await.unwrap();
            let jobs = self.app.jobs.run_once().await.unwrap();
            let hooks = self.app.webhooks.run_once().await.unwrap();
            let timers = self.app.timers.run_once().await.unwrap();
            let turns = self.app.turn_worker.run_once().await.unwrap();
            let endings = self.app.endings.run_once().await.unwrap();
            if [chunks, sent, jobs, hooks, timers, turns, endings] == [0; 7] {
                break;
            }
        }
    }

    /// Moves the fake clock forward and drains what became due.
    pub async fn advance(&self, ms: i64) {
        self.clock.advance_ms(ms);
        self.drain().await;
    }

    pub async fn inbox(&self, number: &str) -> Vec<Value> {
        let (status, body) = self
            .get(
                &format!("/v1/sandbox/messages?number={}", number.replace('+', "%2B")),
                &self.key,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_array().unwrap().clone()
    }

    pub async fn conversation(&self, id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/v1/sms/conversations/{id}"), &self.key)
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"].clone()
    }
}

async fn read(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Percent-encodes a query value (`+` included, which would otherwise read as a space).
pub fn enc(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Asserts a Bland error envelope with this status and code, and returns its message.
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) -> String {
    let (s, body) = got;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    assert_eq!(body["errors"][0]["error"], code, "{body}");
    body["errors"][0]["message"].as_str().unwrap().to_owned()
}
