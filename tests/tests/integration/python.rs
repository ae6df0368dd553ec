//! A Python guest (componentize-py, `guest-sdk/python`) with the same
//! guarantees as a Rust one: it calls Rust and Python activities, replays
//! identically (Python's own clocks and randomness included), stays in its
//! sandbox, and keeps actor state exactly once.

use std::time::Duration;

use reprise::ReplayVerdict;
use reprise::store::Status;
use reprise_tests::{Host, actor_json, python_guest};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

async fn host_with_python() -> Host {
    let host = Host::new().await;
    let info = host
        .runtime
        .register(&python_guest("py_guest"))
        .await
        .expect("the Python guest registers");
    assert!(
        info.orchestrations.contains(&"py_greet".to_owned()),
        "{info:?}"
    );
    assert_eq!(info.activities, ["py_flaky", "py_shout"]);
    assert_eq!(info.actors, ["py_account"]);
    host
}

fn output(record: &reprise::store::InstanceRecord) -> Value {
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    serde_json::from_str(record.output.as_deref().unwrap()).unwrap()
}

/// Replays the instance and checks it returns what it returned live.
async fn replays_identically(host: &Host, id: &str) {
    match host.runtime.replay_check(id, None).await.unwrap() {
        ReplayVerdict::Returned(Ok(_)) => {}
        other => panic!("replay of {id} ended {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_orchestration_calls_rust_and_python_activities_and_replays_identically() {
    let host = host_with_python().await;

    let greet = host.run("py_greet", r#"["Oslo","Lima"]"#).await;
    assert_eq!(
        output(&greet),
        json!({
            "greetings": ["Hello, Oslo!", "Hello, Lima!"],
            "shouted": "HELLO, OSLO! / HELLO, LIMA!!"
        })
    );
    assert_eq!(greet.custom_status.as_deref(), Some(r#"{"greeted": 2}"#));
    replays_identically(&host, &greet.id).await;

    // Python's time, datetime, random and uuid come from the sandbox: the
    // replay sees the same values (replay_check compares the outputs).
    let first = host.run("py_clocks", "null").await;
    let second = host.run("py_clocks", "null").await;
    replays_identically(&host, &first.id).await;
    replays_identically(&host, &second.id).await;
    let (first, second) = (output(&first), output(&second));
    for key in ["random", "uuid", "ctx_random", "ctx_uuid"] {
        assert_ne!(first[key], second[key], "{key} differs between instances");
    }

    let retried = host.run("py_retry", "3").await;
    assert_eq!(output(&retried)["attempt"], 3);

    let failed = host.run("py_fails", r#""no luck""#).await;
    assert_eq!(failed.status, Status::Failed);
    let failure = failed.failure().unwrap();
    assert_eq!(failure.message, "no luck");
    assert_eq!(failure.details.as_deref(), Some(r#"{"why": "asked to"}"#));

    let countdown = host.run("py_countdown", "3").await;
    assert_eq!(output(&countdown), json!("lift-off"));
    assert_eq!(countdown.execution, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_python_orchestration_is_caught_at_the_first_call_that_differs() {
    let host = host_with_python().await;
    let greet = host.run("py_greet", r#"["Oslo"]"#).await;
    let error = host
        .runtime
        .replay_check(&greet.id, Some(&python_guest("py_guest_v2")))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, reprise::Error::Nondeterminism(_)),
        "{message}"
    );
    // History's first call was say_hello("Oslo"); version 2 asks for py_shout.
    assert!(
        message.contains("say_hello") && message.contains("py_shout"),
        "{message}"
    );
    // The original still replays: the instance is untouched.
    replays_identically(&host, &greet.id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_orchestration_waits_for_events_and_cannot_leave_its_sandbox() {
    let host = host_with_python().await;

    let id = host.start("py_approval", "3600").await;
    host.runtime
        .raise_event(&id, "approval", r#"{"by":"dana"}"#)
        .await
        .unwrap();
    let approved = host.wait(&id).await;
    assert_eq!(
        output(&approved),
        json!({"approved": {"by": "dana"}, "timed_out": false})
    );
    let timed_out = host.run("py_approval", "0.05").await;
    assert_eq!(
        output(&timed_out),
        json!({"approved": null, "timed_out": true})
    );

    let probe = output(&host.run("py_sandbox", "null").await);
    assert!(probe.get("file").is_none(), "read a file: {probe}");
    assert!(probe.get("socket").is_none(), "opened a socket: {probe}");
    assert!(probe["file_error"].is_string(), "{probe}");
    assert!(probe["socket_error"].is_string(), "{probe}");
    assert_eq!(probe["environment"], json!({}));
}

#[tokio::test(flavor = "multi_thread")]
async fn python_actors_move_money_all_or_nothing() {
    let host = host_with_python().await;
    let runtime = &host.runtime;
    for (key, amount) in [("a", 100), ("b", 20)] {
        runtime
            .call_actor("py_account", key, "deposit", &amount.to_string(), WAIT)
            .await
            .unwrap();
    }
    let refused = runtime
        .call_actor("py_account", "a", "withdraw", "500", WAIT)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("insufficient funds: balance 100 < 500"),
        "{refused}"
    );

    let moved = host
        .run("py_transfer", r#"{"from":"a","to":"b","amount":30}"#)
        .await;
    assert_eq!(output(&moved), json!({"done": true}));
    let refused = host
        .run("py_transfer", r#"{"from":"b","to":"a","amount":80}"#)
        .await;
    let refused = output(&refused);
    assert_eq!(refused["done"], false);
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("insufficient funds"),
        "{refused}"
    );

    assert_eq!(
        actor_json(runtime, "py_account", "a").await,
        json!({"balance": 70, "operations": 2})
    );
    assert_eq!(
        actor_json(runtime, "py_account", "b").await,
        json!({"balance": 50, "operations": 2})
    );
    let closed = runtime
        .call_actor("py_account", "b", "close", "null", WAIT)
        .await
        .unwrap();
    assert_eq!(closed, r#""closed""#);
    assert!(runtime.actor_state("py_account", "b").await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cpu_deadline_and_the_memory_limit_stop_a_python_guest() {
    let limits = reprise::Limits {
        memory_bytes: 128 << 20,
        cpu_per_episode: Duration::from_secs(1),
        ..reprise::Limits::default()
    };
    let host = Host::with(|builder| builder.limits(limits)).await;
    host.runtime
        .register(&python_guest("py_guest"))
        .await
        .unwrap();

    let spun = host.run("py_spin", "null").await;
    assert_eq!(spun.status, Status::Failed);
    let message = spun.failure().unwrap().message;
    assert!(message.contains("CPU"), "{message}");

    let hoarded = host.run("py_hoard", "null").await;
    assert_eq!(hoarded.status, Status::Failed);
    let message = hoarded.failure().unwrap().message;
    assert!(message.contains("memory"), "{message}");

    // The host is unharmed: the next Python instance runs.
    let greet = host.run("py_greet", r#"["Oslo"]"#).await;
    assert_eq!(greet.status, Status::Completed, "{:?}", greet.output);
}

/// The bank demo with its accounts in Python: the Rust orchestrations
/// (sagas, atomic transfers) and actor-to-actor transfers move money
/// between Python `account` actors, and every cent is accounted for.
#[test]
fn the_bank_demo_conserves_money_with_the_python_account_actor() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(reprise_tests::bank_demo_bin())
        .arg(reprise_tests::guest_path("bank"))
        .arg("--account-component")
        .arg(reprise_tests::python_guest_path("py_bank"))
        .args(["--accounts", "20", "--transfers", "600"])
        .arg("--db")
        .arg(dir.path().join("bank.db"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("accounts are handled by"), "{stdout}");
    assert!(
        stdout.contains("total money: 20000 (expected 20000)"),
        "{stdout}"
    );
    assert!(stdout.contains("conservation check passed"), "{stdout}");
}
