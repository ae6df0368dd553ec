//! A store outlives its connections: when the server ends them (a restart,
//! a failover, an administrator), the next reads and commits open new ones.

use std::time::Duration;

use reprise_core::store::{Op, Store};
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_commits_go_on_after_the_server_ends_every_connection() {
    let db = TestDatabase::create().await;
    let store = PostgresStore::connect(&db.url()).await.unwrap();
    let create = |id: &str| Op::create_instance(id.into(), "o", "d".into(), "null", None, 1);
    store.commit(vec![create("before")]).await.unwrap().unwrap();

    // Ends every connection to this database but the one that asks.
    let (admin, connection) = tokio_postgres::connect(&db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let ended = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(
        ended.len() >= 5,
        "the writer and four readers: {}",
        ended.len()
    );
    // The clients hear of it from the server. Not a condition the test can
    // wait for: the store does not show when each of its connections has
    // read the server's notice, so the test gives them a moment to.
    tokio::time::sleep(Duration::from_millis(200)).await;

    for _ in 0..8 {
        let record = store
            .instance("before")
            .await
            .expect("a read after the loss");
        assert!(record.is_some());
    }
    store
        .commit(vec![create("after")])
        .await
        .unwrap()
        .expect("a commit after the loss");
    assert!(store.instance("after").await.unwrap().is_some());
}
