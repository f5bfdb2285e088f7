//! Fault tests: real `parley serve` processes on a real PostgreSQL, a loopback Twilio that
//! misbehaves on purpose and a loopback webhook receiver, all driven over HTTP.
//!
//! `PARLEY_TEST_DATABASE_URL=postgres://… cargo test -p parley-server --test faults` runs
//! them (each in a fresh database it drops afterwards); without the variable they report
//! that no PostgreSQL run was requested, like every PostgreSQL variant in this repository.

mod checks;
mod cluster;
mod support;
