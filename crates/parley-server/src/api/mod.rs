//! The HTTP edge: routes in Bland's shapes, plus Parley's extensions.
//!
//! Routes are registered through `utoipa_axum`, so a route cannot exist without its
//! OpenAPI description: `/openapi.json` covers every route by construction.

pub mod analyze;
pub mod auth;
pub mod backlog;
pub mod batches;
pub mod citation_schemas;
pub mod conversations;
pub mod dispositions;
pub mod doc;
pub mod error;
pub mod extract;
pub mod files;
pub mod health;
pub mod inbound;
pub mod numbers;
pub mod pathways;
pub mod personas;
pub mod sandbox;
pub mod send;
pub mod send_rules;
pub mod twilio;
pub mod webhooks;

use axum::{
    extract::DefaultBodyLimit,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::AppState;
use error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(title = "Parley", description = "Bland-compatible SMS and WhatsApp conversational agents."),
    modifiers(&ApiKeyAuth),
    tags(
        (name = "messages", description = "Sending messages"),
        (name = "batches", description = "Batch sends from an uploaded file"),
        (name = "numbers", description = "Numbers and their per-channel messaging config"),
        (name = "conversations", description = "Conversations and their messages"),
        (name = "personas", description = "Personas: reusable agent configurations with production and draft versions"),
        (name = "dispositions", description = "Parley extension: outcomes computed when a conversation ends, by rules or by the model, versioned"),
        (name = "pathways", description = "Pathways, their versions and publishing, and the text chat harness"),
        (name = "citations", description = "Citation schemas, backfill and conversation analysis"),
        (name = "webhooks", description = "Customer webhooks: delivery log, resend, signing secrets"),
        (name = "sandbox", description = "Parley extension: the simulated carrier"),
        (name = "carriers", description = "Callbacks from carriers (signed by the carrier, not by API key)"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "authorization",
                "The raw API key, or `Bearer <key>`",
            ))),
        );
    }
}

/// Every route of the API with its OpenAPI document.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(send::send_sms))
        .routes(routes!(files::attach))
        .routes(routes!(batches::start_batch))
        .routes(routes!(batches::status::get_batch))
        .routes(routes!(batches::status::batch_errors))
        .routes(routes!(batches::status::list_batches))
        .routes(routes!(batches::status::cancel_batch))
        .routes(routes!(numbers::list_numbers))
        .routes(routes!(numbers::update::update_number))
        .routes(routes!(numbers::legacy::update_webhook))
        .routes(routes!(numbers::legacy::update_prompt))
        .routes(routes!(numbers::legacy::toggle_human_mode))
        .routes(routes!(conversations::create::create_conversation))
        .routes(routes!(
            conversations::list::list_conversations,
            conversations::manage::update_conversation_without_id
        ))
        .routes(routes!(
            conversations::get_conversation,
            conversations::manage::update_conversation,
            conversations::manage::delete_conversation
        ))
        .routes(routes!(
            conversations::manage::delete_messages,
            conversations::send_message::send_on_conversation
        ))
        .routes(routes!(conversations::handoff::hand_off))
        .routes(routes!(conversations::handoff::resume))
        .routes(routes!(conversations::pairs::clear_pair))
        .routes(routes!(conversations::pairs::get_pair_messages))
        .routes(routes!(
            personas::crud::list_personas,
            personas::crud::create_persona
        ))
        .routes(routes!(
            personas::crud::get_persona,
            personas::crud::update_persona,
            personas::crud::delete_persona
        ))
        .routes(routes!(personas::versions::list_versions))
        .routes(routes!(personas::versions::get_version))
        .routes(routes!(personas::versions::promote))
        .routes(routes!(personas::inbound::attach))
        .routes(routes!(personas::inbound::detach))
        .routes(routes!(personas::inbound::update_settings))
        .routes(routes!(pathways::create_pathway))
        .routes(routes!(pathways::list_pathways))
        .routes(routes!(
            pathways::get_pathway,
            pathways::update_pathway,
            pathways::delete_pathway
        ))
        .routes(routes!(pathways::versions::list_versions))
        .routes(routes!(pathways::versions::create_version))
        .routes(routes!(
            pathways::versions::get_version,
            pathways::versions::update_version,
            pathways::versions::delete_version
        ))
        .routes(routes!(pathways::versions::publish))
        .routes(routes!(pathways::chat::create_chat))
        .routes(routes!(pathways::chat::chat_message))
        .routes(routes!(
            dispositions::crud::create_disposition,
            dispositions::crud::list_dispositions
        ))
        .routes(routes!(
            dispositions::crud::get_disposition,
            dispositions::crud::update_disposition,
            dispositions::crud::delete_disposition
        ))
        .routes(routes!(dispositions::crud::list_versions))
        .routes(routes!(dispositions::test_run::test_disposition))
        .routes(routes!(
            citation_schemas::crud::create_citation_schema,
            citation_schemas::crud::get_citation_schema,
            citation_schemas::crud::update_citation_schema,
            citation_schemas::crud::delete_citation_schema
        ))
        .routes(routes!(
            citation_schemas::crud::unslashed::create,
            citation_schemas::crud::unslashed::get,
            citation_schemas::crud::unslashed::update,
            citation_schemas::crud::unslashed::delete
        ))
        .routes(routes!(citation_schemas::crud::list_citation_schemas))
        .routes(routes!(citation_schemas::backfill::backfill))
        .routes(routes!(analyze::analyze))
        .routes(routes!(webhooks::webhook_log))
        .routes(routes!(webhooks::resend))
        .routes(routes!(webhooks::create_secret, webhooks::list_secrets))
        .routes(routes!(sandbox::inbox))
        .routes(routes!(sandbox::inbound))
        .routes(routes!(twilio::inbound::inbound))
        .routes(routes!(twilio::status::status))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics_text))
        .split_for_parts();
    doc::optional_bodies_are_not_null(&mut doc);
    (router, doc)
}

pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes();
    let openapi = std::sync::Arc::new(openapi);
    let limit = state.config.http.max_body_bytes;
    api.route(
        "/openapi.json",
        get(move || {
            let doc = openapi.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
    .fallback(|| async { ApiError::route_not_found() })
    .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
    .layer(axum::middleware::from_fn(health::track_requests))
    .layer(axum::middleware::map_response(envelope_bare_errors))
    .layer(DefaultBodyLimit::max(limit))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
        ApiError::internal().into_response()
    }))
    .with_state(state)
}

/// Axum's own rejections (e.g. a malformed path parameter) come as plain text; give them
/// the Bland envelope like every other error.
async fn envelope_bare_errors(res: Response) -> Response {
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if res.status().is_client_error() && !is_json {
        let status = res.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
            StatusCode::NOT_FOUND => "NOT_FOUND",
            StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
            _ => "INVALID_PARAMETER",
        };
        return ApiError::new(
            status,
            code,
            status.canonical_reason().unwrap_or("bad request"),
        )
        .into_response();
    }
    res
}
