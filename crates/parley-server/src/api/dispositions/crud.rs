//! Create, list, get (any version), list versions, update (a new version) and delete.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use parley_store::{DispositionDelete, VersionWrite};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::{
    check_definition, disposition_not_found, version_not_found, DispositionEnvelope, DispositionIn,
    DispositionOut, DispositionsEnvelope, DEFINITION_KEYS,
};
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::{BlandJson, BlandQuery},
    },
    app::AppState,
};

/// Most dispositions one list page holds.
pub const MAX_LIMIT: i64 = 100;
/// Highest page number: deeper pages would skip more rows than any org has.
pub const MAX_PAGE: i64 = 1_000_000;

/// The definition keys of a body, as sent (JSON `null` included).
fn definition_of(raw: &Value) -> Map<String, Value> {
    DEFINITION_KEYS
        .iter()
        .filter_map(|k| raw.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

#[utoipa::path(
    post, path = "/v1/dispositions", tag = "dispositions",
    request_body = DispositionIn,
    responses(
        (status = 200, description = "Created as version 1", body = DispositionEnvelope),
        (status = 400, description = "`INVALID_DISPOSITION` (every problem at its path, also in `details.errors`), or model fields on a server without a model (`MODEL_REQUIRED`, `details.fields`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_disposition(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<Value>,
) -> Result<Json<Envelope<DispositionOut>>, ApiError> {
    let definition = check_definition(&state, &Value::Object(definition_of(&body.raw)))?;
    let d = state
        .store
        .create_disposition(&org.id, &definition, state.clock.now_ms())
        .await?;
    Ok(ok((&d).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, 1 to 1,000,000 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// Dispositions per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[utoipa::path(
    get, path = "/v1/dispositions", tag = "dispositions",
    params(ListParams),
    responses(
        (status = 200, description = "One page of the org's dispositions at their current versions, oldest first", body = DispositionsEnvelope),
        (status = 400, description = "page outside 1 to 1,000,000, or limit outside 1 to 100", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_dispositions(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<ListParams>,
) -> Result<Json<Envelope<Vec<DispositionOut>>>, ApiError> {
    let page = q.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(ApiError::invalid(format!(
            "page must be between 1 and {MAX_PAGE}"
        )));
    }
    let limit = q.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let list = state.store.list_dispositions(&org.id, page, limit).await?;
    Ok(ok(list.iter().map(Into::into).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetParams {
    /// A version number (default: the current version).
    pub version: Option<i64>,
}

#[utoipa::path(
    get, path = "/v1/dispositions/{disposition_id}", tag = "dispositions",
    params(("disposition_id" = String, Path, description = "Disposition id (UUID)"), GetParams),
    responses(
        (status = 200, description = "The current version, or the one `version` names", body = DispositionEnvelope),
        (status = 400, description = "`version` is not a whole number of 1 or more", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`DISPOSITION_NOT_FOUND` (unknown id, or another org's), or `DISPOSITION_VERSION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_disposition(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    BlandQuery(q): BlandQuery<GetParams>,
) -> Result<Json<Envelope<DispositionOut>>, ApiError> {
    let d = state
        .store
        .disposition(&org.id, &id)
        .await?
        .ok_or_else(|| disposition_not_found(&id))?;
    let Some(n) = q.version else {
        return Ok(ok((&d).into()));
    };
    if n < 1 {
        return Err(ApiError::invalid("version must be 1 or more"));
    }
    let v = state
        .store
        .disposition_version(&org.id, &d.id, n)
        .await?
        .ok_or_else(|| version_not_found(&d.id, n))?;
    Ok(ok(DispositionOut::new(&d, &v)))
}

#[utoipa::path(
    get, path = "/v1/dispositions/{disposition_id}/versions", tag = "dispositions",
    params(("disposition_id" = String, Path, description = "Disposition id (UUID)")),
    responses(
        (status = 200, description = "Every version, newest first", body = DispositionsEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`DISPOSITION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_versions(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
) -> Result<Json<Envelope<Vec<DispositionOut>>>, ApiError> {
    let not_found = || disposition_not_found(&id);
    let d = state
        .store
        .disposition(&org.id, &id)
        .await?
        .ok_or_else(not_found)?;
    let versions = state
        .store
        .disposition_versions(&org.id, &d.id)
        .await?
        .ok_or_else(not_found)?;
    Ok(ok(versions
        .iter()
        .map(|v| DispositionOut::new(&d, v))
        .collect()))
}

#[utoipa::path(
    patch, path = "/v1/dispositions/{disposition_id}", tag = "dispositions",
    params(("disposition_id" = String, Path, description = "Disposition id (UUID)")),
    request_body = DispositionIn,
    responses(
        (status = 200, description = "Saved as the next version, which is now current. Absent keys keep the current version's value, `null` clears `description` and `tag_field`, `fields` replaces the whole list", body = DispositionEnvelope),
        (status = 400, description = "No definition key given (`INVALID_PARAMETER`), `INVALID_DISPOSITION` or `MODEL_REQUIRED`; nothing was saved", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`DISPOSITION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_disposition(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    body: BlandJson<Value>,
) -> Result<Json<Envelope<DispositionOut>>, ApiError> {
    let changes = definition_of(&body.raw);
    if changes.is_empty() {
        return Err(ApiError::invalid(
            "nothing to update: give name, description, tag_field or fields",
        ));
    }
    let revise = |current: &parley_store::DispositionVersion| {
        let mut merged = current.definition.as_object().cloned().unwrap_or_default();
        merged.extend(changes);
        check_definition(&state, &Value::Object(merged))
    };
    match state
        .store
        .update_disposition(&org.id, &id, state.clock.now_ms(), revise)
        .await?
    {
        VersionWrite::Saved(d) => Ok(ok((&d).into())),
        VersionWrite::NotFound => Err(disposition_not_found(&id)),
        VersionWrite::Refused(e) => Err(e),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Delete even if number configs list it in `disposition_ids` (they keep the id, and
    /// conversations that name it get an `ERROR` log). Default false.
    pub force: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DispositionDeletedOut {
    pub success: bool,
    /// `Disposition deleted successfully`.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct DispositionDeletedEnvelope {
    pub data: DispositionDeletedOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    delete, path = "/v1/dispositions/{disposition_id}", tag = "dispositions",
    params(("disposition_id" = String, Path, description = "Disposition id (UUID)"), DeleteParams),
    responses(
        (status = 200, description = "Deleted with all its versions", body = DispositionDeletedEnvelope),
        (status = 400, description = "force is not true or false", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`DISPOSITION_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`DISPOSITION_IN_USE`: number configs list it and force is not true; `details.phone_numbers_using` lists them", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_disposition(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    BlandQuery(q): BlandQuery<DeleteParams>,
) -> Result<Json<Envelope<DispositionDeletedOut>>, ApiError> {
    match state
        .store
        .delete_disposition(&org.id, &id, q.force.unwrap_or(false))
        .await?
    {
        DispositionDelete::Deleted => Ok(ok(DispositionDeletedOut {
            success: true,
            message: "Disposition deleted successfully".into(),
        })),
        DispositionDelete::NotFound => Err(disposition_not_found(&id)),
        DispositionDelete::InUse(numbers) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "DISPOSITION_IN_USE",
            format!(
                "disposition {id} is listed in disposition_ids of {}; remove it there first, or delete with force=true",
                numbers.join(", ")
            ),
        )
        .with_details(json!({ "disposition_id": id, "phone_numbers_using": numbers }))),
    }
}
