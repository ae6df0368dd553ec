//! Which database `--db` names: a SQLite file (the embedded default) or a
//! PostgreSQL server (`postgres://…`), and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use reprise::store::Store;
use reprise_postgres::PostgresStore;
use reprise_sqlite::SqliteStore;

/// A database as `--db` (or `REPRISE_DB`) names it.
#[derive(Debug, Clone)]
pub(crate) enum Database {
    /// A SQLite file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL URL, `postgres://user@host:port/db`.
    Postgres(String),
}

impl std::str::FromStr for Database {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(
            if text.starts_with("postgres://") || text.starts_with("postgresql://") {
                Database::Postgres(text.to_owned())
            } else {
                Database::Sqlite(PathBuf::from(text))
            },
        )
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            // Never the password: the URL goes to logs.
            Database::Postgres(url) => match url.split_once('@') {
                Some((_, server)) => write!(f, "postgres://…@{server}"),
                None => write!(f, "{url}"),
            },
        }
    }
}

impl Database {
    /// Opens the database, creating (and migrating) its tables if needed.
    pub(crate) async fn open(&self) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            Database::Sqlite(path) => {
                Arc::new(SqliteStore::open(path).with_context(|| format!("cannot open {self}"))?)
            }
            Database::Postgres(url) => Arc::new(
                PostgresStore::connect(url)
                    .await
                    .with_context(|| format!("cannot open {self}"))?,
            ),
        })
    }
}
