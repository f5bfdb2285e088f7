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
mod pg_restart;
mod support;

/// The scenarios load the machine on purpose and measure rates: one at a time.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    // A tokio mutex: held across awaits, and (unlike a std one) not poisoned by a failure.
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ONE.lock().await
}
