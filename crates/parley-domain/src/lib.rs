//! Parley's pure domain core.
//!
//! Everything here is deterministic and free of I/O: no async runtime, no SQL, no HTTP.
//! (`batches` reads and writes through `std::io` traits, over whatever the caller opened.)
//! Adapters (store, carriers, HTTP) depend on this crate, never the other way round.
#![forbid(unsafe_code)]

pub mod batches;
pub mod capacity;
pub mod channel;
#[doc(hidden)]
pub mod checks;
pub mod citations;
pub mod clock;
pub mod conversation_record;
pub mod dispositions;
pub mod js_json;
pub mod message_status;
pub mod number_config;
pub mod number_type;
pub mod opt_out;
pub mod pacing;
pub mod pathways;
pub mod personas;
pub mod phone;
pub mod retry;
pub mod segments;
pub mod template;
pub mod timeouts;
pub mod webhook_signing;
pub mod whatsapp;

pub use channel::Channel;
pub use number_type::NumberType;
pub use phone::PhoneNumber;
