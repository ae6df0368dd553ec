//! Compiled components are kept in the store: a restarted host runs a
//! registered component without compiling it, and code it cannot use is
//! compiled afresh, never trusted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reprise::store::Status;
use reprise::{ComponentStats, StartOptions};
use reprise_tests::{guest, open};

/// A new runtime on `db` (as a restarted process would be) runs
/// hello-sequence and says how it came by the component.
async fn run_after_restart(db: &Path) -> ComponentStats {
    let runtime = open(db, |b| b).await;
    let worker = runtime.start_worker(4);
    let id = runtime
        .start("hello_sequence", r#"["Oslo"]"#, StartOptions::default())
        .await
        .unwrap();
    let record = runtime.wait(&id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    assert_eq!(record.output.as_deref(), Some(r#"["Hello, Oslo!"]"#));
    worker.abort();
    runtime.component_stats()
}

/// A database on which another (finished) process registered hello-sequence.
async fn registered_elsewhere() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let other = open(&db, |b| b).await;
    other.register(&guest("hello_sequence")).await.unwrap();
    (dir, db)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_host_runs_a_registered_component_without_compiling_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let first = open(&db, |b| b).await;
    first.register(&guest("hello_sequence")).await.unwrap();
    assert_eq!(
        first.component_stats(),
        ComponentStats {
            compiled: 1,
            from_cache: 0
        }
    );
    drop(first);

    let stats = run_after_restart(&db).await;
    assert_eq!(
        stats,
        ComponentStats {
            compiled: 0,
            from_cache: 1
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn compiled_code_that_cannot_be_used_is_compiled_afresh() {
    let (_dir, db) = registered_elsewhere().await;
    let sql = rusqlite::Connection::open(&db).unwrap();
    // Another engine's code is not looked at; damaged code is refused.
    sql.execute("UPDATE compiled SET engine = 'another engine'", [])
        .unwrap();
    assert_eq!(run_after_restart(&db).await.compiled, 1);
    let cached: i64 = sql
        .query_row("SELECT count(*) FROM compiled", [], |row| row.get(0))
        .unwrap();
    assert_eq!(cached, 2, "this engine's compilation was stored again");
    sql.execute(
        "UPDATE compiled SET bytes = x'0061736d' WHERE engine != 'another engine'",
        [],
    )
    .unwrap();
    assert_eq!(
        run_after_restart(&db).await,
        ComponentStats {
            compiled: 1,
            from_cache: 0
        }
    );
    // The damaged code was replaced by a good compilation.
    assert_eq!(run_after_restart(&db).await.from_cache, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn many_instances_that_need_a_component_at_once_load_it_once() {
    let (_dir, db) = registered_elsewhere().await;
    let runtime = open(&db, |b| b).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let input = format!(r#"["city {n}"]"#);
        ids.push(
            runtime
                .start("hello_sequence", &input, StartOptions::default())
                .await
                .unwrap(),
        );
    }
    // The worker finds all twenty at once.
    let _worker = runtime.start_worker(4);
    reprise_tests::assert_all_completed(&runtime, &ids).await;
    assert_eq!(
        runtime.component_stats(),
        ComponentStats {
            compiled: 0,
            from_cache: 1
        }
    );
}
