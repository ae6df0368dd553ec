//! Actors: one operation at a time, failures change nothing, reminders
//! survive restarts, bad input is refused, a new version takes over.

use std::time::Duration;

use reprise::store::Status;
use reprise::{Error, Limits};
use reprise_tests::{Host, actor_json, js_guest, open, settle, tight_limits};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn many_concurrent_senders_lose_no_update() {
    let host = Host::new().await;
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..20 {
        let runtime = host.runtime.clone();
        senders.spawn(async move {
            for n in 1..=25 {
                let amount = (sender * 100 + n).to_string();
                if n % 5 == 0 {
                    runtime
                        .call_actor("tally", "shared", "add", &amount, WAIT)
                        .await
                        .unwrap();
                } else {
                    runtime
                        .signal_actor("tally", "shared", "add", &amount, None)
                        .await
                        .unwrap();
                }
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.unwrap();
    }
    host.settle().await;
    let expected_sum: i64 = (0..20)
        .flat_map(|s| (1..=25).map(move |n| s * 100 + n))
        .sum();
    assert_eq!(
        actor_json(&host.runtime, "tally", "shared").await,
        json!({"count": 500, "sum": expected_sum})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_or_trapping_operation_changes_nothing_and_the_actor_keeps_serving() {
    let host = Host::with(|b| b.limits(tight_limits())).await;
    host.runtime
        .call_actor("tally", "t", "add", "5", WAIT)
        .await
        .unwrap();

    let error = host
        .runtime
        .call_actor("tally", "t", "add_then_fail", "100", WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::ActorFailed { actor, operation, failure }
            if actor.to_string() == "tally/t"
                && operation == "add_then_fail"
                && failure.message == "failing on purpose"),
        "{error:?}"
    );
    let error = host
        .runtime
        .call_actor("tally", "t", "add_then_spin", "100", WAIT)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("CPU deadline"), "{error}");
    // A trap says what the guest said, and where.
    let error = host
        .runtime
        .call_actor("tally", "t", "add_then_panic", "100", WAIT)
        .await
        .unwrap_err();
    let Error::ActorFailed { failure, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        failure.message.starts_with("panicked at ")
            && failure
                .message
                .ends_with(": tally gave up after adding 100"),
        "{}",
        failure.message
    );
    assert!(
        failure.details.as_deref().is_some_and(
            |d| d.contains("<misbehaving::Tally as reprise_sdk::actor::Actor>::handle")
        ),
        "{:?}",
        failure.details
    );
    let error = host
        .runtime
        .call_actor("tally", "t", "no_such_op", "1", WAIT)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown operation \"no_such_op\""),
        "{error}"
    );

    let output = host
        .runtime
        .call_actor("tally", "t", "add", "1", WAIT)
        .await
        .unwrap();
    assert_eq!(output, r#"{"count":2,"sum":6}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn orchestrations_call_signal_and_update_actors_atomically() {
    let host = Host::new().await;
    let record = host.run("tally_pair", r#"["left","right",7]"#).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    assert_eq!(record.output.as_deref(), Some(r#"{"count":1,"sum":7}"#));
    host.settle().await;
    assert_eq!(
        actor_json(&host.runtime, "tally", "right").await,
        json!({"count": 1, "sum": 7})
    );
    assert_eq!(
        actor_json(&host.runtime, "tally", "audit").await,
        json!({"count": 1, "sum": 1})
    );
    // Actor to actor, one-way.
    host.runtime
        .signal_actor(
            "tally",
            "left",
            "forward",
            r#"{"to":"right","amount":3}"#,
            None,
        )
        .await
        .unwrap();
    host.settle().await;
    assert_eq!(
        actor_json(&host.runtime, "tally", "right").await,
        json!({"count": 2, "sum": 10})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_fire_after_a_restart() {
    let mut host = Host::new().await;
    host.runtime
        .call_actor("tally", "r", "add", "1", WAIT)
        .await
        .unwrap();
    host.runtime
        .signal_actor("tally", "r", "add", "10", Some(Duration::from_millis(700)))
        .await
        .unwrap();
    host.stop_worker();
    drop(host.runtime.clone());
    // A new host process on the same database.
    let restarted = open(&host.db, |b| b).await;
    let _worker = restarted.start_worker(8);
    assert_eq!(
        actor_json(&restarted, "tally", "r").await,
        json!({"count": 1, "sum": 1}),
        "not yet due"
    );
    settle(&restarted).await;
    assert_eq!(
        actor_json(&restarted, "tally", "r").await,
        json!({"count": 2, "sum": 11})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn committed_state_is_readable_without_waiting_behind_the_mailbox() {
    let mut host = Host::new().await;
    host.runtime
        .call_actor("tally", "q", "add", "2", WAIT)
        .await
        .unwrap();
    host.stop_worker();
    for _ in 0..5 {
        host.runtime
            .signal_actor("tally", "q", "add", "1", None)
            .await
            .unwrap();
    }
    assert_eq!(host.runtime.actor_backlog().await.unwrap(), 5);
    assert_eq!(
        actor_json(&host.runtime, "tally", "q").await,
        json!({"count": 1, "sum": 2})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_actor_input_is_refused_and_changes_nothing() {
    let host = Host::with(|b| {
        b.limits(Limits {
            max_payload_bytes: 1024,
            ..Limits::default()
        })
    })
    .await;
    host.runtime
        .call_actor("tally", "b", "add", "1", WAIT)
        .await
        .unwrap();
    let error = host
        .runtime
        .signal_actor("ghost", "b", "add", "1", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotFound(m) if m == "no actor kind \"ghost\" is registered"),
        "{error:?}"
    );
    let error = host
        .runtime
        .signal_actor("tally", "b", "add", "{oops", None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    let big = format!("\"{}\"", "x".repeat(2000));
    let error = host
        .runtime
        .call_actor("tally", "b", "add", &big, WAIT)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("the limit is 1024 bytes"),
        "{error}"
    );
    let error = host
        .runtime
        .call_actor("tally", "b", "add", "\"not a number\"", WAIT)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("bad input"), "{error}");
    assert!(matches!(
        host.runtime.actor_state("tally", "nobody").await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(host.runtime.actor_backlog().await.unwrap(), 0);
    assert_eq!(
        actor_json(&host.runtime, "tally", "b").await,
        json!({"count": 1, "sum": 1})
    );
}

/// A client process without a worker calls an actor that a worker process
/// handles: the answer reaches it, and it reads the committed state.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_without_a_worker_gets_the_answer_of_a_worker_in_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let client = reprise_tests::registered_client(&db).await;
    let worker = reprise_tests::WorkerProcess::spawn(&db);
    for n in 1..=3 {
        let reply = client
            .call_actor("tally", "remote", "add", &n.to_string(), WAIT)
            .await
            .unwrap();
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["count"], n);
    }
    assert_eq!(
        actor_json(&client, "tally", "remote").await,
        json!({"count": 3, "sum": 6})
    );
    worker.kill();
}

/// The worker keeps actor instances between batches; a component
/// registered while it runs still handles its kind's very next operation,
/// on the state the old version left. (The JavaScript test guests are the
/// cheapest pair of versions of one actor.)
#[tokio::test(flavor = "multi_thread")]
async fn a_component_registered_while_the_worker_runs_takes_over_its_actor_kind() {
    let host = Host::new().await;
    let runtime = &host.runtime;
    runtime.register(&js_guest("js_guest")).await.unwrap();
    for amount in [5, 7] {
        runtime
            .call_actor("js_account", "a", "deposit", &amount.to_string(), WAIT)
            .await
            .unwrap();
    }
    let get = || runtime.call_actor("js_account", "a", "get", "null", WAIT);
    let before: serde_json::Value = serde_json::from_str(&get().await.unwrap()).unwrap();
    assert_eq!(before, json!({"balance": 12, "operations": 2}));

    runtime.register(&js_guest("js_guest_v2")).await.unwrap();
    let after: serde_json::Value = serde_json::from_str(&get().await.unwrap()).unwrap();
    assert_eq!(after, json!({"balance": 12, "operations": 2, "version": 2}));
    runtime
        .call_actor("js_account", "a", "deposit", "1", WAIT)
        .await
        .unwrap();
    let last: serde_json::Value = serde_json::from_str(&get().await.unwrap()).unwrap();
    assert_eq!(last, json!({"balance": 13, "operations": 3, "version": 2}));
}
