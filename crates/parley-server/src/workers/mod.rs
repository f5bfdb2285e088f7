//! Background workers. Every node runs them; all their state is in the database, so any
//! node may die at any moment and another (or the same one, restarted) picks up the work.

pub mod batches;
pub mod dispatch;
pub mod endings;
pub mod jobs;
pub mod timers;
pub mod turns;
pub mod webhooks;
