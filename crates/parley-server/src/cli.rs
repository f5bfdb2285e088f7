//! The operator CLI: `serve`, `migrate`, `org create`, `number add`, `batch send`.
//!
//! Commands that print records print one JSON line, so scripts can read them.

use std::{path::PathBuf, sync::Arc};

use clap::{Args, Parser, Subcommand};
use parley_domain::clock::SystemClock;
use parley_store::Store;
use tokio_util::sync::CancellationToken;

use crate::{
    api::auth,
    app::{key_prefix, App},
    cli_batch,
    cli_numbers::{self, SendingArgs},
    config::{Config, Overrides},
};

#[derive(Debug, Parser)]
#[command(
    name = "parley",
    version,
    about = "Bland-compatible SMS and WhatsApp conversational agents"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct Common {
    /// Database URL: a SQLite file path, `sqlite://…`, or `postgres://…` [env: PARLEY_DATABASE_URL]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Configuration file (TOML) merged over the defaults.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API and the workers.
    Serve {
        /// Address to listen on [env: PARLEY_LISTEN] [default: 127.0.0.1:8080]
        #[arg(long)]
        listen: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Manage organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage numbers.
    Number {
        #[command(subcommand)]
        command: NumberCommand,
    },
    /// Batch sends, through a running server's API.
    Batch {
        #[command(subcommand)]
        command: BatchCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Upload FILE, start a batch and follow it with a progress bar until it is done.
    Send(cli_batch::BatchSendArgs),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an org and an API key; prints {"org_id", "api_key"}.
    Create {
        name: String,
        /// Use this key instead of generating one.
        #[arg(long)]
        api_key: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum NumberCommand {
    /// Give an org a number; prints the number record.
    Add {
        /// The number, E.164 (e.g. +15550100001).
        number: String,
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "sandbox", value_parser = ["sandbox", "twilio"])]
        carrier: String,
        #[arg(long, default_value = "sms", value_parser = ["sms", "whatsapp", "imessage"])]
        channel: String,
        /// Rate, type, daily cap, messaging service, account [rate default: the type's, else
        /// dispatch.default_mps]
        #[command(flatten)]
        sending: SendingArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Change how a number sends; prints the number record.
    Update {
        number: String,
        #[arg(long, value_parser = ["sandbox", "twilio"])]
        carrier: Option<String>,
        #[command(flatten)]
        sending: SendingArgs,
        #[command(flatten)]
        common: Common,
    },
}

fn init_tracing() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter =
        EnvFilter::try_from_env("PARLEY_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn open(common: &Common, listen: Option<String>) -> anyhow::Result<(Config, Store)> {
    let cfg = Config::load(
        common.config.as_deref(),
        &Overrides {
            listen,
            database_url: common.database_url.clone(),
        },
    )?;
    let store = Store::connect(&cfg.database_url, &cfg.store_options()).await?;
    store.migrate().await?;
    Ok((cfg, store))
}

fn now_ms() -> i64 {
    use parley_domain::clock::Clock;
    SystemClock.now_ms()
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing();
    match cli.command {
        Command::Serve { listen, common } => serve(common, listen).await,
        Command::Batch {
            command: BatchCommand::Send(args),
        } => cli_batch::send(args).await,
        Command::Migrate { common } => {
            let (cfg, store) = open(&common, None).await?;
            tracing::info!(database = %parley_store::redact_database_url(&cfg.database_url), "migrations applied");
            store.close().await;
            Ok(())
        }
        Command::Org {
            command:
                OrgCommand::Create {
                    name,
                    api_key,
                    common,
                },
        } => {
            let (_, store) = open(&common, None).await?;
            let key = api_key.unwrap_or_else(auth::generate_key);
            anyhow::ensure!(!key.trim().is_empty(), "--api-key must not be empty");
            let org_id = uuid::Uuid::new_v4().to_string();
            store.create_org(&org_id, &name, now_ms()).await?;
            store
                .add_api_key(&org_id, &auth::hash_key(&key), &key_prefix(&key), now_ms())
                .await?;
            println!(
                "{}",
                serde_json::json!({ "org_id": org_id, "api_key": key })
            );
            store.close().await;
            Ok(())
        }
        Command::Number {
            command:
                NumberCommand::Add {
                    number,
                    org,
                    carrier,
                    channel,
                    sending,
                    common,
                },
        } => {
            let (cfg, store) = open(&common, None).await?;
            let new = cli_numbers::NewNumber {
                org: &org,
                number: &number,
                carrier: &carrier,
                channel: &channel,
            };
            let row = cli_numbers::add(&cfg, &store, &new, &sending, now_ms()).await?;
            println!("{}", serde_json::to_string(&row)?);
            store.close().await;
            Ok(())
        }
        Command::Number {
            command:
                NumberCommand::Update {
                    number,
                    carrier,
                    sending,
                    common,
                },
        } => {
            let (cfg, store) = open(&common, None).await?;
            let row =
                cli_numbers::update(&cfg, &store, &number, carrier.as_deref(), &sending).await?;
            println!("{}", serde_json::to_string(&row)?);
            store.close().await;
            Ok(())
        }
    }
}

async fn serve(common: Common, listen: Option<String>) -> anyhow::Result<()> {
    let (cfg, store) = open(&common, listen).await?;
    let listener = tokio::net::TcpListener::bind(&cfg.listen).await?;
    let addr = listener.local_addr()?;
    let db = parley_store::redact_database_url(&cfg.database_url);
    let app = App::new(store, Arc::new(SystemClock), cfg);
    if let Some(b) = app.bootstrap().await? {
        // Printed on stdout, once: the only time a generated key is ever shown.
        println!("Parley first start: created org \"default\" ({})", b.org_id);
        match &b.generated_key {
            Some(k) => println!("API key (shown once, store it now): {k}"),
            None => println!("API key: taken from PARLEY_API_KEY"),
        }
        println!("Sandbox agent number: {}", b.sandbox_number);
    }
    println!("Parley listening on http://{addr} (database {db})");
    tracing::info!(listen = %addr, database = %db, "parley serving");
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    app.serve(listener, shutdown).await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    ctrl_c.await.ok();
}
