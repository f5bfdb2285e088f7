//! `GET /v1/sms/conversations`: one page of an org's conversations, sorted and filtered.
//!
//! The API is page-numbered (Bland's contract), so the cost of a page is the rows skipped
//! to reach it. Three things keep that small at a million rows per org:
//! - every sortable column has an index `(org_id, column, id)`, so the skipped rows are
//!   index entries, never table rows: the page's ids are picked from the index alone and
//!   only those rows are then read (a deferred join);
//! - a page in the second half of the result is read from the other end, with the sort
//!   reversed, so no page skips more than half the rows;
//! - the count and the page come from one snapshot, so the reversed offset is exact.

use serde_json::{Map, Value};
use sqlx::{any::AnyArguments, Arguments, Row};

use super::{
    filter_sql::{Bind, Sql},
    ConversationRow,
};
use crate::{Dialect, Result, Store};

/// The columns Bland lets a list be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    UserNumber,
    AgentNumber,
    IsActive,
    MessageCount,
    CurrPathwayId,
    CurrPathwayVersion,
    TimedOutAt,
}

impl SortField {
    pub const ALL: [SortField; 9] = [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::UserNumber,
        SortField::AgentNumber,
        SortField::IsActive,
        SortField::MessageCount,
        SortField::CurrPathwayId,
        SortField::CurrPathwayVersion,
        SortField::TimedOutAt,
    ];

    /// The name clients use (`sortBy`).
    pub fn api_name(self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::UserNumber => "user_number",
            SortField::AgentNumber => "agent_number",
            SortField::IsActive => "is_active",
            SortField::MessageCount => "message_count",
            SortField::CurrPathwayId => "curr_pathway_id",
            SortField::CurrPathwayVersion => "curr_pathway_version",
            SortField::TimedOutAt => "timed_out_at",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.api_name() == name)
    }

    fn column(self) -> &'static str {
        match self {
            SortField::CurrPathwayId => "pathway_id",
            SortField::CurrPathwayVersion => "pathway_version",
            other => other.api_name(),
        }
    }

    fn is_text(self) -> bool {
        matches!(
            self,
            SortField::UserNumber
                | SortField::AgentNumber
                | SortField::CurrPathwayId
                | SortField::CurrPathwayVersion
        )
    }
}

/// Text columns a filter can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    UserNumber,
    AgentNumber,
    CurrPathwayId,
    CurrPathwayVersion,
    CurrentNodeId,
}

impl TextField {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "user_number" => TextField::UserNumber,
            "agent_number" => TextField::AgentNumber,
            "curr_pathway_id" => TextField::CurrPathwayId,
            "curr_pathway_version" => TextField::CurrPathwayVersion,
            "current_node_id" => TextField::CurrentNodeId,
            _ => return None,
        })
    }
}

/// Integer columns a filter can name: a count and three epoch-millisecond times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntField {
    CreatedAt,
    UpdatedAt,
    MessageCount,
    TimedOutAt,
}

impl IntField {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "created_at" => IntField::CreatedAt,
            "updated_at" => IntField::UpdatedAt,
            "message_count" => IntField::MessageCount,
            "timed_out_at" => IntField::TimedOutAt,
            _ => return None,
        })
    }

    /// Whether values are times (given as ISO-8601) rather than plain integers.
    pub fn is_time(self) -> bool {
        !matches!(self, IntField::MessageCount)
    }
}

/// Operators on text: Bland's eight. Comparisons are by bytes (code points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Eq,
    Contains,
    StartsWith,
    EndsWith,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// Operators on numbers and times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One list filter. Only meaningful combinations are representable; the HTTP layer turns
/// anything else into a 400 naming the problem.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Text(TextField, TextOp, String),
    /// `eq null`: the column is unset.
    TextUnset(TextField),
    Int(IntField, CmpOp, i64),
    IntUnset(IntField),
    IsActive(bool),
    /// `variables` contains this object (PostgreSQL `@>` semantics).
    VariablesContain(Map<String, Value>),
}

#[derive(Debug, Clone)]
pub struct ConversationListQuery {
    pub org_id: String,
    /// 1-based.
    pub page: i64,
    pub page_size: i64,
    pub sort: SortField,
    pub descending: bool,
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedConversation {
    #[sqlx(flatten)]
    pub conversation: ConversationRow,
    /// Text of the newest message that is not deleted.
    pub last_message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ConversationPage {
    pub rows: Vec<ListedConversation>,
    /// Conversations matching the filters, over all pages.
    pub total: i64,
}

impl Store {
    pub async fn list_conversations(&self, q: &ConversationListQuery) -> Result<ConversationPage> {
        let d = self.dialect;
        let mut sql = Sql::new(d);
        let org = sql.bind(Bind::Text(q.org_id.clone()));
        sql.clauses.push(format!("org_id = {org}"));
        for f in &q.filters {
            sql.push_filter(f);
        }
        let where_sql = sql.where_sql();

        let mut tx = self.reader.begin().await?;
        if let Some(stmt) = d.snapshot_read() {
            sqlx::query(stmt).execute(&mut *tx).await?;
        }
        let count_sql = format!("SELECT COUNT(*) AS n FROM conversations WHERE {where_sql}");
        let total: i64 = sqlx::query_with(&count_sql, arguments(&sql.binds))
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let offset = (q.page - 1).saturating_mul(q.page_size);
        if offset >= total {
            tx.commit().await?;
            return Ok(ConversationPage {
                rows: Vec::new(),
                total,
            });
        }
        // Read pages past the middle from the far end: same rows, fewer skipped.
        let from_end = offset + q.page_size / 2 > total / 2;
        let (descending, limit, offset) = if from_end {
            let end = (offset + q.page_size).min(total);
            (!q.descending, end - offset, total - end)
        } else {
            (q.descending, q.page_size, offset)
        };
        let limit_p = sql.bind(Bind::Int(limit));
        let offset_p = sql.bind(Bind::Int(offset));
        let page_sql = format!(
            "SELECT c.*, (SELECT m.body FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL \
             ORDER BY m.id DESC LIMIT 1) AS last_message \
             FROM conversations c \
             JOIN (SELECT id FROM conversations WHERE {where_sql} ORDER BY {inner} LIMIT {limit_p} OFFSET {offset_p}) page \
             ON page.id = c.id ORDER BY {outer}",
            inner = order_by(d, q.sort, descending, ""),
            outer = order_by(d, q.sort, descending, "c."),
        );
        let mut rows =
            sqlx::query_as_with::<_, ListedConversation, _>(&page_sql, arguments(&sql.binds))
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        if from_end {
            rows.reverse();
        }
        Ok(ConversationPage { rows, total })
    }
}

/// `ORDER BY` matching the `(org_id, column, id)` indexes exactly, so either direction is
/// an index walk. NULLs sort as the smallest value on both backends.
fn order_by(d: Dialect, sort: SortField, descending: bool, prefix: &str) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let col = format!("{prefix}{}", sort.column());
    let col = if sort.is_text() {
        d.collate_c(&col)
    } else {
        col
    };
    format!(
        "{col} {dir}{nulls}, {id} {dir}",
        nulls = d.nulls_smallest(descending),
        id = d.collate_c(&format!("{prefix}id")),
    )
}

/// The binds as arguments, in placeholder order.
fn arguments(binds: &[Bind]) -> AnyArguments<'static> {
    let mut args = AnyArguments::default();
    for b in binds {
        // Encoding a string or a number into the `Any` buffer cannot fail.
        let added = match b {
            Bind::Text(s) => args.add(s.clone()),
            Bind::Int(i) => args.add(*i),
            Bind::Float(f) => args.add(*f),
        };
        added.expect("plain values encode");
    }
    args
}
