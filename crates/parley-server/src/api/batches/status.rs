//! Parley's batch extensions: status with totals and an ETA, the skipped rows as CSV, the
//! org's batches, and cancel.

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use parley_domain::clock::iso8601_ms;
use parley_store::{BatchMessageCounts, BatchRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandQuery,
    },
    app::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchTotals {
    /// Data rows in the file.
    pub rows: Option<i64>,
    /// Rows read so far (queued or skipped).
    pub processed: i64,
    /// Messages waiting to be sent.
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    /// Failed or undelivered.
    pub failed: i64,
    /// Rows that could not be sent (see `/errors`).
    pub skipped: i64,
    /// Messages a cancel took out of the queue.
    pub cancelled: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchEta {
    /// Seconds until the agent number's queue, this batch's unread rows included, drains.
    pub seconds: i64,
    pub at: String,
    /// True when that is beyond `pacing.max_backlog_secs`: a carrier such as Twilio drops
    /// messages that wait that long, so the batch should be split or the rate raised.
    pub beyond_horizon: bool,
    pub horizon_seconds: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchStatus {
    pub batch_id: String,
    pub workflow_id: String,
    /// `running` (rows being queued), `completed` (every row queued or skipped),
    /// `cancelled`, `failed`.
    pub state: String,
    pub agent_number: String,
    pub channel: String,
    pub totals: BatchTotals,
    /// `null` once nothing of the batch is waiting.
    pub eta: Option<BatchEta>,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchStatusEnvelope {
    pub data: BatchStatus,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "BATCH_NOT_FOUND",
        format!("Batch {id} not found"),
    )
}

async fn load(state: &AppState, org: &Org, id: &str) -> Result<BatchRow, ApiError> {
    state
        .store
        .batch(&org.id, id)
        .await?
        .ok_or_else(|| not_found(id))
}

async fn status_of(state: &AppState, b: BatchRow) -> Result<BatchStatus, ApiError> {
    let counts = state.store.batch_message_counts(&b.id).await?;
    let eta = eta(state, &b, &counts).await?;
    Ok(BatchStatus {
        totals: BatchTotals {
            rows: b.total_rows,
            processed: b.next_row - 1,
            queued: counts.queued,
            sent: counts.sent,
            delivered: counts.delivered,
            failed: counts.failed,
            skipped: b.skipped,
            cancelled: counts.cancelled,
        },
        eta,
        batch_id: b.id,
        workflow_id: b.workflow_id,
        state: b.state,
        agent_number: b.agent_number,
        channel: b.channel,
        error: b.error,
        created_at: iso8601_ms(b.created_at),
        finished_at: b.finished_at.map(iso8601_ms),
    })
}

/// When the agent number's queue (live traffic goes first, so the whole queue) plus the
/// batch's unread rows will have gone out, from its pacing (`Store::sender_backlog`).
async fn eta(
    state: &AppState,
    b: &BatchRow,
    counts: &BatchMessageCounts,
) -> Result<Option<BatchEta>, ApiError> {
    let unread = if b.state == "running" {
        b.total_rows.map_or(0, |t| (t - (b.next_row - 1)).max(0))
    } else {
        0
    };
    if counts.queued == 0 && unread == 0 {
        return Ok(None);
    }
    let now = state.clock.now_ms();
    let Some(backlog) = state
        .store
        .sender_backlog(&b.agent_number, now, state.config.pacing.day_clock())
        .await?
    else {
        return Ok(None);
    };
    // Unread rows are assumed to be as long as the queued ones on average.
    let per_row = if counts.queued > 0 {
        (counts.queued_segments as f64 / counts.queued as f64).max(1.0)
    } else {
        1.0
    };
    let extra = (unread as f64 * per_row).ceil() as i64;
    let now_us = now * 1000;
    let wait_us = backlog.backlog.wait_us(now_us, extra);
    let seconds = (wait_us + 999_999) / 1_000_000;
    let horizon = state.config.pacing.max_backlog_secs;
    Ok(Some(BatchEta {
        seconds,
        at: iso8601_ms(now + wait_us / 1000),
        beyond_horizon: seconds > horizon,
        horizon_seconds: horizon,
    }))
}

#[utoipa::path(
    get, path = "/v1/sms/batch/{batch_id}", tag = "batches",
    params(("batch_id" = String, Path, description = "The batch (= file) id")),
    responses(
        (status = 200, description = "Totals, state and ETA", body = BatchStatusEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "BATCH_NOT_FOUND", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_batch(
    State(state): State<AppState>,
    org: Org,
    Path(batch_id): Path<String>,
) -> Result<Json<Envelope<BatchStatus>>, ApiError> {
    let b = load(&state, &org, &batch_id).await?;
    Ok(ok(status_of(&state, b).await?))
}

const ERRORS_PAGE: i64 = 5_000;

#[utoipa::path(
    get, path = "/v1/sms/batch/{batch_id}/errors", tag = "batches",
    params(("batch_id" = String, Path, description = "The batch (= file) id")),
    responses(
        (status = 200, description = "CSV `row_number,phone_number,reason`, one line per skipped row", content_type = "text/csv", body = String),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "BATCH_NOT_FOUND", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn batch_errors(
    State(state): State<AppState>,
    org: Org,
    Path(batch_id): Path<String>,
) -> Result<Response, ApiError> {
    let b = load(&state, &org, &batch_id).await?;
    // Streamed page by page: a batch of millions may skip millions.
    let store = state.store.clone();
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        let id = b.id.clone();
        async move {
            let after = after?;
            let mut w = csv::Writer::from_writer(Vec::new());
            if after == 0 {
                w.write_record(["row_number", "phone_number", "reason"])
                    .ok()?;
            }
            let rows = match store.batch_errors(&id, after, ERRORS_PAGE).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "reading batch errors failed");
                    return Some((Err(std::io::Error::other("store error")), None));
                }
            };
            let last = rows.last().map(|r| r.row_number);
            for r in &rows {
                w.write_record([
                    r.row_number.to_string(),
                    r.phone_number.clone(),
                    r.reason.clone(),
                ])
                .ok()?;
            }
            let next = if (rows.len() as i64) < ERRORS_PAGE {
                None
            } else {
                last
            };
            let bytes = w.into_inner().ok()?;
            Some((Ok::<_, std::io::Error>(bytes), next))
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"batch-errors.csv\"",
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many (default 50, at most 200).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchListEnvelope {
    pub data: Vec<BatchStatus>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    get, path = "/v1/sms/batches", tag = "batches",
    params(ListQuery),
    responses(
        (status = 200, description = "The org's batches, newest first", body = BatchListEnvelope),
        (status = 400, description = "limit out of range", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_batches(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<ListQuery>,
) -> Result<Json<Envelope<Vec<BatchStatus>>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 200"));
    }
    let rows = state.store.batches(&org.id, None, limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for b in rows {
        out.push(status_of(&state, b).await?);
    }
    Ok(ok(out))
}

#[utoipa::path(
    post, path = "/v1/sms/batch/{batch_id}/cancel", tag = "batches",
    params(("batch_id" = String, Path, description = "The batch (= file) id")),
    responses(
        (status = 200, description = "Cancelled: no more rows are queued and queued rows are not sent", body = BatchStatusEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "BATCH_NOT_FOUND", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn cancel_batch(
    State(state): State<AppState>,
    org: Org,
    Path(batch_id): Path<String>,
) -> Result<Json<Envelope<BatchStatus>>, ApiError> {
    state
        .store
        .cancel_batch(&org.id, &batch_id, state.clock.now_ms())
        .await?
        .ok_or_else(|| not_found(&batch_id))?;
    let b = load(&state, &org, &batch_id).await?;
    Ok(ok(status_of(&state, b).await?))
}
