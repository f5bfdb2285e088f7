//! A fresh PostgreSQL database per test run, shared by the test targets that start real
//! `parley` processes (`crash`, `batch_crash`, `faults`), which each include this file.

/// A fresh PostgreSQL database on the server `PARLEY_TEST_DATABASE_URL` names, dropped
/// when this is dropped (also on panic). `None` when no PostgreSQL run is requested.
pub struct FreshDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl FreshDatabase {
    pub async fn create(prefix: &str) -> Option<Self> {
        let Ok(admin) = std::env::var("PARLEY_TEST_DATABASE_URL") else {
            eprintln!("PARLEY_TEST_DATABASE_URL not set; PostgreSQL run not requested");
            return None;
        };
        Some(Self::create_on(&admin, prefix).await)
    }

    pub async fn create_on(admin: &str, prefix: &str) -> Self {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut c = connect(admin).await;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .unwrap();
        Self {
            url: with_database(admin, &name),
            admin: admin.to_owned(),
            name,
        }
    }

    /// A pool on the database, for the test's own checks.
    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

async fn connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL")
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let (admin, sql) = (
            self.admin.clone(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        // Drop may run on the test's runtime thread: do the async work on a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&sql).execute(&mut c).await.map(|_| ())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// `base` with its database name replaced by `name`.
pub fn with_database(base: &str, name: &str) -> String {
    let (url, query) = match base.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (base, None),
    };
    let scheme_end = url.find("://").expect("a postgres:// URL") + 3;
    let host_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &url[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[test]
fn with_database_replaces_only_the_name() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
}
