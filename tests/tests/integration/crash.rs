//! Kill -9 at any moment, restart: every instance finishes with the same
//! result and no history entry is duplicated; no event or activity result is
//! lost.

use std::time::Duration;

use reprise::StartOptions;
use reprise::history::Event;
use reprise_tests::{
    PolyglotBank, WorkerProcess, all_finished, assert_all_completed, eventually, registered_client,
    settle, start_chains,
};
use serde_json::Value;

const CHAINS: usize = 10;
const WAIT: Duration = Duration::from_secs(60);
const STEPS: u64 = 40;
/// Each step takes this long, so a chain needs over a second of worker time:
/// more than the first kills allow.
const PAUSE_MS: u64 = 25;
/// Eleven for each of the six kills below.
const EVENTS: i64 = 66;
/// Activities of each scatter instance; the first takes SCATTER * 20 ms.
const SCATTER: u64 = 30;

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_at_many_points_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let client = registered_client(&db).await;
    let ids = start_chains(&client, CHAINS, STEPS, PAUSE_MS).await;
    let counter = client
        .start(
            "counter",
            &format!(r#"{{"until":{EVENTS},"check_order":true}}"#),
            StartOptions {
                instance_id: Some("counter".into()),
                ..StartOptions::default()
            },
        )
        .await
        .unwrap();

    // Their results arrive out of order and wait in the inbox for their turn.
    let mut scatters = Vec::new();
    for n in 0..3 {
        let options = StartOptions {
            instance_id: Some(format!("scatter-{n}")),
            ..StartOptions::default()
        };
        scatters.push(
            client
                .start("scatter", &SCATTER.to_string(), options)
                .await
                .unwrap(),
        );
    }

    // Its one-second timers fall due while workers are being killed.
    let approval = client
        .start(
            "approval",
            r#"{"item":"chair","amount":90,"timeout_secs":1}"#,
            StartOptions {
                instance_id: Some("approval".into()),
                ..StartOptions::default()
            },
        )
        .await
        .unwrap();

    // Kill the worker at different points of its work, sending events all
    // the while, including while no worker runs.
    let mut next_event = 1;
    let mut raise_next = async || {
        if next_event <= EVENTS {
            client
                .raise_event(&counter, "add", &next_event.to_string())
                .await
                .unwrap();
            next_event += 1;
        }
    };
    for (round, delay_ms) in [120u64, 260, 90, 400, 180, 330].into_iter().enumerate() {
        let mut worker = WorkerProcess::spawn(&db);
        // From when it works: its predecessor's lease must run out first.
        worker.wait_until_running().await;
        for _ in 0..10 {
            // Pacing, not a condition: the kill point is a time into the
            // worker's work, and the events arrive spread over it.
            tokio::time::sleep(Duration::from_millis(delay_ms / 10)).await;
            raise_next().await;
        }
        worker.kill();
        raise_next().await;
        if round < 3 {
            assert!(
                !all_finished(&client, &ids).await,
                "kill {round} must hit work in progress"
            );
        }
    }
    // Whatever is left.
    for _ in 0..EVENTS {
        raise_next().await;
    }

    let worker = WorkerProcess::spawn(&db);
    let mut all = ids.clone();
    all.push(counter.clone());
    all.push(approval.clone());
    all.extend(scatters.iter().cloned());
    assert_all_completed(&client, &all).await;
    worker.kill();

    let expected_sum = STEPS * (STEPS + 1) / 2;
    for id in &ids {
        let record = client.status(id).await.unwrap();
        assert_eq!(record.output, Some(expected_sum.to_string()), "{id}");
        let history = client.history(id).await.unwrap();
        let seqs: Vec<u32> = history.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (0..history.len() as u32).collect::<Vec<_>>(),
            "{id}: gapless positions"
        );
        let scheduled: Vec<String> = history
            .iter()
            .filter_map(|e| match &e.event {
                Event::ActivityScheduled { input, .. } => Some(input.clone()),
                _ => None,
            })
            .collect();
        let want: Vec<String> = (1..=STEPS).map(|s| format!("[{s},{PAUSE_MS}]")).collect();
        assert_eq!(
            scheduled, want,
            "{id}: each step scheduled exactly once, in order"
        );
        let awaited = history
            .iter()
            .filter(|e| matches!(e.event, Event::TaskAwaited { .. }))
            .count();
        assert_eq!(awaited as u64, STEPS, "{id}");
    }
    for id in &scatters {
        let record = client.status(id).await.unwrap();
        let sum = SCATTER * (SCATTER + 1) / 2;
        assert_eq!(record.output, Some(sum.to_string()), "{id}");
        let history = client.history(id).await.unwrap();
        let count =
            |matches: fn(&Event) -> bool| history.iter().filter(|e| matches(&e.event)).count();
        assert_eq!(
            count(|e| matches!(e, Event::ActivityScheduled { .. })) as u64,
            SCATTER,
            "{id}: each activity scheduled once"
        );
        assert_eq!(
            count(|e| matches!(e, Event::TaskAwaited { .. })) as u64,
            SCATTER,
            "{id}: each result recorded once"
        );
    }
    let state: Value =
        serde_json::from_str(&client.status(&counter).await.unwrap().output.unwrap()).unwrap();
    assert_eq!(state["applied"], EVENTS);
    assert_eq!(state["total"], EVENTS * (EVENTS + 1) / 2);
    // Durable timers fired after the restarts: both deadlines passed.
    let outcome: Value =
        serde_json::from_str(&client.status(&approval).await.unwrap().output.unwrap()).unwrap();
    assert_eq!(
        outcome,
        serde_json::json!({"approved": false, "by": "deadline", "escalated": true})
    );
}

/// The same promises with three languages in the mix: Rust orchestrations
/// move money atomically between Python account actors, and orders run a
/// Rust orchestration through JavaScript activities and a Python
/// sub-orchestration, while workers are killed.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_with_python_actors_and_javascript_activities_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("polyglot.db");
    let client = registered_client(&db).await;
    let bank = PolyglotBank::start(&client).await;
    let all = bank.ids();

    // The first kill comes as the first instance finishes, so that it
    // hits work in progress however fast the worker is.
    let worker = WorkerProcess::spawn(&db);
    eventually(WAIT, "an instance finishes", async || {
        for id in &all {
            if client.status(id).await.unwrap().status.is_final() {
                return true;
            }
        }
        false
    })
    .await;
    worker.kill();
    assert!(
        !all_finished(&client, &all).await,
        "the first kill must hit work in progress"
    );
    for delay_ms in [700, 300, 600] {
        let mut worker = WorkerProcess::spawn(&db);
        // From when it works: its predecessor's lease must run out first.
        worker.wait_until_running().await;
        // Not a condition: the kill point is a time into the worker's work.
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        worker.kill();
    }
    let worker = WorkerProcess::spawn(&db);
    assert_all_completed(&client, &all).await;
    // Actor-to-actor deposits may still be queued after the last
    // orchestration ends.
    settle(&client).await;
    worker.kill();
    bank.audit(&client).await;
}
