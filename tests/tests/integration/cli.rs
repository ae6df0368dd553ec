//! The `reprise` command as a user meets it: machine-readable output that
//! parses once, failures that say what the guest said, guest logs on stderr
//! (once, never during replay), negative numbers as JSON.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use reprise::store::Status;
use reprise_tests::{WorkerProcess, eventually, registered_client, reprise};
use serde_json::Value;

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_guest_is_explained_by_start_status_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    registered_client(&db).await;

    let run = reprise(&db, &["start", "panics", "--id", "p1", "--wait"]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The guest's log line, with whose it is and its level.
    let logged: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("about to panic"))
        .collect();
    assert_eq!(logged.len(), 1, "{stderr}");
    assert!(
        logged[0].contains("INFO") && logged[0].contains("instance_id=p1 execution=0"),
        "{stderr}"
    );
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: instance p1 failed: panicked at ")
            && last.ends_with(": boom from the guest"),
        "{stderr}"
    );

    // `status` is JSON with JSON inside, parsed once.
    let status: Value = serde_json::from_str(&stdout(&reprise(&db, &["status", "p1"]))).unwrap();
    assert_eq!(status["status"], "failed");
    assert_eq!(status["input"], Value::Null);
    let message = status["failure"]["message"].as_str().unwrap();
    assert!(message.ends_with("boom from the guest"), "{status}");
    let backtrace = status["failure"]["details"]["backtrace"]
        .as_array()
        .unwrap();
    assert!(
        backtrace.iter().any(|f| f == "misbehaving::explode"),
        "{status}"
    );

    let history = stdout(&reprise(&db, &["history", "p1"]));
    assert!(history.contains("failed: panicked at "), "{history}");
    assert!(history.contains("at misbehaving::explode"), "{history}");
    for line in stdout(&reprise(&db, &["history", "p1", "--json"])).lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        if event["type"] == "failed" {
            assert!(
                event["failure"]["details"]["backtrace"].is_array(),
                "{line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_status_and_output_are_json_values_not_strings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    registered_client(&db).await;
    let input = r#"{"item":"laptop","amount":1800,"timeout_secs":60}"#;
    stdout(&reprise(
        &db,
        &["start", "approval", "--id", "a1", "--input", input],
    ));
    let worker = WorkerProcess::spawn(&db);
    let status = eventually(
        Duration::from_secs(10),
        "`reprise status a1` shows custom status \"waiting for manager\"",
        async || {
            let status: Value =
                serde_json::from_str(&stdout(&reprise(&db, &["status", "a1"]))).unwrap();
            if status["custom_status"] == "waiting for manager" {
                Ok(status)
            } else {
                Err(status)
            }
        },
    )
    .await;
    assert_eq!(status["input"]["amount"], 1800);
    drop(worker);
}

#[tokio::test(flavor = "multi_thread")]
async fn negative_numbers_are_taken_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let client = registered_client(&db).await;

    let reply = stdout(&reprise(&db, &["actor", "call", "tally", "t", "add", "-5"]));
    let reply: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(reply["sum"], -5);

    stdout(&reprise(
        &db,
        &[
            "start",
            "counter",
            "--id",
            "c1",
            "--input",
            r#"{"until":1}"#,
        ],
    ));
    stdout(&reprise(&db, &["raise-event", "c1", "add", "-5"]));
    let _worker = WorkerProcess::spawn(&db);
    let record = client.wait("c1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    let output: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert_eq!(output["total"], -5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_line_is_logged_once_even_when_another_worker_replays_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let client = registered_client(&db).await;
    let id = client
        .start("logs_around_a_wait", "null", Default::default())
        .await
        .unwrap();

    let first_log = dir.path().join("first.log");
    let first = WorkerProcess::spawn_logging(&db, &first_log);
    eventually(
        Duration::from_secs(10),
        format!("the first worker records that {id} awaits event go"),
        async || {
            let history = client.history(&id).await.unwrap();
            history.iter().any(
                |e| matches!(&e.event, reprise::history::Event::EventAwaited { name } if name == "go"),
            )
        },
    )
    .await;
    first.kill();

    // The second worker replays the first half, then runs the second.
    let second_log = dir.path().join("second.log");
    let _second = WorkerProcess::spawn_logging(&db, &second_log);
    client.raise_event(&id, "go", "null").await.unwrap();
    let record = client.wait(&id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);

    let logs = std::fs::read_to_string(&first_log).unwrap()
        + &std::fs::read_to_string(&second_log).unwrap();
    for line in [
        "before the wait",
        "printed before the wait",
        "after the wait",
    ] {
        let count = logs
            .lines()
            .filter(|l| l.contains(&format!(": {line} instance_id={id} execution=0")))
            .count();
        assert_eq!(count, 1, "{line:?} in:\n{logs}");
    }
    let replayed = std::fs::read_to_string(&second_log).unwrap();
    assert!(!replayed.contains("before the wait"), "{replayed}");
}

/// A worker process on `db` that has run an instance: it holds the lease.
async fn a_working_worker(db: &Path) -> WorkerProcess {
    let client = registered_client(db).await;
    let worker = WorkerProcess::spawn(db);
    let id = client
        .start("hello_sequence", r#"["a"]"#, Default::default())
        .await
        .unwrap();
    let record = client.wait(&id, Duration::from_secs(60)).await.unwrap();
    assert_eq!(record.status, Status::Completed, "the worker runs");
    worker
}

/// `start --wait` leaves the work to a worker that holds the lease, but not
/// to one that died holding it: once the lease runs out it takes over.
#[tokio::test(flavor = "multi_thread")]
async fn start_and_wait_takes_over_from_a_killed_worker() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    a_working_worker(&db).await.kill();

    let output = reprise(
        &db,
        &[
            "start",
            "hello_sequence",
            "--input",
            r#"["b"]"#,
            "--wait",
            "--timeout",
            "30",
        ],
    );
    assert_eq!(stdout(&output).trim(), r#"["Hello, b!"]"#);
}

/// A worker stopped with SIGTERM gives its lease up: the next one starts at
/// once instead of being refused until the lease runs out.
#[tokio::test(flavor = "multi_thread")]
async fn a_terminated_worker_gives_its_lease_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let worker = a_working_worker(&db).await;
    assert!(
        worker.terminate().success(),
        "a terminated worker exits cleanly"
    );

    // Without --wait-for-lease a worker is refused while a lease is held:
    // this one says it runs, where a refused one exits saying why.
    let mut next = WorkerProcess::spawn_with_args(&db, &["worker"]);
    next.wait_until_running().await;
}

/// A limit the worker cannot read is refused before anything runs, in one
/// line that says what is wrong with it.
#[test]
fn a_bad_activity_limit_is_refused_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    for (limit, why) in [
        ("charge", "\"charge\" is not NAME:LIMITS"),
        (
            "charge:concurrency=0",
            "concurrency must be a whole number above 0",
        ),
        ("charge:rate=10/1d", "rate \"10/1d\" is not N/PERIOD"),
        ("charge:per-key=2", "key and per-key go together"),
    ] {
        let run = reprise(&db, &["--activity-limit", limit, "worker"]);
        assert!(!run.status.success(), "{limit}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains(why), "{limit}: {stderr}");
    }
    assert!(!db.exists(), "nothing was opened");
}
