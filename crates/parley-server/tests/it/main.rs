//! Integration tests: the real router on a loopback port, a real database (a temp SQLite
//! file, and a fresh PostgreSQL schema when `PARLEY_TEST_DATABASE_URL` is set), a fake
//! clock, and workers driven by draining the queue instead of sleeping.

mod helpers;

mod agent_turns;
mod auth_matrix;
mod bad_input;
mod batch_fixture;
mod batches;
mod batches_flow;
mod batches_input;
mod conversation_counts;
mod conversation_fixture;
mod conversation_send;
mod conversations_create;
mod conversations_cursor;
mod conversations_filter_oracle;
mod conversations_filters;
mod conversations_list;
mod conversations_manage;
mod conversations_pairs;
mod cross_org;
mod cross_org_matrix;
mod dispatch;
mod fake_model;
mod handoff;
mod idempotency;
mod inbound;
mod language_model;
mod language_model_tasks;
mod lifecycle;
mod number_config_sends;
mod numbers;
mod numbers_legacy;
mod openapi_conversations;
mod ops;
mod opt_out;
mod pacing;
mod pathways;
mod pathways_chat;
mod pathways_golden;
mod pathways_input;
mod pathways_versions;
mod pathways_webhooks;
mod personas;
mod sandbox;
mod send;
mod timers;
mod twilio_callbacks;
mod twilio_oracle;
mod twilio_prism;
mod twilio_send;
mod twilio_sim;
mod webhook_delivery;
mod webhook_receiver;
mod webhooks;
