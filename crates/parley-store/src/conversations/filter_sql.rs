//! Turns list filters into one WHERE clause that means the same thing on both backends.
//!
//! Text matching is case-sensitive and byte-ordered everywhere: SQLite's `LIKE` ignores
//! ASCII case and PostgreSQL's ordering follows the database locale, so SQLite uses `GLOB`
//! and PostgreSQL uses `LIKE` and comparisons under the "C" collation. Both forms can use
//! the list indexes for prefixes. `variables` containment is PostgreSQL's `@>` (backed by a
//! GIN index); SQLite has no such operator, so the same rule is spelled out recursively
//! with `json_each`.

use serde_json::{Map, Value};

use super::list::{CmpOp, Filter, IntField, TextField, TextOp};
use crate::Dialect;

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Float(f64),
}

/// Accumulates a WHERE clause and its binds, numbering placeholders in order.
#[derive(Clone)]
pub(crate) struct Sql {
    dialect: Dialect,
    pub clauses: Vec<String>,
    pub binds: Vec<Bind>,
    aliases: usize,
    /// When set, filters on any other column are written so that no index can serve them
    /// (SQLite), which leaves the planner one choice: walk this column's index in order.
    pub walk_index_of: Option<&'static str>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            clauses: Vec::new(),
            binds: Vec::new(),
            aliases: 0,
            walk_index_of: None,
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Adds a bind and returns its placeholder.
    pub fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    pub fn where_sql(&self) -> String {
        self.clauses.join(" AND ")
    }

    /// A filtered column as the WHERE clause names it: `+column` keeps SQLite from serving
    /// the filter with an index (see `walk_index_of`); the value is unchanged.
    fn col(&self, column: &'static str) -> String {
        match (self.dialect, self.walk_index_of) {
            (Dialect::Sqlite, Some(walked)) if walked != column => format!("+{column}"),
            _ => column.to_owned(),
        }
    }

    pub fn push_filter(&mut self, f: &Filter) {
        let clause = match f {
            Filter::Text(field, op, value) => self.text(*field, *op, value),
            Filter::TextUnset(field) => format!("{} IS NULL", self.col(field.column())),
            Filter::Int(field, op, value) => {
                let p = self.bind(Bind::Int(*value));
                format!("{} {} {p}", self.col(field.column()), op.sql())
            }
            Filter::IntUnset(field) => format!("{} IS NULL", self.col(field.column())),
            Filter::IsActive(active) => {
                let p = self.bind(Bind::Int(i64::from(*active)));
                format!("{} = {p}", self.col("is_active"))
            }
            Filter::VariablesContain(object) => self.variables_contain(object),
        };
        self.clauses.push(clause);
    }

    fn text(&mut self, field: TextField, op: TextOp, value: &str) -> String {
        let col = self.col(field.column());
        let ordered = self.dialect.collate_c(&col);
        let (sql_op, bind) = match op {
            // Equality means the same under every collation; "C" lets PostgreSQL use the
            // list indexes, which are built with it.
            TextOp::Eq => return format!("{ordered} = {}", self.bind(Bind::Text(value.into()))),
            TextOp::Gt => (">", value.to_owned()),
            TextOp::Gte => (">=", value.to_owned()),
            TextOp::Lt => ("<", value.to_owned()),
            TextOp::Lte => ("<=", value.to_owned()),
            TextOp::Contains | TextOp::StartsWith | TextOp::EndsWith => {
                let (lead, trail) = match op {
                    TextOp::Contains => (true, true),
                    TextOp::StartsWith => (false, true),
                    _ => (true, false),
                };
                return match self.dialect {
                    Dialect::Sqlite => {
                        let pat = wrap(&glob_escape(value), "*", lead, trail);
                        format!("{col} GLOB {}", self.bind(Bind::Text(pat)))
                    }
                    Dialect::Postgres => {
                        let pat = wrap(&like_escape(value), "%", lead, trail);
                        format!("{ordered} LIKE {} ESCAPE '\\'", self.bind(Bind::Text(pat)))
                    }
                };
            }
        };
        format!("{ordered} {sql_op} {}", self.bind(Bind::Text(bind)))
    }

    fn variables_contain(&mut self, object: &Map<String, Value>) -> String {
        let filter = Value::Object(object.clone());
        match self.dialect {
            // Written exactly as the GIN index expression, so the planner can use it.
            Dialect::Postgres => {
                let p = self.bind(Bind::Text(filter.to_string()));
                format!("(variables::jsonb) @> CAST({p} AS jsonb)")
            }
            Dialect::Sqlite => self.sqlite_contains("variables", "json_type(variables)", &filter),
        }
    }

    /// PostgreSQL's `@>` rule for one JSON node (`value`: its JSON text or SQL scalar,
    /// `kind`: its `json_type`): objects contain every key with a contained value, arrays
    /// contain an element containing each filter element, scalars are equal with the same
    /// JSON type (numbers compare numerically, so 1 matches 1.0).
    fn sqlite_contains(&mut self, value: &str, kind: &str, filter: &Value) -> String {
        match filter {
            Value::Object(m) => {
                let mut parts = vec![format!("{kind} = 'object'")];
                for (k, v) in m {
                    let j = self.alias();
                    let key = self.bind(Bind::Text(k.clone()));
                    let inner =
                        self.sqlite_contains(&format!("{j}.value"), &format!("{j}.type"), v);
                    parts.push(format!(
                        "EXISTS (SELECT 1 FROM json_each({value}) AS {j} WHERE {j}.key = {key} AND {inner})"
                    ));
                }
                format!("({})", parts.join(" AND "))
            }
            Value::Array(items) => {
                let mut parts = vec![format!("{kind} = 'array'")];
                for item in items {
                    let j = self.alias();
                    let inner =
                        self.sqlite_contains(&format!("{j}.value"), &format!("{j}.type"), item);
                    parts.push(format!(
                        "EXISTS (SELECT 1 FROM json_each({value}) AS {j} WHERE {inner})"
                    ));
                }
                format!("({})", parts.join(" AND "))
            }
            Value::String(s) => {
                let p = self.bind(Bind::Text(s.clone()));
                format!("({kind} = 'text' AND {value} = {p})")
            }
            Value::Number(n) => {
                let p = match n.as_i64() {
                    Some(i) => self.bind(Bind::Int(i)),
                    None => self.bind(Bind::Float(n.as_f64().unwrap_or(f64::NAN))),
                };
                format!("({kind} IN ('integer', 'real') AND {value} = {p})")
            }
            Value::Bool(b) => format!("{kind} = '{b}'"),
            Value::Null => format!("{kind} = 'null'"),
        }
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("j{}", self.aliases)
    }
}

fn wrap(core: &str, wildcard: &str, lead: bool, trail: bool) -> String {
    let mut s = String::with_capacity(core.len() + 2);
    if lead {
        s.push_str(wildcard);
    }
    s.push_str(core);
    if trail {
        s.push_str(wildcard);
    }
    s
}

/// GLOB has no escape character; a special character is matched literally as a one-character
/// class.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl CmpOp {
    fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
        }
    }
}

impl TextField {
    pub(crate) fn column(self) -> &'static str {
        match self {
            TextField::UserNumber => "user_number",
            TextField::AgentNumber => "agent_number",
            TextField::CurrPathwayId => "pathway_id",
            TextField::CurrPathwayVersion => "pathway_version",
            TextField::CurrentNodeId => "current_node_id",
        }
    }
}

impl IntField {
    pub(crate) fn column(self) -> &'static str {
        match self {
            IntField::CreatedAt => "created_at",
            IntField::UpdatedAt => "updated_at",
            IntField::MessageCount => "message_count",
            IntField::TimedOutAt => "timed_out_at",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_values_match_literally() {
        assert_eq!(glob_escape("a*b?[c]"), "a[*]b[?][[]c]");
        assert_eq!(like_escape(r"50%_\"), r"50\%\_\\");
        assert_eq!(wrap("x", "%", false, true), "x%");
    }
}
