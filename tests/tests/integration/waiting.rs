//! "What is it waiting for?": a blocked instance's awaited tasks, each with
//! how far it got, worked out from the store alone — the same answer from a
//! process that never ran the guest.

use std::sync::Arc;
use std::time::Duration;

use reprise::Runtime;
use reprise::history::{Event, HistoryEvent};
use reprise::store::{ActorId, ActorOperation, Op, ParentRef, ReplyTo, Store, Waiting};
use reprise_sqlite::SqliteStore;
use reprise_tests::{Host, eventually, open};
use serde_json::{Value, json};

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The report as JSON.
async fn report(runtime: &Runtime, id: &str) -> Value {
    let facts = runtime.waiting(id).await.expect("waiting");
    serde_json::to_value(facts.report()).unwrap()
}

/// Waits (up to ten seconds) until the instance's report satisfies `done`.
async fn report_when(runtime: &Runtime, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    eventually(
        Duration::from_secs(10),
        format!("the report of {id} says what the test expects (the report is shown)"),
        async || {
            let report = report(runtime, id).await;
            if done(&report) {
                Ok(report)
            } else {
                Err(report)
            }
        },
    )
    .await
}

/// Waits until the instance reports `tasks` awaited.
async fn blocked_on(runtime: &Runtime, id: &str, tasks: &[u64]) -> Value {
    report_when(runtime, id, |report| {
        let awaited: Vec<u64> = report["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["task"].as_u64().unwrap())
            .collect();
        awaited == tasks
    })
    .await
}

/// Races an event against a timer, retries an activity after a failure,
/// awaits a child that awaits an event: each is explained with its details,
/// identically by a second process with no worker; raising the event moves
/// the instance on and the report with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wait_is_explained_from_the_store_by_any_process() {
    let host = Host::new().await;
    let started_at = now_ms();
    let approval = host
        .start(
            "approval",
            &json!({"item": "laptop", "amount": 1200, "timeout_secs": 86400}).to_string(),
        )
        .await;
    let retrying = host.start("retrying_later", "1").await;
    let parent = host.start("awaits_child", "\"child-of-it\"").await;

    // approval: 1 custom status, 2 notify, 3 its result, 4 the event, 5 the
    // timer, 6 the race.
    let raced = blocked_on(&host.runtime, &approval, &[4, 5]).await;
    assert_eq!(raced["status"], "running");
    assert!(raced["since"].as_u64().unwrap() >= started_at);
    assert_eq!(
        raced["waiting"][0],
        json!({"task": 4, "kind": "event", "name": "approval", "arrived": false,
               "scheduled_at": raced["waiting"][0]["scheduled_at"]})
    );
    let timer = &raced["waiting"][1];
    assert_eq!(timer["kind"], "timer");
    let fire_at = timer["fire_at"].as_u64().unwrap();
    let scheduled_at = timer["scheduled_at"].as_u64().unwrap();
    assert_eq!(
        fire_at - scheduled_at,
        86_400_000,
        "due a day after it was set"
    );

    // Once the first attempt has failed: the second waits out its hour.
    let retry = report_when(&host.runtime, &retrying, |report| {
        report["waiting"][0]["attempt"] == 2
    })
    .await;
    let activity = &retry["waiting"][0];
    assert_eq!(
        (&activity["kind"], &activity["name"], &activity["attempt"]),
        (&json!("activity"), &json!("flaky"), &json!(2))
    );
    assert_eq!(
        activity["last_failure"]["message"],
        "attempt 1 fails on purpose"
    );
    let next = activity["next_attempt_at"].as_u64().unwrap();
    assert!(
        next >= started_at + 3_600_000,
        "the retry waits out its hour"
    );

    let waits_for_child = blocked_on(&host.runtime, &parent, &[1]).await;
    let child = &waits_for_child["waiting"][0];
    assert_eq!(
        (&child["kind"], &child["name"], &child["instance_id"]),
        (
            &json!("child"),
            &json!("logs_around_a_wait"),
            &json!("child-of-it")
        )
    );
    assert_eq!(child["status"], "running");
    let of_child = blocked_on(&host.runtime, "child-of-it", &[1]).await;
    assert_eq!(of_child["waiting"][0]["name"], "go");

    // Another process, which never ran a guest, says the same.
    let elsewhere = open(&host.db, |b| b).await;
    for (id, seen) in [(&approval, &raced), (&retrying, &retry)] {
        assert_eq!(&report(&elsewhere, id).await, seen);
    }

    host.runtime
        .raise_event(&approval, "approval", r#"{"approved": true, "by": "dana"}"#)
        .await
        .unwrap();
    let finished = host.wait(&approval).await;
    assert_eq!(finished.status, reprise::store::Status::Completed);
    let done = report(&elsewhere, &approval).await;
    assert_eq!(done["waiting"], json!([]));
    assert_eq!(done["note"], "finished: it awaits nothing");
    assert!(done.get("since").is_none());
}

/// An actor call reports the operations ahead of it in the actor's mailbox,
/// and a multi-actor call the requests ahead of it. Built row by row in a
/// real database, so the queues stay put while they are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_calls_report_their_place_in_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let account = |key: &str| ActorId {
        kind: "account".into(),
        key: key.into(),
    };
    let operation = |key: &str| ActorOperation {
        target: account(key),
        operation: "withdraw".into(),
        input: "5".into(),
    };
    let to = |task| {
        ReplyTo::Task(ParentRef {
            instance_id: "shop".into(),
            execution: 0,
            task,
        })
    };
    let event = |seq, event| HistoryEvent { seq, at: 10, event };
    let mut batch = vec![
        Op::create_instance("shop".into(), "shop", "d".into(), "null", None, 1),
        Op::AppendHistory {
            instance_id: "shop".into(),
            execution: 0,
            events: vec![
                event(
                    1,
                    Event::ActorCalled {
                        operation: operation("alice"),
                    },
                ),
                event(
                    2,
                    Event::ActorsCalledAtomically {
                        operations: vec![operation("alice"), operation("bob")],
                    },
                ),
            ],
        },
        Op::SetWaiting {
            instance_id: "shop".into(),
            waiting: Waiting {
                execution: 0,
                tasks: vec![1, 2],
                since: 20,
            },
        },
    ];
    for (key, reply) in [
        ("alice", ReplyTo::Nobody),
        ("bob", ReplyTo::Nobody),
        ("alice", ReplyTo::Client("c-1".into())),
        ("alice", ReplyTo::Nobody),
        ("alice", to(1)),
        ("alice", ReplyTo::Nobody),
    ] {
        batch.push(Op::EnqueueActor {
            operation: operation(key),
            reply,
            visible_at: 0,
            capacity: None,
        });
    }
    for reply in [ReplyTo::Client("c-2".into()), to(2)] {
        batch.push(Op::EnqueueAtomic {
            operations: vec![operation("bob")],
            reply,
            capacity: None,
        });
    }
    store.commit(batch).await.unwrap().unwrap();

    let client = open(&db, |b| b).await;
    let seen = report(&client, "shop").await;
    assert_eq!(seen["since"], 20);
    assert_eq!(seen["waiting"][0]["actor"], "account/alice");
    assert_eq!(seen["waiting"][0]["mailbox_ahead"], 3, "{seen}");
    assert_eq!(
        seen["waiting"][1]["actors"],
        json!(["account/alice", "account/bob"])
    );
    assert_eq!(seen["waiting"][1]["requests_ahead"], 1, "{seen}");
    assert_eq!(seen["waiting"][0]["arrived"], false);
}
