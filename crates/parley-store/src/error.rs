use thiserror::Error;

/// What can go wrong in the store, sorted by what the caller should do about it.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database could not be reached or is overloaded; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was violated (for example a number that already exists).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// Stored data that Parley wrote cannot be read back (edited by hand, or a bug).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl StoreError {
    /// Whether the same operation might succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            // SQLITE_BUSY / SQLITE_LOCKED, and PostgreSQL's "cannot connect now" and admin
            // shutdown codes: the database is there but not taking work right now.
            sqlx::Error::Database(db)
                if matches!(
                    db.code().as_deref(),
                    Some("5" | "6" | "57P01" | "57P02" | "57P03" | "53300")
                ) =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Other(e),
        }
    }
}
