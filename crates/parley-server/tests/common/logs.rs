//! The log files of the `parley` processes a test starts, printed (their tails) when the
//! test panics. Shared by the test targets that run the real binary (`crash`, `faults`),
//! which each include this file.

use std::{
    fs::File,
    io::{BufRead, BufReader, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::Mutex,
};

/// Every process log of a test; prints their tails if the test panics.
#[derive(Default)]
pub struct Logs {
    files: Mutex<Vec<PathBuf>>,
}

impl Logs {
    pub fn add(&self, p: PathBuf) {
        self.files.lock().unwrap().push(p);
    }

    fn tail(path: &Path, max: u64) -> String {
        let Ok(mut f) = File::open(path) else {
            return "(missing)".into();
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        f.seek(SeekFrom::Start(len.saturating_sub(max))).ok();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).ok();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Lines of every log that contain `needle` (e.g. a panic message).
    pub fn grep(&self, needle: &str) -> Vec<String> {
        let mut out = Vec::new();
        for p in self.files.lock().unwrap().iter() {
            let Ok(f) = File::open(p) else { continue };
            for line in BufReader::new(f).lines().map_while(Result::ok) {
                if line.contains(needle) {
                    out.push(format!("{}: {line}", p.display()));
                }
            }
        }
        out
    }
}

impl Drop for Logs {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for p in self.files.lock().unwrap().iter() {
                eprintln!(
                    "----- tail of {} -----\n{}",
                    p.display(),
                    Self::tail(p, 8_000)
                );
            }
        }
    }
}
