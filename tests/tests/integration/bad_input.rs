//! Bad input gets a clear error and changes nothing.

use std::process::Command;

use reprise::store::Store;
use reprise::store::sqlite::SqliteStore;
use reprise::{Error, Limits, StartOptions};
use reprise_tests::{Host, guest, guest_path, reprise_bin};

/// Everything a request could have changed, to compare before and after.
fn snapshot(host: &Host) -> (usize, usize) {
    let store = SqliteStore::open(&host.db).unwrap();
    (
        store.registrations().unwrap().len(),
        store.instances(None, usize::MAX).unwrap().len(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_wasm_and_wrong_world_components_are_refused() {
    let host = Host::new().await;
    let before = snapshot(&host);
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
    assert_eq!(snapshot(&host), before);
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
    let before = snapshot(&host);
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
    assert_eq!(snapshot(&host), before);

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
        host.runtime.status("ghost").map(|_| ()),
        host.runtime.history("ghost").map(|_| ()),
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
