//! Wake-ups across hosts: a commit through one handle wakes the feed
//! readers of the others at once (LISTEN/NOTIFY), not at their next poll;
//! a handle is not woken by its own commits, nor by a transaction that
//! rolled back.

use std::time::Duration;

use reprise_core::store::{Op, Store};
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;

const PROMPTLY: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(500);

fn create(id: &str) -> Op {
    Op::create_instance(id.into(), "o", "d".into(), "null", None, 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_the_other_handles_and_only_them() {
    let db = TestDatabase::create().await;
    let writer = PostgresStore::connect(&db.url()).await.unwrap();
    let reader = PostgresStore::connect(&db.url()).await.unwrap();
    let signal = reader.changes_signal().expect("PostgreSQL signals changes");
    // Once listening, the reader is woken to read what came before.
    tokio::time::timeout(PROMPTLY, signal.notified())
        .await
        .expect("woken once listening");

    reader.commit(vec![create("own")]).await.unwrap().unwrap();
    assert!(
        tokio::time::timeout(QUIET, signal.notified())
            .await
            .is_err(),
        "not woken by its own commit"
    );
    // A batch that fails rolls back: nothing to read, no wake-up.
    let refused = writer
        .commit(vec![
            create("x"),
            Op::ExpectLease {
                name: "none".into(),
                token: 1,
            },
        ])
        .await
        .unwrap();
    assert!(refused.is_err());
    assert!(
        tokio::time::timeout(QUIET, signal.notified())
            .await
            .is_err(),
        "not woken by a rollback"
    );

    writer.commit(vec![create("other")]).await.unwrap().unwrap();
    tokio::time::timeout(PROMPTLY, signal.notified())
        .await
        .expect("woken by another handle's commit");
    let head = reader.feed_head().await.unwrap();
    assert!(head.0 >= 2, "the feed holds both creations: {head:?}");
}
