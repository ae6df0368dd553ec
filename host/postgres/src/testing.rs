//! For tests and benchmarks on PostgreSQL: a fresh database on a server
//! (for tests, the one `REPRISE_TEST_POSTGRES` names; `scripts/test` starts
//! one with `scripts/postgres`), dropped with the value.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the test server.
pub const SERVER_VARIABLE: &str = "REPRISE_TEST_POSTGRES";

/// A database of its own for one test or benchmark.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
}

/// The test server's URL (naming a database to administer it from).
///
/// # Panics
/// When the variable is not set: a test that needs PostgreSQL says so
/// rather than passing without it.
pub fn server() -> String {
    std::env::var(SERVER_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{SERVER_VARIABLE} names no server: run scripts/test, which starts one with \
             scripts/postgres, or set it to postgres://user@host:port/db"
        )
    })
}

async fn admin(server: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test server: {e}"));
    tokio::spawn(connection);
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

impl TestDatabase {
    /// Creates an empty database on the test server.
    pub async fn create() -> Self {
        Self::create_on(&server()).await
    }

    /// Creates an empty database on the server at `server` (a URL naming a
    /// database to administer it from).
    pub async fn create_on(server: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "reprise_scratch_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin(server, &format!("CREATE DATABASE {name}")).await;
        Self {
            server: server.to_owned(),
            name,
        }
    }

    /// Its URL: the server's, with this database in place of the one it
    /// named (parameters after `?` kept).
    pub fn url(&self) -> String {
        let (address, parameters) = match self.server.split_once('?') {
            Some((address, parameters)) => (address, format!("?{parameters}")),
            None => (self.server.as_str(), String::new()),
        };
        let (server, _) = address
            .rsplit_once('/')
            .filter(|(server, _)| server.contains("://"))
            .expect("a server URL names a database: postgres://user@host:port/db");
        format!("{server}/{}{parameters}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, sql) = (
            self.server.clone(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        // Drop is not async: a runtime of its own, on a thread of its own.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(admin(&server, &sql));
        })
        .join();
    }
}
