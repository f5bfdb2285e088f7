//! A PostgreSQL server of the test's own (`initdb` in a temporary directory, a free port),
//! so the test can stop and start it without disturbing anything else using the shared one.
//! Runs the server binaries of the machine's PostgreSQL installation as the `postgres` user
//! when the test runs as root (PostgreSQL refuses to run as root).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use super::free_port;

pub struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// The directory holding `initdb` and `pg_ctl`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian keeps them off the `PATH`).
fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    found.retain(|p| p.join("initdb").exists());
    found.sort();
    found
        .pop()
        .expect("PostgreSQL server binaries (initdb, pg_ctl): install the postgresql package")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PrivatePg {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success(), "chown the private PostgreSQL directory");
        }
        let pg = Self {
            bin: bindir(),
            data,
            port: free_port(),
            _dir: dir,
        };
        pg.run(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-D"],
        );
        pg.start_server();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        };
        let out = cmd
            .args(args)
            .arg(&self.data)
            .current_dir(self.data.parent().unwrap_or(Path::new("/")))
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start_server(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.data.parent().unwrap().display()
        );
        let log = self.data.parent().unwrap().join("pg.log");
        let log = log.to_str().unwrap().to_owned();
        self.run("pg_ctl", &["-w", "-l", &log, "-o", &opts, "start", "-D"]);
    }

    /// A fast shutdown: open connections are terminated, as in a restart or a failover.
    pub fn stop_server(&self) {
        self.run("pg_ctl", &["-w", "-m", "fast", "stop", "-D"]);
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = cmd
            .args(["-m", "immediate", "stop", "-D"])
            .arg(&self.data)
            .output();
    }
}
