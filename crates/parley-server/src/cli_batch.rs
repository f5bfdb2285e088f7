//! `parley batch send FILE`: a client of a running server. Uploads the file (streamed),
//! starts the batch, and follows its status with a progress bar until every row is sent,
//! failed or skipped.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct BatchSendArgs {
    /// CSV with a `phone_number` column, or a JSON array of objects.
    pub file: PathBuf,
    /// The sending number (one of the org's).
    #[arg(long)]
    pub agent_number: String,
    /// Message template; `{{column}}` is replaced by the row's value.
    #[arg(long)]
    pub message: Option<String>,
    /// `global.request_data`, as a JSON object.
    #[arg(long)]
    pub request_data: Option<String>,
    /// More `global` fields, as a JSON object (e.g. '{"metadata": {"campaign": "x"}}').
    #[arg(long)]
    pub global: Option<String>,
    /// Map a column into request_data (repeatable): `--map city`.
    #[arg(long = "map")]
    pub map: Vec<String>,
    /// Archive each recipient's active conversation first.
    #[arg(long)]
    pub new_conversation: bool,
    /// Return once the batch is started instead of following it.
    #[arg(long)]
    pub no_wait: bool,
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", env = "PARLEY_URL")]
    pub url: String,
    /// API key of the org.
    #[arg(long, env = "PARLEY_API_KEY", hide_env_values = true)]
    pub api_key: String,
}

fn json_object(
    flag: &str,
    text: &Option<String>,
) -> anyhow::Result<Option<serde_json::Map<String, Value>>> {
    match text {
        None => Ok(None),
        Some(t) => match serde_json::from_str(t).with_context(|| format!("{flag} is not JSON"))? {
            Value::Object(m) => Ok(Some(m)),
            _ => anyhow::bail!("{flag} must be a JSON object"),
        },
    }
}

async fn answer(res: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = res.status();
    let body: Value = res
        .json()
        .await
        .with_context(|| format!("{what}: the server did not answer JSON"))?;
    if !status.is_success() {
        anyhow::bail!("{what} failed ({status}): {}", body["errors"]);
    }
    Ok(body["data"].clone())
}

pub async fn send(a: BatchSendArgs) -> anyhow::Result<()> {
    let mut global = json_object("--global", &a.global)?.unwrap_or_default();
    global.insert("agent_number".into(), json!(a.agent_number));
    if let Some(m) = &a.message {
        global.insert("agent_message".into(), json!(m));
    }
    if let Some(rd) = json_object("--request-data", &a.request_data)? {
        global.insert("request_data".into(), Value::Object(rd));
    }
    if a.new_conversation {
        global.insert("new_conversation".into(), json!(true));
    }
    let mapping: serde_json::Map<String, Value> = a
        .map
        .iter()
        .map(|c| (c.clone(), json!("request_data")))
        .collect();

    let http = reqwest::Client::new();
    let base = a.url.trim_end_matches('/');
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".into());
    let file = tokio::fs::File::open(&a.file)
        .await
        .with_context(|| format!("cannot open {}", a.file.display()))?;
    let size = file.metadata().await?.len();
    let content_type = if name.ends_with(".json") {
        "application/json"
    } else {
        "text/csv"
    };
    let upload_bar = ProgressBar::new(size).with_style(ProgressStyle::with_template(
        "upload {bar:40} {bytes}/{total_bytes} {bytes_per_sec}",
    )?);
    let bar = upload_bar.clone();
    let stream =
        futures_util::StreamExt::inspect(tokio_util::io::ReaderStream::new(file), move |c| {
            if let Ok(bytes) = c {
                bar.inc(bytes.len() as u64);
            }
        });
    let uploaded = answer(
        http.post(format!("{base}/v1/files/attach"))
            .query(&[("file_type", "batches"), ("name", name.as_str())])
            .header("authorization", &a.api_key)
            .header("content-type", content_type)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .context("upload")?,
        "upload",
    )
    .await?;
    upload_bar.finish_and_clear();
    let file_id = uploaded["file_id"]
        .as_str()
        .context("no file_id")?
        .to_owned();
    eprintln!(
        "uploaded {name}: {} rows, file_id {file_id}",
        uploaded["row_count"]
    );
    let started = answer(
        http.post(format!("{base}/v1/sms/batch"))
            .header("authorization", &a.api_key)
            .json(&json!({"file_id": file_id, "global": global, "column_mapping": mapping}))
            .send()
            .await
            .context("start the batch")?,
        "start the batch",
    )
    .await?;
    if a.no_wait {
        println!("{started}");
        return Ok(());
    }
    follow(&http, base, &a.api_key, &file_id).await
}

/// Polls the batch until nothing of it is left to do; prints the final status as JSON.
async fn follow(http: &reqwest::Client, base: &str, key: &str, id: &str) -> anyhow::Result<()> {
    let bar = ProgressBar::new(0).with_style(ProgressStyle::with_template(
        "{spinner} {bar:40} {pos}/{len} rows done  {msg}",
    )?);
    loop {
        let s = answer(
            http.get(format!("{base}/v1/sms/batch/{id}"))
                .header("authorization", key)
                .send()
                .await
                .context("batch status")?,
            "batch status",
        )
        .await?;
        let t = &s["totals"];
        let n = |k: &str| t[k].as_u64().unwrap_or(0);
        bar.set_length(n("rows"));
        // Done: sent on (or delivered, failed), skipped or cancelled.
        bar.set_position(n("sent") + n("delivered") + n("failed") + n("skipped") + n("cancelled"));
        let eta = s["eta"]["seconds"]
            .as_i64()
            .map(|e| format!(" eta {e}s"))
            .unwrap_or_default();
        bar.set_message(format!(
            "{} · queued {} sent {} delivered {} failed {} skipped {}{eta}",
            s["state"].as_str().unwrap_or("?"),
            n("queued"),
            n("sent"),
            n("delivered"),
            n("failed"),
            n("skipped")
        ));
        if s["state"] != "running" && n("queued") == 0 {
            bar.finish();
            println!("{s}");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
