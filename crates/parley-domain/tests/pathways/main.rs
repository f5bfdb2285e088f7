//! Pathway engine tests: one binary, modules by theme.

mod golden;
mod model_driven;
mod props;
mod static_flows;
mod support;
mod webhooks;
