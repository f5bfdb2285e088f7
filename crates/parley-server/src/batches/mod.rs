//! Batch sends: the uploaded file on disk (`file`), reading it in resumable chunks
//! (`rows`), and the per-row rules (`recipient`). The HTTP side is in `api/batches.rs` and
//! `api/files.rs`, the worker that queues the rows in `workers/batches.rs`.

pub mod file;
pub mod recipient;
pub mod rows;
