//! Bad input gets a clear error and changes nothing.

use std::process::Command;
use std::time::Duration;

use reprise::store::Store;
use reprise::{Error, Limits, StartOptions};
use reprise_sqlite::SqliteStore;
use reprise_tests::{Host, guest, guest_path, reprise_bin};

/// Everything a request could have changed, to compare before and after.
async fn snapshot(host: &Host) -> (usize, usize) {
    let store = SqliteStore::open(&host.db).unwrap();
    (
        store.registrations().await.unwrap().len(),
        store.instances(&Default::default()).await.unwrap().len(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_wasm_and_wrong_world_components_are_refused() {
    let host = Host::new().await;
    let before = snapshot(&host).await;
    let error = host
        .runtime
        .register(b"\0asm but not really")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidComponent(_)), "{error:?}");
    assert!(
        error.to_string().starts_with("not a valid component"),
        "{error}"
    );

    let error = host
        .runtime
        .register(&guest("not-reprise"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("another world"), "{error}");
    assert_eq!(snapshot(&host).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_or_oversized_input_and_unknown_names_start_nothing() {
    let host = Host::with(|b| {
        b.limits(Limits {
            max_payload_bytes: 1024,
            ..Limits::default()
        })
    })
    .await;
    let before = snapshot(&host).await;
    let start = |name: &'static str, input: String| {
        let runtime = host.runtime.clone();
        async move { runtime.start(name, &input, StartOptions::default()).await }
    };
    let error = start("hello_sequence", "[\"unclosed".into())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(
        error.to_string().starts_with("input is not valid JSON"),
        "{error}"
    );

    let error = start("hello_sequence", format!("\"{}\"", "x".repeat(2000)))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("the limit is 1024 bytes"),
        "{error}"
    );

    let error = start("no_such_orchestration", "null".into())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    assert_eq!(snapshot(&host).await, before);

    let error = host
        .runtime
        .raise_event("missing", "e", "{bad json")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_instances_are_not_found() {
    let host = Host::new().await;
    for result in [
        host.runtime.status("ghost").await.map(|_| ()),
        host.runtime.history("ghost").await.map(|_| ()),
        host.runtime.terminate("ghost", "x").await,
        host.runtime.suspend("ghost").await,
        host.runtime.resume("ghost").await,
        host.runtime.purge("ghost").await,
    ] {
        let error = result.unwrap_err();
        assert!(matches!(error, Error::NotFound(_)), "{error:?}");
        assert_eq!(error.to_string(), "no instance ghost");
    }
}

#[test]
fn the_cli_exits_nonzero_with_one_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let run = |args: &[&str]| {
        Command::new(reprise_bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .expect("run reprise")
    };
    let ok = run(&["register", guest_path("hello_sequence").to_str().unwrap()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"garbage").unwrap();
    for (args, expected) in [
        (vec!["status", "ghost"], "error: no instance ghost"),
        (
            vec!["start", "hello_sequence", "--input", "{nope"],
            "error: input is not valid JSON",
        ),
        (
            vec!["register", garbage.to_str().unwrap()],
            "error: cannot register",
        ),
        (
            vec!["raise-event", "ghost", "go", "1"],
            "error: no instance ghost",
        ),
        (
            vec!["list", "--status", "sleepy"],
            "error: unknown status \"sleepy\"",
        ),
        (
            vec!["start", "hello_sequence", "--id", "a\nb"],
            "error: instance id \"a\\nb\" contains the control character '\\n'",
        ),
    ] {
        let out = run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: one line, got {stderr}"
        );
        assert!(stderr.starts_with(expected), "{args:?}: {stderr}");
    }
    let listed = run(&["list"]);
    assert!(listed.status.success());
    assert!(listed.stdout.is_empty(), "nothing was started");
}

#[tokio::test(flavor = "multi_thread")]
async fn names_with_control_characters_or_beyond_their_length_are_refused() {
    let host = Host::new().await;
    let before = snapshot(&host).await;
    let id = |id: &str| StartOptions {
        instance_id: Some(id.to_owned()),
        ..StartOptions::default()
    };
    for (result, expected) in [
        (
            host.runtime
                .start("hello_sequence", "[]", id("a\nb"))
                .await
                .map(|_| ()),
            r#"instance id "a\nb" contains the control character '\n'"#.to_owned(),
        ),
        (
            host.runtime
                .start("hello_sequence", "[]", id(&"i".repeat(257)))
                .await
                .map(|_| ()),
            "instance id is 257 bytes; the limit is 256 bytes".to_owned(),
        ),
        (
            host.runtime.raise_event("some-id", "go\t", "1").await,
            r#"event name "go\t" contains the control character '\t'"#.to_owned(),
        ),
        (
            host.runtime
                .signal_actor("tally", "", "add", "1", None)
                .await,
            "actor key must not be empty".to_owned(),
        ),
        (
            host.runtime
                .call_actor("tally", "k\0", "add", "1", Duration::from_secs(1))
                .await
                .map(|_| ()),
            r#"actor key "k\0" contains the control character '\0'"#.to_owned(),
        ),
    ] {
        let error = result.unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
        assert_eq!(error.to_string(), expected);
    }
    assert_eq!(snapshot(&host).await, before);
    assert_eq!(host.runtime.actor_backlog().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_the_store_cannot_decode_is_an_error_that_names_it() {
    let mut host = Host::new().await;
    let record = host.run("hello_sequence", r#"["Oslo"]"#).await;
    host.stop_worker();
    let sql = rusqlite::Connection::open(&host.db).unwrap();
    sql.execute(
        "UPDATE instances SET status = 'bogus' WHERE id = ?1",
        [&record.id],
    )
    .unwrap();
    let error = host.runtime.status(&record.id).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "corrupt row in table instances (key {}): column status: unknown value \"bogus\"",
            record.id
        )
    );
    sql.execute(
        "UPDATE history SET event = x'01ff' WHERE instance_id = ?1 AND seq = 1",
        [&record.id],
    )
    .unwrap();
    sql.execute(
        "UPDATE instances SET status = 'completed' WHERE id = ?1",
        [&record.id],
    )
    .unwrap();
    let error = host
        .runtime
        .history(&record.id)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "corrupt row in table history (key {}/0/1): column event: malformed history event",
            record.id
        )),
        "{error}"
    );
    // Options of a pending activity that are not JSON: the task is not run
    // with default options (which would drop its retry policy).
    sql.execute(
        "INSERT INTO activity_tasks (instance_id, execution, task, name, digest, input, options, attempt, visible_at)
         VALUES ('x', 0, 1, 'say_hello', '', '\"Oslo\"', '{retry', 1, 0)",
        [],
    )
    .unwrap();
    let store = SqliteStore::open(&host.db).unwrap();
    let error = store
        .due_activities(i64::MAX as u64, 10, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("corrupt row in table activity_tasks (key ")
            && error.contains("): column options: "),
        "{error}"
    );
}
