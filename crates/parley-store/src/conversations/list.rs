//! The types of `GET /v1/sms/conversations`: sort fields, filters, the query and its page.
//! `list_query` runs it.

use serde_json::{Map, Value};

use super::{keyset::ListCursor, ConversationRow};

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

    pub(crate) fn column(self) -> &'static str {
        match self {
            SortField::CurrPathwayId => "pathway_id",
            SortField::CurrPathwayVersion => "pathway_version",
            other => other.api_name(),
        }
    }

    pub(crate) fn is_text(self) -> bool {
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
    /// 1-based. Ignored when `after` is set.
    pub page: i64,
    pub page_size: i64,
    pub sort: SortField,
    pub descending: bool,
    pub filters: Vec<Filter>,
    /// Keyset paging: the page starts right after this row of the same sort and filters.
    pub after: Option<ListCursor>,
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
    /// Where the next page starts, when there are rows after this page.
    pub next: Option<ListCursor>,
}
