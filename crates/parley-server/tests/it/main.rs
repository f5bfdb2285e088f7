//! Integration tests: the real router on a loopback port, a real database (a temp SQLite
//! file, and a fresh PostgreSQL schema when `PARLEY_TEST_DATABASE_URL` is set), a fake
//! clock, and workers driven by draining the queue instead of sleeping.

mod helpers;

mod bad_input;
mod conversation_fixture;
mod conversation_send;
mod conversations_create;
mod conversations_filters;
mod conversations_list;
mod conversations_manage;
mod conversations_pairs;
mod cross_org;
mod cross_org_matrix;
mod dispatch;
mod idempotency;
mod number_config_sends;
mod numbers;
mod numbers_legacy;
mod ops;
mod pacing;
mod sandbox;
mod send;
mod twilio_callbacks;
mod twilio_oracle;
mod twilio_prism;
mod twilio_send;
mod twilio_sim;
