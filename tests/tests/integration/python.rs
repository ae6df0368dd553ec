//! What is particular to Python guests (componentize-py,
//! `guest-sdk/python`): Python's own clocks and randomness replay
//! identically, files, sockets and the environment are out of reach, and
//! the bank runs on Python accounts. What every language keeps is in
//! `languages.rs`.

use reprise_tests::{
    Host, assert_replays_identically, completed_output as output, failure_of, python_guest,
};
use serde_json::json;

async fn host_with_python() -> Host {
    let host = Host::new().await;
    host.runtime
        .register(&python_guest("py_guest"))
        .await
        .expect("the Python guest registers");
    host
}

/// `time.time()`, `datetime.now()`, `time.monotonic()`, `random.random()`
/// and `uuid.uuid4()` come from the sandbox: a replay sees the same values,
/// and two instances different random ones.
#[tokio::test(flavor = "multi_thread")]
async fn python_clocks_and_randomness_replay_identically() {
    let host = host_with_python().await;
    let first = host.run("py_clocks", "null").await;
    let second = host.run("py_clocks", "null").await;
    assert_replays_identically(&host.runtime, &first.id).await;
    assert_replays_identically(&host.runtime, &second.id).await;
    let (first, second) = (output(&first), output(&second));
    for key in ["random", "uuid", "ctx_random", "ctx_uuid"] {
        assert_ne!(first[key], second[key], "{key} differs between instances");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_orchestration_cannot_leave_its_sandbox() {
    let host = host_with_python().await;
    let probe = output(&host.run("py_sandbox", "null").await);
    assert!(probe.get("file").is_none(), "read a file: {probe}");
    assert!(probe.get("socket").is_none(), "opened a socket: {probe}");
    assert!(probe["file_error"].is_string(), "{probe}");
    assert!(probe["socket_error"].is_string(), "{probe}");
    assert_eq!(probe["environment"], json!({}));
}

/// An exception raised while the SDK sends the result, or one that is not
/// an `Exception` at all, fails the instance with its type and message and
/// keeps its traceback, as one the user's code raised would: not a panic of
/// componentize-py's that names none of it.
#[tokio::test(flavor = "multi_thread")]
async fn a_python_exception_in_any_phase_is_named_with_its_traceback() {
    let host = host_with_python().await;
    for (mistake, message, exception_line) in [
        (
            "set",
            "the orchestration's output is not JSON: Object of type set is not JSON serializable; when serializing dict item 'tags'",
            "TypeError: Object of type set is not JSON serializable\n",
        ),
        (
            "keyboard_interrupt",
            "KeyboardInterrupt",
            "KeyboardInterrupt\n",
        ),
        // The status sys.exit asked for, which WASI's exit cannot carry.
        (
            "exit",
            "SystemExit: orchestration 'py_hostile' exited with status 3",
            "SystemExit: 3\n",
        ),
    ] {
        let record = host.run("py_hostile", &format!("{mistake:?}")).await;
        let (failure, details) = failure_of(&record);
        assert_eq!(failure.message, message, "{mistake}");
        let traceback = details["traceback"].as_array().expect("a traceback");
        let lines: Vec<&str> = traceback.iter().map(|l| l.as_str().unwrap()).collect();
        assert!(lines.contains(&exception_line), "{mistake}: {details}");
        // Raised in the user's code, the traceback goes through it; raised
        // while sending the result, through the SDK.
        let origin = if mistake == "set" {
            "_json.py"
        } else {
            "app.py"
        };
        assert!(
            lines.iter().any(|line| line.contains(origin)),
            "{mistake}: {details}"
        );
    }
}

/// The bank demo with its accounts in Python: the Rust orchestrations
/// (sagas, atomic transfers) and actor-to-actor transfers move money
/// between Python `account` actors, and every cent is accounted for.
#[test]
fn the_bank_demo_conserves_money_with_the_python_account_actor() {
    reprise_tests::assert_bank_demo_conserves_money(&reprise_tests::python_guest_path("py_bank"));
}
