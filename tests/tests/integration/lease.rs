//! One worker per database, by a lease in the store: a second worker is
//! refused while the first holds it; a killed worker's successor takes over
//! once its lease has run out, with a greater fencing token.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reprise::StartOptions;
use reprise::store::Status;
use reprise_tests::{TEST_LEASE_MS, WorkerProcess, eventually, registered_client, reprise_bin};

/// The worker lease as stored: owner, token, expiry (ms).
fn lease(db: &Path) -> Option<(String, u64, u64)> {
    lease_named(db, "worker")
}

/// A lease as stored: owner, token, expiry (ms).
fn lease_named(db: &Path, name: &str) -> Option<(String, u64, u64)> {
    let sql = rusqlite::Connection::open(db).unwrap();
    sql.query_row(
        "SELECT owner, token, expires_at FROM leases WHERE name = ?1",
        [name],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .ok()
}

/// Waits (up to a minute) until someone other than `not` holds the lease.
async fn holder_other_than(db: &Path, not: Option<&str>) -> (String, u64, u64) {
    eventually(
        Duration::from_secs(60),
        format!("a worker other than {not:?} holds the lease (the lease is shown)"),
        async || match lease(db) {
            Some(held) if Some(held.0.as_str()) != not => Ok(held),
            other => Err(other),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_worker_is_refused_and_a_killed_workers_successor_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let client = registered_client(&db).await;

    let first = WorkerProcess::spawn(&db);
    let (first_owner, first_token, _) = holder_other_than(&db, None).await;

    let refused = Command::new(reprise_bin())
        .arg("--db")
        .arg(&db)
        .arg("worker")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: another worker runs on ")
            && stderr.contains(&format!("the worker lease is held by {first_owner}")),
        "{stderr}"
    );

    let id = client
        .start("counter", r#"{"until":1}"#, StartOptions::default())
        .await
        .unwrap();
    first.kill();
    // Dead: its lease stays as it last renewed it until it runs out.
    let (_, _, expired_at) = lease(&db).unwrap();
    let _second = WorkerProcess::spawn(&db);
    let (_, second_token, second_expires) = holder_other_than(&db, Some(&first_owner)).await;
    let taken_at = second_expires - TEST_LEASE_MS;
    assert!(
        taken_at > expired_at,
        "taken at {taken_at}, before the dead worker's lease ran out at {expired_at}"
    );
    assert!(
        taken_at < expired_at + 5_000,
        "taken over {} ms after the lease ran out",
        taken_at - expired_at
    );
    assert_eq!(second_token, first_token + 1);

    client.raise_event(&id, "add", "5").await.unwrap();
    let record = client.wait(&id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_stops_gives_its_lease_up_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    registered_client(&db).await;
    let run = |args: &[&str]| {
        Command::new(reprise_bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    // `start --wait` runs a worker in-process and gives the lease up as it
    // exits, so a worker started right after is not refused.
    let started = run(&[
        "start",
        "hello_sequence",
        "--input",
        r#"["Oslo"]"#,
        "--wait",
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let (owner, _, expires_at) = lease(&db).expect("the in-process worker took the lease");
    assert_eq!(expires_at, 0, "given up");
    let _worker = WorkerProcess::spawn(&db);
    let (_, token, _) = holder_other_than(&db, Some(&owner)).await;
    assert_eq!(token, 2);
}

/// A worker that lost its lease while it still runs (paused past it, say)
/// applies nothing once another has taken the lease over: every batch it
/// commits carries its old fencing token, which the store refuses.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_whose_lease_was_taken_over_applies_nothing() {
    use reprise::store::{Op, Store};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let runtime = registered_client(&db).await;
    // Long enough that it is not renewed during the test.
    let worker = runtime
        .start_leased_worker(4, Duration::from_secs(600))
        .await
        .unwrap();
    // The leases that fence an instance's work and the actors' work: its
    // partition's and the actors'. Another host whose clock says they ran
    // out takes them over.
    let other = reprise_sqlite::SqliteStore::open(&db).unwrap();
    let partition = format!("partition/{}", reprise::partition_of("oslo"));
    for name in [partition.as_str(), "actors"] {
        let (_, old_token, expires_at) = lease_named(&db, name).unwrap();
        let taken = other
            .commit(vec![Op::TakeLease {
                name: name.into(),
                owner: "another host".into(),
                now: expires_at + 1,
                until: expires_at + 600_000,
            }])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.lease, Some(old_token + 1));
    }

    let options = StartOptions {
        instance_id: Some("oslo".into()),
        ..StartOptions::default()
    };
    let id = runtime
        .start("hello_sequence", r#"["Oslo"]"#, options)
        .await
        .unwrap();
    // Its first episode is tried and refused, and the instance stops: it is
    // the only work, so the first failed commit is the episode's.
    let refused = eventually(
        Duration::from_secs(30),
        "the fenced episode is refused and its instance stops (shown: failed commits, hot instances)",
        async || {
            let metrics = runtime.metrics().await.unwrap();
            match (metrics.commit_failures, metrics.hot_instances) {
                (failures @ 1.., 0) => Ok(failures),
                seen => Err(seen),
            }
        },
    )
    .await;
    let record = runtime.status(&id).await.unwrap();
    assert_eq!(record.status, Status::Running);
    let history = runtime.history(&id).await.unwrap();
    assert_eq!(history.len(), 1, "only its start, no episode: {history:?}");
    runtime
        .signal_actor("tally", "fenced", "add", "1", None)
        .await
        .unwrap();
    // The actor batch is tried and refused in turn.
    eventually(
        Duration::from_secs(30),
        format!("the fenced actor batch is refused (failed commits: {refused} before it)"),
        async || {
            let failures = runtime.metrics().await.unwrap().commit_failures;
            if failures > refused {
                Ok(())
            } else {
                Err(failures)
            }
        },
    )
    .await;
    let state = runtime.actor_state("tally", "fenced").await;
    assert!(
        matches!(&state, Err(reprise::Error::NotFound(m)) if m == "no actor tally/fenced"),
        "no actor batch applied: {state:?}"
    );
    assert_eq!(runtime.actor_backlog().await.unwrap(), 1, "still queued");
    assert!(
        other
            .due_activities(u64::MAX, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
    worker.abort();
}
