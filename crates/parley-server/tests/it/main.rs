//! Integration tests: the real router on a loopback port, a real database (a temp SQLite
//! file, and a fresh PostgreSQL schema when `PARLEY_TEST_DATABASE_URL` is set), a fake
//! clock, and workers driven by draining the queue instead of sleeping.

mod helpers;

mod cross_org;
mod dispatch;
mod idempotency;
mod ops;
mod sandbox;
mod send;
