//! Wiring: the shared state, the workers, and first-start bootstrap.

use std::sync::Arc;

use parley_domain::clock::Clock;
use parley_store::Store;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, auth, backlog::BacklogCache},
    carriers::{sandbox::SandboxCarrier, twilio::TwilioCarrier, Carriers},
    config::Config,
    language_models::{self, LanguageModel},
    turns::TurnDriver,
    wakeups::{Wake, Wakeups},
    webhooks::Poster,
    workers::{batches::BatchRunner, dispatch::Dispatcher, jobs::JobRunner},
    workers::{
        endings::EndingWorker, timers::TimerWorker, turns::TurnWorker, webhooks::WebhookWorker,
    },
};

/// What every handler gets. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub keys: Arc<auth::KeyCache>,
    /// Pinged after a message is queued so the dispatch workers (this node's and, on
    /// PostgreSQL, the others') claim it without waiting for their next poll.
    pub dispatch_wake: Arc<Wake>,
    /// Senders' backlogs for the send API's horizon check.
    pub backlog: Arc<BacklogCache>,
    /// Pinged when a batch starts so a batch worker picks it up at once.
    pub batch_wake: Arc<Wake>,
    /// Signs and posts customer webhooks (the worker's and resends).
    pub webhooks: Poster,
    /// The configured LLM (`[language_model]`), `None` without a `base_url`: turns that need
    /// one then send `language_model.fallback_reply`.
    pub language_model: Option<Arc<dyn LanguageModel>>,
    /// Runs pathway turns (chat harness, SMS replies) with `language_model` and the guarded
    /// webhook-node client.
    pub turns: Arc<TurnDriver>,
    /// Pinged when an inbound message asks for an agent turn.
    pub turn_wake: Arc<Wake>,
    /// The three wakes above, and their relay to other nodes.
    pub wakeups: Arc<Wakeups>,
}

pub struct App {
    pub state: AppState,
    pub dispatcher: Arc<Dispatcher>,
    pub jobs: Arc<JobRunner>,
    pub batches: Arc<BatchRunner>,
    pub webhooks: Arc<WebhookWorker>,
    pub timers: Arc<TimerWorker>,
    pub turn_worker: Arc<TurnWorker>,
    pub endings: Arc<EndingWorker>,
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
        let wakeups = Arc::new(Wakeups::new(&owner));
        let dispatch_wake = wakeups.dispatch.clone();
        let batches = Arc::new(BatchRunner {
            store: store.clone(),
            clock: clock.clone(),
            owner: owner.clone(),
            cfg: config.batches.clone(),
            dispatch_wake: dispatch_wake.clone(),
        });
        // Building a TLS client only fails when the platform's TLS setup is broken, and then
        // nothing Parley sends could work.
        let poster = Poster::new(&config.webhooks).expect("the webhook HTTP client builds");
        let webhooks = Arc::new(WebhookWorker {
            store: store.clone(),
            clock: clock.clone(),
            poster: poster.clone(),
            retry: config.webhooks.retry,
            owner: owner.clone(),
            concurrency: config.webhooks.concurrency,
            lease_ms: i64::try_from(config.webhooks.timeout_ms).unwrap_or(i64::MAX / 4) * 2 + 5_000,
        });
        let language_model = match language_models::from_config(&config.language_model) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "could not build the language model client; turns that need one send the fallback reply");
                None
            }
        };
        // Like the webhook client: only a broken TLS setup makes this fail.
        let turns = Arc::new(
            TurnDriver::new(&config, language_model.clone())
                .expect("the turn driver's HTTP client builds"),
        );
        let jobs = Arc::new(JobRunner {
            store: store.clone(),
            clock: clock.clone(),
            owner: owner.clone(),
            idempotency_retention_ms: config.idempotency.retention_hours * 3_600_000,
            lease_ms: config.leases.jobs_ms,
        });
        let timers = Arc::new(TimerWorker {
            store: store.clone(),
            clock: clock.clone(),
            dispatch_wake: dispatch_wake.clone(),
            lease_ms: config.leases.timers_ms,
        });
        let state = AppState {
            store,
            clock,
            config,
            keys: Arc::new(auth::KeyCache::default()),
            dispatch_wake,
            backlog: Arc::new(BacklogCache::default()),
            batch_wake: wakeups.batches.clone(),
            webhooks: poster,
            language_model,
            turns,
            turn_wake: wakeups.turns.clone(),
            wakeups,
        };
        let turn_worker = Arc::new(TurnWorker {
            state: state.clone(),
            owner: owner.clone(),
        });
        let endings = Arc::new(EndingWorker {
            state: state.clone(),
            owner,
        });
        Self {
            state,
            dispatcher,
            jobs,
            batches,
            webhooks,
            timers,
            turn_worker,
            endings,
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
        let mut workers = self
            .state
            .wakeups
            .start(self.state.store.clone(), shutdown.clone())
            .await;
        if self.state.config.dispatch.enabled {
            workers.push(tokio::spawn(
                self.dispatcher
                    .clone()
                    .run(self.state.dispatch_wake.clone(), shutdown.clone()),
            ));
            workers.push(tokio::spawn(self.jobs.clone().run(shutdown.clone())));
            workers.push(tokio::spawn(self.webhooks.clone().run(shutdown.clone())));
            workers.push(tokio::spawn(self.timers.clone().run(shutdown.clone())));
            workers.push(tokio::spawn(self.turn_worker.clone().run(shutdown.clone())));
            workers.push(tokio::spawn(self.endings.clone().run(shutdown.clone())));
        }
        if self.state.config.batches.enabled {
            workers.push(tokio::spawn(
                self.batches
                    .clone()
                    .run(self.state.batch_wake.clone(), shutdown.clone()),
            ));
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
