//! Invariants the fuzz targets (`fuzz/`) and the regression replay test
//! (`tests/fuzz_regressions.rs`) both assert, so a crash the fuzzer found replays through
//! exactly the code that found it. Each check takes raw bytes, never fails on bad input
//! (refusing it is fine), and panics when an invariant breaks; the panic message says which.
//!
//! Not used at run time. It lives in this crate rather than in `fuzz/` because `cargo test`
//! must run it without cargo-fuzz, and in the crate rather than a test helper because the
//! fuzz package can only depend on a library.

mod batches;
mod pathway;
mod text;

pub use batches::{batch_csv, batch_json};
pub use pathway::pathway;
pub use text::{phone, segments, template};

/// A check: panics if `data` breaks an invariant.
pub type Check = fn(data: &[u8]);

/// Every check, by target name: what the replay test iterates over.
pub const ALL: &[(&str, Check)] = &[
    ("batch_csv", batch_csv),
    ("batch_json", batch_json),
    ("pathway", pathway),
    ("template", template),
    ("phone", phone),
    ("segments", segments),
];
