//! `POST /v1/files/attach`: upload a batch file (CSV, or a JSON array of objects).
//!
//! Accepts `multipart/form-data` (fields `file` and `file_type`, as Bland's docs describe)
//! or the file as the raw request body (`?file_type=batches&name=list.csv`). Either way the
//! bytes go straight to a file under `batches.data_dir`, never into memory whole, and the
//! upload is refused past `batches.max_file_bytes`.

use axum::{
    body::Body,
    extract::State,
    http::{header::CONTENT_TYPE, HeaderMap, StatusCode},
    Json,
};
use futures_util::TryStreamExt;
use parley_domain::clock::iso8601_ms;
use parley_store::FileRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Org,
    error::{ok, ApiError, Envelope, ErrorBody},
    extract::BlandQuery,
};
use crate::{
    app::AppState,
    batches::file::{finish, Format, Upload, UploadError},
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachQuery {
    /// For a raw-body upload: what the file is for (`batches`).
    pub file_type: Option<String>,
    /// For a raw-body upload: the file's name.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileOut {
    pub file_id: String,
    pub file_type: String,
    pub name: String,
    /// Bytes received.
    pub size: i64,
    /// `csv` or `json`.
    pub format: String,
    /// Data rows (CSV: records after the header; blank lines are not rows).
    pub row_count: Option<i64>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct FileEnvelope {
    pub data: FileOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

const MAX_NAME_CHARS: usize = 255;

fn upload_error(e: UploadError) -> ApiError {
    match e {
        UploadError::TooLarge(limit) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("file is larger than the {limit} bytes allowed (batches.max_file_bytes)"),
        ),
        UploadError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FILE", m),
        UploadError::Io(e) => {
            tracing::error!(error = %e, "could not store an upload");
            ApiError::internal()
        }
    }
}

#[utoipa::path(
    post, path = "/v1/files/attach", tag = "batches",
    params(AttachQuery),
    request_body(description = "multipart/form-data with `file` and `file_type`, or the file itself as the body (text/csv or application/json) with ?file_type=batches&name=…", content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored", body = FileEnvelope),
        (status = 400, description = "No file, no file_type, or a JSON file that is not an array of objects", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 413, description = "Larger than batches.max_file_bytes", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn attach(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<AttachQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Envelope<FileOut>>, ApiError> {
    let cfg = &state.config.batches;
    let id = uuid::Uuid::new_v4().to_string();
    let dir = cfg.data_dir.join("files").join(&org.id);
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut upload = Upload::create(&dir, &id, cfg.max_file_bytes)
        .await
        .map_err(upload_error)?;
    let received = if content_type.starts_with("multipart/form-data") {
        receive_multipart(&mut upload, content_type, body).await
    } else {
        receive_raw(&mut upload, body)
            .await
            .map(|_| (q.file_type, Some(q.name.unwrap_or_else(|| "upload".into()))))
    };
    let (file_type, name) = match received {
        Ok((Some(t), Some(n))) => (t, n),
        Ok((None, _)) => {
            upload.discard().await;
            return Err(ApiError::invalid("file_type is required (use \"batches\")"));
        }
        Ok((_, None)) => {
            upload.discard().await;
            return Err(ApiError::invalid(
                "file is required (a multipart field named file)",
            ));
        }
        Err(e) => {
            upload.discard().await;
            return Err(e);
        }
    };
    if file_type.contains('\0') || name.contains('\0') {
        upload.discard().await;
        return Err(ApiError::invalid(
            "file_type and the file name must not contain NUL characters",
        ));
    }
    let name: String = name.chars().take(MAX_NAME_CHARS).collect();
    let (raw, size) = upload.close().await.map_err(upload_error)?;
    let stem = dir.join(&id);
    let stored = tokio::task::spawn_blocking(move || finish(&raw, &stem))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(upload_error)?;
    let relative = stored
        .path
        .strip_prefix(&cfg.data_dir)
        .unwrap_or(&stored.path)
        .to_string_lossy()
        .into_owned();
    let row = FileRow {
        id,
        org_id: org.id,
        file_type,
        name,
        format: stored.format.as_str().into(),
        path: relative,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        row_count: Some(stored.rows),
        created_at: state.clock.now_ms(),
    };
    state.store.insert_file(&row).await?;
    Ok(ok(FileOut {
        file_id: row.id,
        file_type: row.file_type,
        name: row.name,
        size: row.size,
        format: match stored.format {
            Format::Csv => "csv".into(),
            Format::Jsonl => "json".into(),
        },
        row_count: row.row_count,
        created_at: iso8601_ms(row.created_at),
    }))
}

async fn receive_raw(upload: &mut Upload, body: Body) -> Result<(), ApiError> {
    let mut stream = body.into_data_stream();
    while let Some(bytes) = stream
        .try_next()
        .await
        .map_err(|e| ApiError::invalid(format!("could not read the upload: {e}")))?
    {
        upload.write(&bytes).await.map_err(upload_error)?;
    }
    Ok(())
}

/// Streams the `file` field to disk; returns `(file_type, file name)`.
async fn receive_multipart(
    upload: &mut Upload,
    content_type: &str,
    body: Body,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| ApiError::invalid(format!("multipart body without a boundary: {e}")))?;
    let mut parts = multer::Multipart::new(body.into_data_stream(), boundary);
    let bad = |e: multer::Error| ApiError::invalid(format!("malformed multipart body: {e}"));
    let mut file_type = None;
    let mut name = None;
    while let Some(mut field) = parts.next_field().await.map_err(bad)? {
        let field_name = field.name().map(str::to_owned);
        match field_name.as_deref() {
            Some("file") if name.is_none() => {
                name = Some(field.file_name().unwrap_or("upload").to_owned());
                while let Some(bytes) = field.chunk().await.map_err(bad)? {
                    upload.write(&bytes).await.map_err(upload_error)?;
                }
            }
            Some("file_type") => {
                let mut text = Vec::new();
                while let Some(bytes) = field.chunk().await.map_err(bad)? {
                    text.extend_from_slice(&bytes);
                    if text.len() > 64 {
                        return Err(ApiError::invalid("file_type is too long"));
                    }
                }
                file_type = Some(String::from_utf8_lossy(&text).trim().to_owned());
            }
            // Other fields are ignored, but read so the stream moves on.
            _ => while field.chunk().await.map_err(bad)?.is_some() {},
        }
    }
    Ok((file_type, name))
}
