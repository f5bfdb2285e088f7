//! Wiring: the shared state, the workers, and first-start bootstrap.

use std::sync::Arc;

use parley_domain::clock::Clock;
use parley_store::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, auth, backlog::BacklogCache},
    carriers::{sandbox::SandboxCarrier, twilio::TwilioCarrier, Carriers},
    config::Config,
    workers::{dispatch::Dispatcher, jobs::JobRunner},
};

/// What every handler gets. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub keys: Arc<auth::KeyCache>,
    /// Pinged after a message is queued so the dispatch worker claims it without waiting
    /// for its next poll.
    pub dispatch_wake: Arc<Notify>,
    /// Senders' backlogs for the send API's horizon check.
    pub backlog: Arc<BacklogCache>,
}

pub struct App {
    pub state: AppState,
    pub dispatcher: Arc<Dispatcher>,
    pub jobs: Arc<JobRunner>,
}

/// What first start created, to print once.
#[derive(Debug)]
pub struct Bootstrap {
    pub org_id: String,
    /// `None` when the key came from `PARLEY_API_KEY` (the operator already has it).
    pub generated_key: Option<String>,
    pub sandbox_number: String,
}

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: Config) -> Self {
        // Install the metrics recorder before anything counts.
        api::health::prometheus();
        let config = Arc::new(config);
        let owner = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let mut carriers = Carriers::default().with(
            "sandbox",
            Arc::new(SandboxCarrier::new(
                store.clone(),
                clock.clone(),
                config.sandbox.clone(),
            )),
        );
        // Without an account, `twilio` numbers fail with CARRIER_NOT_CONFIGURED, which says
        // more than an authentication error from Twilio would.
        if !config.twilio.accounts.is_empty() {
            match TwilioCarrier::new(
                config.twilio.clone(),
                config.public_base_url.clone(),
                store.clone(),
            ) {
                Ok(t) => carriers = carriers.with("twilio", Arc::new(t)),
                Err(e) => {
                    tracing::error!(error = %e, "could not build the Twilio client; twilio numbers cannot send")
                }
            }
        }
        let dispatcher = Arc::new(Dispatcher {
            store: store.clone(),
            clock: clock.clone(),
            carriers,
            cfg: config.dispatch.clone(),
            retry: config.retry,
            owner: owner.clone(),
            day_offset_ms: config.pacing.day_clock().offset_ms,
        });
        let jobs = Arc::new(JobRunner {
            store: store.clone(),
            clock: clock.clone(),
            owner,
            idempotency_retention_ms: config.idempotency.retention_hours * 3_600_000,
        });
        let state = AppState {
            store,
            clock,
            config,
            keys: Arc::new(auth::KeyCache::default()),
            dispatch_wake: Arc::new(Notify::new()),
            backlog: Arc::new(BacklogCache::default()),
        };
        Self {
            state,
            dispatcher,
            jobs,
        }
    }

    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }

    /// On an empty database: the `default` org, its API key and one sandbox number.
    pub async fn bootstrap(&self) -> anyhow::Result<Option<Bootstrap>> {
        let store = &self.state.store;
        if store.org_count().await? > 0 {
            return Ok(None);
        }
        let now = self.state.clock.now_ms();
        let org_id = uuid::Uuid::new_v4().to_string();
        store.create_org(&org_id, "default", now).await?;
        let (key, generated) = match &self.state.config.api_key {
            Some(k) if !k.trim().is_empty() => (k.trim().to_owned(), false),
            _ => (auth::generate_key(), true),
        };
        store
            .add_api_key(&org_id, &auth::hash_key(&key), &key_prefix(&key), now)
            .await?;
        let number = self.state.config.sandbox_number.clone();
        store
            .add_number(
                &org_id,
                &number,
                "sandbox",
                "sms",
                self.state.config.dispatch.default_mps,
                now,
            )
            .await?;
        Ok(Some(Bootstrap {
            org_id,
            generated_key: generated.then_some(key),
            sandbox_number: number,
        }))
    }

    /// Serves HTTP on `listener` and runs the workers until `shutdown` fires.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut workers = Vec::new();
        if self.state.config.dispatch.enabled {
            workers.push(tokio::spawn(
                self.dispatcher
                    .clone()
                    .run(self.state.dispatch_wake.clone(), shutdown.clone()),
            ));
            workers.push(tokio::spawn(self.jobs.clone().run(shutdown.clone())));
        }
        let router = self.router();
        let stop = shutdown.clone();
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await?;
        shutdown.cancel();
        for w in workers {
            w.await.ok();
        }
        Ok(())
    }
}

/// The first characters of a key, stored so an operator can tell keys apart.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(7).collect()
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "parley".into())
}
