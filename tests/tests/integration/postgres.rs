//! The engine on PostgreSQL (the server `scripts/test` starts): the same
//! guests and promises as on SQLite — orchestrations, events, actors moving
//! money all or nothing, and a worker process killed with SIGKILL that
//! loses no step, event or actor operation and applies none twice.

use std::sync::Arc;
use std::time::Duration;

use reprise::store::Status;
use reprise::{Runtime, StartOptions};
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;
use reprise_tests::{
    COMPONENTS, WorkerProcess, actor_json, assert_all_completed, assert_chains_exact,
    assert_replays_identically, completed_output, eventually, guest, start_chains, steps_scheduled,
};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

/// A runtime without a worker on a fresh database, every test component
/// registered.
async fn client(db: &TestDatabase) -> Runtime {
    let store = PostgresStore::connect(&db.url()).await.expect("connect");
    let runtime = Runtime::builder(Arc::new(store))
        .build()
        .await
        .expect("runtime");
    for component in COMPONENTS {
        runtime.register(&guest(component)).await.expect("register");
    }
    runtime
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orchestrations_events_and_actors_run_on_postgres() {
    let db = TestDatabase::create().await;
    let runtime = client(&db).await;
    let worker = runtime.start_worker(64);

    let hello = runtime
        .start(
            "hello_sequence",
            r#"["Tokyo", "Oslo"]"#,
            StartOptions::default(),
        )
        .await
        .unwrap();
    let record = runtime.wait(&hello, WAIT).await.unwrap();
    assert_eq!(
        completed_output(&record),
        json!(["Hello, Tokyo!", "Hello, Oslo!"])
    );
    assert_replays_identically(&runtime, &hello).await;

    let approval = runtime
        .start(
            "approval",
            r#"{"item":"desk","amount":300,"timeout_secs":600}"#,
            StartOptions::default(),
        )
        .await
        .unwrap();
    // Raised before the instance waits for it: it waits in the inbox.
    runtime
        .raise_event(&approval, "approval", r#"{"approved":true,"by":"dana"}"#)
        .await
        .unwrap();
    let record = runtime.wait(&approval, WAIT).await.unwrap();
    assert_eq!(completed_output(&record)["by"], "dana");

    for (key, amount) in [("a", 100), ("b", 100)] {
        runtime
            .call_actor("account", key, "deposit", &amount.to_string(), WAIT)
            .await
            .unwrap();
    }
    let transfers: Vec<String> = start_transfers(&runtime, 20).await;
    for id in &transfers {
        let record = runtime.wait(id, WAIT).await.unwrap();
        assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    }
    let a = actor_json(&runtime, "account", "a").await["balance"].as_i64();
    let b = actor_json(&runtime, "account", "b").await["balance"].as_i64();
    assert_eq!(
        (a, b),
        (Some(100 - 10 * 3 + 10 * 2), Some(100 + 10 * 3 - 10 * 2)),
        "ten transfers each way, each applied once"
    );
    worker.stop().await;
}

/// Starts `count` atomic transfers, alternating a→b of 3 and b→a of 2.
async fn start_transfers(runtime: &Runtime, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        let input = if n % 2 == 0 {
            r#"{"from":"a","to":"b","amount":3}"#
        } else {
            r#"{"from":"b","to":"a","amount":2}"#
        };
        ids.push(
            runtime
                .start("transfer_atomic", input, StartOptions::default())
                .await
                .unwrap(),
        );
    }
    ids
}

const CHAINS: usize = 6;
const STEPS: u64 = 30;
const PAUSE_MS: u64 = 25;
/// Events raised to the counter, and signals sent to the tally, in all.
const MESSAGES: i64 = 40;

/// `reprise worker --db postgres://…` killed with SIGKILL at several points
/// while events and actor signals keep arriving: every chain finishes with
/// the right sum and each step scheduled once, every event is taken in
/// once and in order, and every actor operation is applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_on_postgres_loses_nothing() {
    let db = TestDatabase::create().await;
    let client = client(&db).await;
    let ids = start_chains(&client, CHAINS, STEPS, PAUSE_MS).await;
    let counter = client
        .start(
            "counter",
            &format!(r#"{{"until":{MESSAGES},"check_order":true}}"#),
            StartOptions::default(),
        )
        .await
        .unwrap();
    let mut sent = 0;
    let send_next = async |sent: &mut i64| {
        if *sent < MESSAGES {
            *sent += 1;
            let n = sent.to_string();
            client.raise_event(&counter, "add", &n).await.unwrap();
            client
                .signal_actor("tally", "t", "add", &n, None)
                .await
                .unwrap();
        }
    };

    // Each worker is killed once it has made some progress (a new worker
    // first waits out its killed predecessor's lease); messages arrive all
    // the while, also while no worker runs.
    let mut done = 0;
    for round in 0..3 {
        let worker = WorkerProcess::spawn(db.url());
        let before = done;
        done = eventually(
            WAIT,
            format!(
                "worker {round} schedules {} steps (shown: steps)",
                before + 8
            ),
            async || {
                // Pacing the messages, not a condition: they arrive spread
                // over the wait, one per look.
                tokio::time::sleep(Duration::from_millis(40)).await;
                send_next(&mut sent).await;
                match steps_scheduled(&client, &ids).await.iter().sum::<usize>() {
                    steps if steps >= before + 8 => Ok(steps),
                    steps => Err(steps),
                }
            },
        )
        .await;
        worker.kill();
        assert!(
            !reprise_tests::all_finished(&client, &ids).await,
            "kill {round} must hit work in progress"
        );
        send_next(&mut sent).await;
    }
    while sent < MESSAGES {
        send_next(&mut sent).await;
    }
    let worker = WorkerProcess::spawn(db.url());
    let mut all = ids.clone();
    all.push(counter.clone());
    assert_all_completed(&client, &all).await;
    reprise_tests::settle(&client).await;
    worker.kill();

    assert_chains_exact(&client, &ids, STEPS).await;
    let total = MESSAGES * (MESSAGES + 1) / 2;
    let counted = completed_output(&client.status(&counter).await.unwrap());
    assert_eq!(
        (&counted["applied"], &counted["total"]),
        (&json!(MESSAGES), &json!(total)),
        "each event taken in once, in order"
    );
    let tally = actor_json(&client, "tally", "t").await;
    assert_eq!(
        (&tally["count"], &tally["sum"]),
        (&json!(MESSAGES), &json!(total)),
        "each actor operation applied once"
    );
}
