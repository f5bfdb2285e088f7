//! Fault tests: real `parley serve` processes on a real PostgreSQL, a loopback Twilio that
//! misbehaves on purpose and a loopback webhook receiver, all driven over HTTP.
//!
//! `PARLEY_TEST_DATABASE_URL=postgres://… cargo test -p parley-server --test faults` runs
//! them (each in a fresh database it drops afterwards); without the variable they report
//! that no PostgreSQL run was requested, like every PostgreSQL variant in this repository.

mod carrier;
mod checks;
mod cluster;
mod idempotency;
mod support;

/// The scenarios load the machine on purpose and measure rates: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
