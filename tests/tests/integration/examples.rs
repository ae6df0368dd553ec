//! Each example runs to its expected result.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use reprise::history::Event;
use reprise::store::Status;
use reprise_tests::Host;
use serde_json::{Value, json};

fn output(record: &reprise::store::InstanceRecord) -> Value {
    assert_eq!(
        record.status,
        Status::Completed,
        "instance {} ended {:?}: {:?}",
        record.id,
        record.status,
        record.output
    );
    serde_json::from_str(record.output.as_deref().unwrap_or("null")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn hello_sequence_greets_in_order_and_records_each_call_once() {
    let host = Host::new().await;
    let record = host
        .run("hello_sequence", r#"["Tokyo","Seattle","London"]"#)
        .await;
    assert_eq!(
        output(&record),
        json!(["Hello, Tokyo!", "Hello, Seattle!", "Hello, London!"])
    );

    let history = host.runtime.history(&record.id).await.unwrap();
    let scheduled: Vec<_> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::ActivityScheduled { input, .. } => Some(input.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(scheduled, [r#""Tokyo""#, r#""Seattle""#, r#""London""#]);
    assert!(matches!(
        history.last().unwrap().event,
        Event::Completed { .. }
    ));
    let seqs: Vec<u32> = history.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (0..history.len() as u32).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn fan_out_aggregates_every_activity_across_sub_orchestrations() {
    let host = Host::new().await;
    let record = host.run("fan_out", r#"{"items":100,"batches":4}"#).await;
    assert_eq!(
        output(&record),
        json!({"items": 100, "sum_of_squares": 338_350})
    );
    let children: Vec<_> = host
        .runtime
        .list(&reprise::store::InstanceQuery::status(None, 100))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.parent
                .as_ref()
                .is_some_and(|p| p.instance_id == record.id)
        })
        .collect();
    assert_eq!(children.len(), 4);
    assert!(
        children
            .iter()
            .all(|c| c.status == Status::Completed && c.name == "square_batch")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approval_takes_the_event_when_it_beats_the_timer() {
    let notices = Arc::new(AtomicU32::new(0));
    let counted = notices.clone();
    let host = Host::with(move |b| {
        b.activity("notify", move |_| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok("null".to_owned())
            }
        })
    })
    .await;
    let id = host
        .start(
            "approval",
            r#"{"item":"laptop","amount":1800,"timeout_secs":3600}"#,
        )
        .await;
    host.wait_for_custom_status(&id, r#""waiting for manager""#)
        .await;
    host.runtime
        .raise_event(&id, "approval", r#"{"approved":true,"by":"dana"}"#)
        .await
        .unwrap();
    let record = host.wait(&id).await;
    assert_eq!(
        output(&record),
        json!({"approved": true, "by": "dana", "escalated": false})
    );
    assert_eq!(record.custom_status.as_deref(), Some(r#""approved""#));
    assert_eq!(notices.load(Ordering::SeqCst), 2, "one request, one answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn approval_escalates_then_rejects_when_nobody_answers() {
    let host = Host::new().await;
    let record = host
        .run(
            "approval",
            r#"{"item":"laptop","amount":1800,"timeout_secs":1}"#,
        )
        .await;
    assert_eq!(
        output(&record),
        json!({"approved": false, "by": "deadline", "escalated": true})
    );
    let history = host.runtime.history(&record.id).await.unwrap();
    let timers_won = history
        .iter()
        .filter(|e| matches!(e.event, Event::AnyAwaited { winner: 1, .. }))
        .count();
    assert_eq!(timers_won, 2);
    // The durable timer really waited.
    let elapsed = history.last().unwrap().at - history[0].at;
    assert!(elapsed >= 2_000, "two one-second timers took {elapsed} ms");
}

#[tokio::test(flavor = "multi_thread")]
async fn counter_continues_as_new_and_keeps_its_state() {
    let host = Host::new().await;
    let id = host.start("counter", r#"{"until":3}"#).await;
    for value in [5, 6, 7] {
        host.runtime
            .raise_event(&id, "add", &value.to_string())
            .await
            .unwrap();
    }
    let record = host.wait(&id).await;
    let state = output(&record);
    assert_eq!(state["applied"], 3);
    assert_eq!(state["total"], 18);
    assert_eq!(record.execution, 2, "two continue-as-new, three executions");
    let history = host.runtime.history(&id).await.unwrap();
    assert!(
        history.len() < 10,
        "history starts fresh each execution: {history:?}"
    );
}
