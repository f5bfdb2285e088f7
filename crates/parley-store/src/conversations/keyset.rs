//! Keyset ("cursor") paging of the conversations list, a Parley extension for deep pages.
//!
//! A page number costs the rows skipped to reach it. A cursor instead names the last row a
//! client saw by its sort value and id, and the next page starts right after it: one seek in
//! the `(org_id, column, id)` index, whatever the depth.
//!
//! A row comparison `(column, id) < (value, id)` is that seek on both backends, but it never
//! matches NULL. NULL sorts as the smallest value, so a nullable column's order is two
//! segments: the NULL rows (by id) and the rest (by value, id), NULLs first ascending and last
//! descending. A walk finishes the cursor's own segment and then, if the page is not full,
//! starts the next segment from its beginning: each step is still one index seek.

use super::{
    filter_sql::{Bind, Sql},
    list::SortField,
    ConversationRow,
};

/// The value of the sort column in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Null,
    Int(i64),
    Text(String),
}

/// A position in one sort order: the sort value and id of the last row already seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub value: SortValue,
    pub id: String,
}

impl SortField {
    /// This field's value in `row`, as a cursor records it.
    pub fn value_of(self, row: &ConversationRow) -> SortValue {
        let text = |s: &Option<String>| s.clone().map_or(SortValue::Null, SortValue::Text);
        match self {
            SortField::CreatedAt => SortValue::Int(row.created_at),
            SortField::UpdatedAt => SortValue::Int(row.updated_at),
            SortField::UserNumber => SortValue::Text(row.user_number.clone()),
            SortField::AgentNumber => SortValue::Text(row.agent_number.clone()),
            SortField::IsActive => SortValue::Int(row.is_active),
            SortField::MessageCount => SortValue::Int(row.message_count),
            SortField::CurrPathwayId => text(&row.pathway_id),
            SortField::CurrPathwayVersion => text(&row.pathway_version),
            SortField::TimedOutAt => row.timed_out_at.map_or(SortValue::Null, SortValue::Int),
        }
    }

    fn nullable(self) -> bool {
        matches!(
            self,
            SortField::CurrPathwayId | SortField::CurrPathwayVersion | SortField::TimedOutAt
        )
    }

    /// Whether a value can occur in this column: a cursor that says otherwise was not
    /// issued for this sort.
    pub fn admits(self, value: &SortValue) -> bool {
        match value {
            SortValue::Null => self.nullable(),
            SortValue::Int(_) => !self.is_text(),
            SortValue::Text(_) => self.is_text(),
        }
    }
}

/// The WHERE clauses of the walk after `cursor`, one per segment, in order. Each adds its
/// binds to a copy of `base` (the org and filters), which is returned with it.
pub(crate) fn segments(
    base: &Sql,
    sort: SortField,
    descending: bool,
    cursor: &ListCursor,
) -> Vec<Sql> {
    let d = base.dialect();
    let raw = sort.column();
    let col = if sort.is_text() {
        d.collate_c(raw)
    } else {
        raw.to_owned()
    };
    let id = d.collate_c("id");
    let op = if descending { "<" } else { ">" };
    let mut out = Vec::new();

    let mut own = base.clone();
    let id_p = own.bind(Bind::Text(cursor.id.clone()));
    let clause = match &cursor.value {
        SortValue::Null => format!("{raw} IS NULL AND {id} {op} {id_p}"),
        value => {
            let v = own.bind(match value {
                SortValue::Int(i) => Bind::Int(*i),
                SortValue::Text(s) => Bind::Text(s.clone()),
                SortValue::Null => unreachable!("matched above"),
            });
            format!("({col}, {id}) {op} ({v}, {id_p})")
        }
    };
    own.clauses.push(clause);
    out.push(own);

    // The segment after the cursor's: non-NULL values after the NULLs ascending, the NULLs
    // after everything else descending.
    let next = match (&cursor.value, descending) {
        (SortValue::Null, false) => Some(format!("{raw} IS NOT NULL")),
        (SortValue::Int(_) | SortValue::Text(_), true) if sort.nullable() => {
            Some(format!("{raw} IS NULL"))
        }
        _ => None,
    };
    if let Some(clause) = next {
        let mut rest = base.clone();
        rest.clauses.push(clause);
        out.push(rest);
    }
    out
}
