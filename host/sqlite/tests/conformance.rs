//! The Store conformance suite on SQLite: each handle is its own connection
//! set and writer thread on one database file, as separate processes'
//! would be.

use std::sync::Arc;

use reprise_core::store::Store;
use reprise_sqlite::{Durability, SqliteStore};
use reprise_store_tests::Backend;

struct Sqlite(tempfile::TempDir);

impl Backend for Sqlite {
    async fn create() -> Self {
        Sqlite(tempfile::tempdir().expect("a temporary directory"))
    }

    async fn connect(&self) -> Arc<dyn Store> {
        // fsync at checkpoints only: what is tested is behaviour, not the disk.
        let store = SqliteStore::open_with(self.0.path().join("reprise.db"), Durability::Normal);
        Arc::new(store.expect("open the database"))
    }
}

reprise_store_tests::conformance!(Sqlite);
