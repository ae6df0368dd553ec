//! The Store conformance suite on PostgreSQL: each case gets a database of
//! its own on the test server, and each handle its own writer and readers,
//! as separate hosts' would be.

use std::sync::Arc;

use reprise_core::store::Store;
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;
use reprise_store_tests::Backend;

struct Postgres(TestDatabase);

impl Backend for Postgres {
    async fn create() -> Self {
        Postgres(TestDatabase::create().await)
    }

    async fn connect(&self) -> Arc<dyn Store> {
        let store = PostgresStore::connect(&self.0.url()).await;
        Arc::new(store.expect("open the database"))
    }
}

reprise_store_tests::conformance!(Postgres);
