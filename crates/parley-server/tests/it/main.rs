//! Integration tests: the real router on a loopback port, a real database (a temp SQLite
//! file, and a fresh PostgreSQL schema when `PARLEY_TEST_DATABASE_URL` is set), a fake
//! clock, and workers driven by draining the queue instead of sleeping.

mod helpers;

mod cross_org;
mod dispatch;
mod idempotency;
mod ops;
mod pacing;
mod sandbox;
mod send;
mod twilio_callbacks;
mod twilio_oracle;
mod twilio_prism;
mod twilio_send;
mod twilio_sim;
