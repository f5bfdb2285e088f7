//! Real `parley serve` processes on one PostgreSQL database, started, `kill -9`ed and
//! restarted by the tests.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use super::Logs;

pub const API_KEY: &str = "faults-test-key";

/// A free loopback port (the listener is closed again before the node binds it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

/// How to start one node: a config file (written by the test) and a fixed port, so a
/// restarted node comes back at the address the load generators already use.
#[derive(Clone)]
pub struct NodeSpec {
    pub name: String,
    pub port: u16,
    pub database_url: String,
    pub config: PathBuf,
    pub dir: PathBuf,
}

impl NodeSpec {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// A running `parley serve`; SIGKILLed when dropped (also on panic).
pub struct Node {
    pub spec: NodeSpec,
    child: Child,
    stdout: PathBuf,
    pub runs: usize,
}

impl Node {
    pub fn start(spec: &NodeSpec, run: usize, logs: &Logs) -> Self {
        let stdout = spec.dir.join(format!("{}-{run}.stdout", spec.name));
        let stderr = spec.dir.join(format!("{}-{run}.stderr", spec.name));
        logs.add(stdout.clone());
        logs.add(stderr.clone());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
        for (k, _) in std::env::vars() {
            if k.starts_with("PARLEY_") {
                cmd.env_remove(k);
            }
        }
        let listen = format!("127.0.0.1:{}", spec.port);
        let child = cmd
            .args([
                "serve",
                "--listen",
                &listen,
                "--database-url",
                &spec.database_url,
            ])
            .arg("--config")
            .arg(&spec.config)
            .env("PARLEY_API_KEY", API_KEY)
            .env("PARLEY_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .expect("spawn parley serve");
        Self {
            spec: spec.clone(),
            child,
            stdout,
            runs: run,
        }
    }

    /// Waits for `/readyz`; fails if the process exits first.
    pub async fn ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{} exited before becoming ready: {status}", self.spec.name);
            }
            if let Ok(r) = http
                .get(format!("{}/readyz", self.spec.base()))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready after 60 s",
                self.spec.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The org id from the first-start banner (only the first node to start prints it).
    pub fn default_org_id(&self) -> String {
        let f = File::open(&self.stdout).unwrap();
        for line in BufReader::new(f).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Parley first start: created org \"default\" (") {
                return rest.trim_end_matches(')').to_owned();
            }
        }
        panic!("no first-start banner on {}'s stdout", self.spec.name);
    }

    /// Whether the process is still running (a node must not die by itself).
    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{} exited by itself: {status}", self.spec.name);
        }
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
    pub fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// SIGTERM and wait for the graceful shutdown (in-flight calls finish and record).
    pub async fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "{} ignored SIGTERM for 30 s",
                self.spec.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `parley number add` against the shared database.
pub fn add_number(database_url: &str, org_id: &str, number: &str, carrier: &str, mps: f64) {
    let out = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args([
            "number",
            "add",
            number,
            "--org",
            org_id,
            "--carrier",
            carrier,
        ])
        .args(["--mps", &mps.to_string(), "--database-url", database_url])
        .env_remove("PARLEY_DATABASE_URL")
        .output()
        .expect("run parley number add");
    assert!(
        out.status.success(),
        "parley number add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
