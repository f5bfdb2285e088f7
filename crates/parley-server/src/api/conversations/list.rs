//! `GET /v1/sms/conversations`: the org's conversations, a page at a time (spec 2.10).

use axum::{extract::State, Json};
use parley_domain::clock::iso8601_ms;
use parley_store::{ConversationListQuery, ListedConversation, SortField};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{cursor::CursorScope, filters::parse_filters};
use crate::{
    api::{
        auth::Org,
        error::{ApiError, ErrorBody},
        extract::BlandQuery,
    },
    app::AppState,
};

pub const DEFAULT_PAGE_SIZE: i64 = 25;
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Pages beyond this are refused rather than computed; no real list is that long.
const MAX_PAGE: i64 = 1_000_000_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListConversationsParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1_000_000_000)]
    pub page: Option<i64>,
    /// Conversations per page, 1 to 1000 (default 25).
    #[serde(rename = "pageSize")]
    #[param(rename = "pageSize")]
    #[param(minimum = 1, maximum = 1000)]
    pub page_size: Option<i64>,
    /// `created_at` (default), `updated_at`, `user_number`, `agent_number`, `is_active`,
    /// `message_count`, `curr_pathway_id`, `curr_pathway_version` or `timed_out_at`.
    #[serde(rename = "sortBy")]
    #[param(rename = "sortBy", value_type = Option<SortByDoc>, inline)]
    pub sort_by: Option<String>,
    /// `desc` (default) or `asc`.
    #[serde(rename = "sortDir")]
    #[param(rename = "sortDir", value_type = Option<SortDirDoc>, inline)]
    pub sort_dir: Option<String>,
    /// URL-encoded JSON array of `{"field", "operator", "value"}`. Operators: `eq`,
    /// `contains`, `startsWith`, `endsWith`, `gt`, `gte`, `lt`, `lte`. `variables` matches
    /// by JSON containment. A `+` in a value must be sent as `%2B`.
    pub filters: Option<String>,
    /// Parley extension: `extra.pagination.next_cursor` of the previous page. The page
    /// starts right after that page's last row, at the cost of one index seek however deep
    /// (a page number costs the rows it skips). Send it with the same `sortBy`, `sortDir`
    /// and `filters` (`pageSize` may change), and without `page`.
    pub cursor: Option<String>,
}

/// `sortBy` as the document lists it (the handler parses the string itself, to name the
/// field in its error).
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum SortByDoc {
    created_at,
    updated_at,
    user_number,
    agent_number,
    is_active,
    message_count,
    curr_pathway_id,
    curr_pathway_version,
    timed_out_at,
}

/// `sortDir` as the document lists it.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum SortDirDoc {
    asc,
    desc,
}

/// One row of the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationListItem {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub user_number: String,
    pub agent_number: String,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Value>,
    pub current_node_id: Option<String>,
    pub curr_pathway_id: Option<String>,
    /// Older name of `curr_pathway_id`, still read by clients of Bland's earlier docs.
    pub pathway_id: Option<String>,
    pub curr_pathway_version: Option<String>,
    pub is_active: bool,
    pub message_count: i64,
    pub last_message: Option<String>,
    pub last_message_at: Option<String>,
    /// Older name of `last_message_at`.
    pub last_message_timestamp: Option<String>,
    pub timed_out_at: Option<String>,
    /// `[{name, color}]` of the tagged pathway nodes visited, in first-visit order.
    #[schema(value_type = Vec<Object>)]
    pub pathway_tags: Vec<Value>,
    pub effective_channel: String,
    /// Filled by the end-of-conversation pipeline (`summary_prompt`); null until it ran.
    pub summary: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub citation_variables: Option<Value>,
    pub disposition_tag: Option<String>,
}

impl From<ListedConversation> for ConversationListItem {
    fn from(l: ListedConversation) -> Self {
        let c = l.conversation;
        let last = c.last_message_at.map(iso8601_ms);
        let pathway_tags = c
            .json(&c.pathway_tags)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        Self {
            variables: c.json(&c.variables),
            citation_variables: c.json(&c.citation_variables),
            id: c.id,
            created_at: iso8601_ms(c.created_at),
            updated_at: iso8601_ms(c.updated_at),
            user_number: c.user_number,
            agent_number: c.agent_number,
            current_node_id: c.current_node_id,
            pathway_id: c.pathway_id.clone(),
            curr_pathway_id: c.pathway_id,
            curr_pathway_version: c.pathway_version,
            is_active: c.is_active != 0,
            message_count: c.message_count,
            last_message: l.last_message,
            last_message_timestamp: last.clone(),
            last_message_at: last,
            timed_out_at: c.timed_out_at.map(iso8601_ms),
            pathway_tags,
            effective_channel: c.channel,
            summary: c.summary,
            disposition_tag: c.disposition_tag,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub total_items: i64,
    pub total_pages: i64,
    /// The page number asked for; null when the page was asked for by `cursor`.
    pub current_page: Option<i64>,
    pub page_size: i64,
    /// Parley extension: pass as `cursor` to get the page after this one; null on the last
    /// page.
    #[serde(rename = "next_cursor")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListExtra {
    pub pagination: Pagination,
}

/// Bland's list envelope: the success envelope plus `extra.pagination`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationListEnvelope {
    pub data: Vec<ConversationListItem>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
    pub extra: ListExtra,
}

#[utoipa::path(
    get, path = "/v1/sms/conversations", tag = "conversations",
    params(ListConversationsParams),
    responses(
        (status = 200, description = "One page; a page past the end is empty", body = ConversationListEnvelope),
        (status = 400, description = "Bad page, pageSize, sortBy, sortDir or filters (`INVALID_PARAMETER`, the message names it), or a cursor that does not decode or was issued for another sort or filters (`INVALID_CURSOR`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_conversations(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(p): BlandQuery<ListConversationsParams>,
) -> Result<Json<ConversationListEnvelope>, ApiError> {
    let filters = match p.filters.as_deref() {
        None | Some("") => Vec::new(),
        Some(raw) => parse_filters(raw)?,
    };
    let mut query = ConversationListQuery {
        org_id: org.id,
        page: p.page.unwrap_or(1),
        page_size: p.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
        sort: match p.sort_by.as_deref() {
            None => SortField::CreatedAt,
            Some(name) => SortField::parse(name).ok_or_else(|| {
                let allowed: Vec<_> = SortField::ALL.iter().map(|f| f.api_name()).collect();
                ApiError::invalid(format!(
                    "sortBy {name:?} is not one of {}",
                    allowed.join(", ")
                ))
            })?,
        },
        descending: match p
            .sort_dir
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(ApiError::invalid("sortDir must be asc or desc")),
        },
        filters,
        after: None,
    };
    if !(1..=MAX_PAGE).contains(&query.page) {
        return Err(ApiError::invalid(format!(
            "page must be between 1 and {MAX_PAGE}"
        )));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&query.page_size) {
        return Err(ApiError::invalid(format!(
            "pageSize must be between 1 and {MAX_PAGE_SIZE}"
        )));
    }
    let scope = CursorScope {
        sort: query.sort,
        descending: query.descending,
        filters: &query.filters,
    };
    if let Some(token) = p.cursor.as_deref() {
        if p.page.is_some() {
            return Err(ApiError::invalid(
                "cursor and page cannot be combined: a cursor already says where the page starts",
            ));
        }
        query.after = Some(scope.decode(token)?);
    }
    let page = state.store.list_conversations(&query).await?;
    let next_cursor = page.next.as_ref().map(|c| scope.encode(c));
    Ok(Json(ConversationListEnvelope {
        data: page.rows.into_iter().map(Into::into).collect(),
        errors: None,
        extra: ListExtra {
            pagination: Pagination {
                total_items: page.total,
                total_pages: (page.total + query.page_size - 1) / query.page_size,
                current_page: query.after.is_none().then_some(query.page),
                page_size: query.page_size,
                next_cursor,
            },
        },
    }))
}
