//! `GET /v1/sms/conversations`: one page of an org's conversations, sorted and filtered.
//!
//! The API is page-numbered (Bland's contract), so the cost of a page is the rows skipped
//! to reach it. These keep it small at a million rows per org:
//! - every sortable column has an index `(org_id, column, id)`, so the skipped rows are
//!   index entries, never table rows: the page's ids are picked from the index alone and
//!   only those rows are then read (a deferred join);
//! - a page in the second half of the result is read from the other end, with the sort
//!   reversed, so no page skips more than half the rows;
//! - the count and the page come from one snapshot, so the reversed offset is exact;
//! - without filters the count is the org's counter (`conversation_counts`), not a scan;
//! - with filters, the exact count decides between walking the sort's index and sorting
//!   the few matches (`SORT_MATCHES_MAX`);
//! - a client that walks deep uses a cursor instead of a page number (`keyset`).

use sqlx::{any::AnyArguments, Any, Arguments, Row, Transaction};

use super::{
    filter_sql::{Bind, Sql},
    keyset::{self, ListCursor},
    list::{ConversationListQuery, ConversationPage, Filter, ListedConversation, SortField},
};
use crate::{Dialect, Result, Store};

/// Up to this many matches, a filtered page is picked by reading the matches through the
/// filters' indexes and sorting them; beyond it, by walking the sort's index until the page
/// is full. The planners cannot choose well alone: they assume matches are spread evenly
/// over the sort order, so a filter whose few matches all sit at the far end of it (say,
/// the oldest user numbers on a newest-first list) walked a million rows, and SQLite took
/// `timed_out_at IS NULL` (900,000 matches) for selective and sorted all of them. The exact
/// count, which every page needs anyway, tells which case this is.
const SORT_MATCHES_MAX: i64 = 20_000;

impl Filter {
    fn column(&self) -> &'static str {
        match self {
            Filter::Text(f, ..) | Filter::TextUnset(f) => f.column(),
            Filter::Int(f, ..) | Filter::IntUnset(f) => f.column(),
            Filter::IsActive(_) => "is_active",
            Filter::VariablesContain(_) => "variables",
        }
    }
}

/// The org and the filters as one WHERE clause.
fn where_clause(d: Dialect, q: &ConversationListQuery, walk_index_of: Option<&'static str>) -> Sql {
    let mut sql = Sql::new(d);
    sql.walk_index_of = walk_index_of;
    let org = sql.bind(Bind::Text(q.org_id.clone()));
    sql.clauses.push(format!("org_id = {org}"));
    for f in &q.filters {
        sql.push_filter(f);
    }
    sql
}

impl Store {
    pub async fn list_conversations(&self, q: &ConversationListQuery) -> Result<ConversationPage> {
        let d = self.dialect;
        let sql = where_clause(d, q, None);

        let mut tx = self.reader.begin().await?;
        if let Some(stmt) = d.snapshot_read() {
            sqlx::query(stmt).execute(&mut *tx).await?;
        }
        // Without filters the total is the org's counter (kept by triggers in the same
        // transactions that insert and delete conversations), not a count of a million rows.
        let total: i64 = if q.filters.is_empty() {
            sqlx::query(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM conversation_counts WHERE org_id = $1",
            )
            .bind(&q.org_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?
        } else {
            let count_sql = format!(
                "SELECT COUNT(*) AS n FROM conversations WHERE {}",
                sql.where_sql()
            );
            sqlx::query_with(&count_sql, arguments(&sql.binds))
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?
        };
        let sorted_on = q.sort.column();
        let (sql, sort_matches) =
            if q.filters.is_empty() || q.filters.iter().any(|f| f.column() == sorted_on) {
                (sql, false)
            } else if total <= SORT_MATCHES_MAX {
                (sql, true)
            } else {
                (where_clause(d, q, Some(sorted_on)), false)
            };
        let plan = Plan {
            sort: q.sort,
            sort_matches,
        };
        let (rows, more) = match &q.after {
            Some(cursor) => {
                let mut rows = Vec::new();
                // One row beyond the page says whether there is a next one.
                for segment in keyset::segments(&sql, q.sort, q.descending, cursor) {
                    let want = q.page_size + 1 - rows.len() as i64;
                    if want <= 0 {
                        break;
                    }
                    rows.extend(fetch(&mut tx, segment, plan, q.descending, want, 0).await?);
                }
                let more = rows.len() as i64 > q.page_size;
                rows.truncate(q.page_size as usize);
                (rows, more)
            }
            None => {
                let offset = (q.page - 1).saturating_mul(q.page_size);
                if offset >= total {
                    (Vec::new(), false)
                } else {
                    let rows = offset_page(&mut tx, sql, plan, q, offset, total).await?;
                    let more = offset + (rows.len() as i64) < total;
                    (rows, more)
                }
            }
        };
        tx.commit().await?;
        let next = if more {
            rows.last().map(|r| ListCursor {
                value: q.sort.value_of(&r.conversation),
                id: r.conversation.id.clone(),
            })
        } else {
            None
        };
        Ok(ConversationPage { rows, total, next })
    }
}

/// Bland's numbered page. A page in the second half of the result is read from the far
/// end, with the sort reversed, so no page skips more than half the rows.
async fn offset_page(
    tx: &mut Transaction<'_, Any>,
    sql: Sql,
    plan: Plan,
    q: &ConversationListQuery,
    offset: i64,
    total: i64,
) -> Result<Vec<ListedConversation>> {
    let from_end = offset + q.page_size / 2 > total / 2;
    if !from_end {
        return fetch(tx, sql, plan, q.descending, q.page_size, offset).await;
    }
    let end = (offset + q.page_size).min(total);
    let mut rows = fetch(tx, sql, plan, !q.descending, end - offset, total - end).await?;
    rows.reverse();
    Ok(rows)
}

/// How a page's ids are found.
#[derive(Debug, Clone, Copy)]
struct Plan {
    sort: SortField,
    /// Sort the (few) matches instead of walking the sort's index.
    sort_matches: bool,
}

/// One slice of the order: the ids are picked first (from the sort's index alone when
/// there are no filters), then only those rows are read (a deferred join).
async fn fetch(
    tx: &mut Transaction<'_, Any>,
    mut sql: Sql,
    plan: Plan,
    descending: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<ListedConversation>> {
    let d = sql.dialect();
    let sort = plan.sort;
    let where_sql = sql.where_sql();
    let limit_p = sql.bind(Bind::Int(limit));
    let offset_p = sql.bind(Bind::Int(offset));
    let inner = if plan.sort_matches {
        unindexed_order_by(d, sort, descending)
    } else {
        order_by(d, sort, descending, "")
    };
    let page_sql = format!(
        "SELECT c.*, (SELECT m.body FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL \
         ORDER BY m.id DESC LIMIT 1) AS last_message \
         FROM conversations c \
         JOIN (SELECT id FROM conversations WHERE {where_sql} ORDER BY {inner} LIMIT {limit_p} OFFSET {offset_p}) page \
         ON page.id = c.id ORDER BY {outer}",
        outer = order_by(d, sort, descending, "c."),
    );
    Ok(
        sqlx::query_as_with::<_, ListedConversation, _>(&page_sql, arguments(&sql.binds))
            .fetch_all(&mut **tx)
            .await?,
    )
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

/// The same order as [`order_by`], written so that no index matches it: the planner then
/// finds the matches through the filters and sorts them.
fn unindexed_order_by(d: Dialect, sort: SortField, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let col = sort.column();
    let (col, id) = match d {
        Dialect::Sqlite => (format!("+{col}"), "+id".to_owned()),
        Dialect::Postgres if sort.is_text() => (
            format!("({col} || '') COLLATE \"C\""),
            "(id || '') COLLATE \"C\"".to_owned(),
        ),
        Dialect::Postgres => (
            format!("({col} + 0)"),
            "(id || '') COLLATE \"C\"".to_owned(),
        ),
    };
    format!(
        "{col} {dir}{nulls}, {id} {dir}",
        nulls = d.nulls_smallest(descending)
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
