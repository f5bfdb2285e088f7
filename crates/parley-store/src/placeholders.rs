//! Bind-parameter placeholders for statements built at run time (multi-row INSERTs, `IN`
//! lists).
//!
//! SQLite resolves every *numbered* parameter (`$N`, `?N`) through a linear scan of the
//! statement's parameter names, and sqlx asks for each parameter's name when it binds: a
//! statement with a few thousand `$N` costs millions of steps to bind. Profiles of the batch
//! enqueue had 34% of the writer's time in `sqlite3_bind_parameter_name`. Anonymous `?`
//! parameters skip that scan, so on SQLite these statements use `?` and bind every value in
//! order (no value is reused by number); PostgreSQL only understands `$N`, which costs it
//! nothing.

use crate::Dialect;

/// Hands out placeholders in binding order.
pub(crate) struct Placeholders {
    dialect: Dialect,
    bound: usize,
}

impl Placeholders {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Self { dialect, bound: 0 }
    }

    /// The next parameter's placeholder.
    pub(crate) fn next(&mut self) -> String {
        self.bound += 1;
        match self.dialect {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${}", self.bound),
        }
    }

    /// `template` with each `?` replaced by the next placeholder. Templates hold SQL
    /// fragments written in this crate, never user text, and use `?` for nothing else.
    pub(crate) fn fill(&mut self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 16);
        for ch in template.chars() {
            if ch == '?' {
                out.push_str(&self.next());
            } else {
                out.push(ch);
            }
        }
        out
    }

    /// `n` copies of `template`, filled in order and joined by `, `.
    pub(crate) fn repeat(&mut self, template: &str, n: usize) -> String {
        (0..n)
            .map(|_| self.fill(template))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::Placeholders;
    use crate::Dialect;

    #[test]
    fn sqlite_gets_anonymous_and_postgres_numbered_placeholders() {
        let mut s = Placeholders::new(Dialect::Sqlite);
        assert_eq!(s.repeat("(?, 'x', ?)", 2), "(?, 'x', ?), (?, 'x', ?)");
        let mut p = Placeholders::new(Dialect::Postgres);
        assert_eq!(p.fill("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(p.repeat("(?, ?)", 2), "($3, $4), ($5, $6)");
        assert_eq!(p.next(), "$7");
    }
}
