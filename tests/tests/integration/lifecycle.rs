//! Suspend, resume, terminate, purge; eviction and cold replay.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use reprise::history::{Event, HistoryEvent};
use reprise::store::Status;
use reprise::{Error, RuntimeBuilder};
use reprise_tests::{Host, eventually};

const REQUEST: &str = r#"{"item":"desk","amount":300,"timeout_secs":3600}"#;

#[tokio::test(flavor = "multi_thread")]
async fn suspended_instances_keep_their_events_until_resumed() {
    let host = Host::new().await;
    let id = host.start("approval", REQUEST).await;
    host.wait_for_custom_status(&id, r#""waiting for manager""#)
        .await;
    host.runtime.suspend(&id).await.unwrap();
    assert_eq!(
        host.runtime.status(&id).await.unwrap().status,
        Status::Suspended
    );
    host.runtime
        .raise_event(&id, "approval", r#"{"approved":true,"by":"sam"}"#)
        .await
        .unwrap();
    // Not a condition: the test claims that nothing happens, and nothing
    // shows that the worker has declined the event, so it gives the worker
    // time in which a completion would have been committed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        host.runtime.status(&id).await.unwrap().status,
        Status::Suspended,
        "no progress while suspended"
    );
    host.runtime.resume(&id).await.unwrap();
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed);
    assert!(record.output.unwrap().contains(r#""by":"sam""#));
}

/// The same, with suspend, the event and resume sent through another store
/// handle (as another process would): the worker learns of each from the
/// change feed, and neither the event nor the resume is lost.
#[tokio::test(flavor = "multi_thread")]
async fn suspend_an_event_and_resume_from_another_process_reach_the_worker() {
    let host = Host::new().await;
    let other = reprise_tests::open(&host.db, |b| b).await;
    let id = host.start("approval", REQUEST).await;
    host.wait_for_custom_status(&id, r#""waiting for manager""#)
        .await;
    other.suspend(&id).await.unwrap();
    other
        .raise_event(&id, "approval", r#"{"approved":true,"by":"kim"}"#)
        .await
        .unwrap();
    let recorded = host.runtime.history(&id).await.unwrap().len();
    // Not a condition: the test claims that nothing happens, and nothing
    // shows when the worker has read the suspension and the event from the
    // change feed, so it gives the worker time in which a completion would
    // have been committed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let record = host.runtime.status(&id).await.unwrap();
    assert_eq!(
        record.status,
        Status::Suspended,
        "no progress while suspended"
    );
    assert_eq!(host.runtime.history(&id).await.unwrap().len(), recorded);
    other.resume(&id).await.unwrap();
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    assert!(record.output.unwrap().contains(r#""by":"kim""#));
}

#[tokio::test(flavor = "multi_thread")]
async fn terminate_then_purge() {
    let host = Host::new().await;
    let id = host.start("approval", REQUEST).await;
    host.wait_for_custom_status(&id, r#""waiting for manager""#)
        .await;
    let error = host.runtime.purge(&id).await.unwrap_err();
    assert!(
        matches!(&error, Error::Conflict(m)
            if *m == format!("instance {id} is running; only finished instances can be purged")),
        "running instances are not purged: {error:?}"
    );
    host.runtime
        .terminate(&id, "changed my mind")
        .await
        .unwrap();
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Terminated);
    assert_eq!(record.output.as_deref(), Some(r#""changed my mind""#));
    // A terminated instance takes no more events and does not move.
    let refused = host.runtime.raise_event(&id, "approval", "{}").await;
    assert!(
        matches!(&refused, Err(Error::Conflict(m))
            if *m == format!("instance {id} is terminated and takes no more events")),
        "{refused:?}"
    );
    host.runtime.purge(&id).await.unwrap();
    let gone = format!("no instance {id}");
    let status = host.runtime.status(&id).await;
    assert!(
        matches!(&status, Err(Error::NotFound(m)) if *m == gone),
        "{status:?}"
    );
    let history = host.runtime.history(&id).await;
    assert!(
        matches!(&history, Err(Error::NotFound(m)) if *m == gone),
        "{history:?}"
    );
}

/// Registers the `notify` activity the approval example calls, counting its runs.
fn counting_notify(builder: RuntimeBuilder, runs: Arc<AtomicU32>) -> RuntimeBuilder {
    builder.activity("notify", move |_| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok("null".to_owned())
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_evicted_instance_is_replayed_without_running_activities_again() {
    let notices = Arc::new(AtomicU32::new(0));
    let counted = notices.clone();
    let host =
        Host::with(move |b| counting_notify(b.evict_after(Duration::from_millis(100)), counted))
            .await;
    let id = host.start("approval", REQUEST).await;
    // Once it waits for the event with the first notify recorded, nothing
    // wakes it: it idles past the eviction time and is unloaded.
    host.wait_for_event_wait(&id, "approval").await;
    host.wait_until_nothing_is_hot().await;
    host.runtime
        .raise_event(&id, "approval", r#"{"approved":false,"by":"kim"}"#)
        .await
        .unwrap();
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    assert!(record.output.unwrap().contains(r#""approved":false"#));
    assert_eq!(
        notices.load(Ordering::SeqCst),
        2,
        "replay must not run the first notify again"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_arrives_while_waiting_for_something_else_survives_eviction() {
    // The activity's result is handed to the hot instance while it waits for
    // an event: it must reach the store before the instance is unloaded.
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    let host =
        Host::with(move |b| counting_notify(b.evict_after(Duration::from_millis(100)), counted))
            .await;
    let id = host.start("notify_then_wait", "null").await;
    // It idles past the eviction time and is unloaded, the result it holds
    // saved to its inbox.
    host.wait_until_nothing_is_hot().await;
    host.wait_for_activity_result_in_inbox(&id).await;
    host.runtime
        .raise_event(&id, "go", r#""now""#)
        .await
        .unwrap();
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    assert_eq!(record.output.as_deref(), Some(r#""now""#));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the activity ran once");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_activity_that_finishes_while_its_instance_is_suspended_is_not_lost() {
    let host = Host::new().await;
    let id = host.start("chain", r#"{"steps":3,"pause_ms":300}"#).await;
    let scheduled = |history: &[HistoryEvent]| {
        history
            .iter()
            .filter(|e| matches!(e.event, Event::ActivityScheduled { .. }))
            .count()
    };
    eventually(
        Duration::from_secs(10),
        format!("{id} schedules its first step"),
        async || scheduled(&host.runtime.history(&id).await.unwrap()) > 0,
    )
    .await;
    host.runtime.suspend(&id).await.unwrap();
    // The first step (300 ms) finishes meanwhile: its result is stored, and
    // nothing records it in history.
    host.wait_for_activity_result_in_inbox(&id).await;
    assert_eq!(
        host.runtime.status(&id).await.unwrap().status,
        Status::Suspended
    );
    assert_eq!(scheduled(&host.runtime.history(&id).await.unwrap()), 1);
    host.runtime.resume(&id).await.unwrap();
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    assert_eq!(record.output.as_deref(), Some("6"));
}

#[tokio::test(flavor = "multi_thread")]
async fn more_waiting_instances_than_instance_slots_all_finish() {
    // 4 instance slots (3 for hot orchestrations), 24 orchestrations that
    // each wait for an event: instances must be evicted to make room and
    // replayed later, without failing and without running a recorded
    // activity again.
    const INSTANCES: u32 = 24;
    let notices = Arc::new(AtomicU32::new(0));
    let counted = notices.clone();
    let host = Host::with(move |b| {
        let b = b
            .limits(reprise::Limits {
                instance_slots: 4,
                ..reprise::Limits::default()
            })
            .evict_for_room_after(Duration::from_millis(50));
        counting_notify(b, counted)
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..INSTANCES {
        ids.push(host.start("approval", REQUEST).await);
    }
    for id in &ids {
        host.wait_for_custom_status(id, r#""waiting for manager""#)
            .await;
    }
    for id in &ids {
        host.runtime
            .raise_event(id, "approval", r#"{"approved":true,"by":"ana"}"#)
            .await
            .unwrap();
    }
    for id in &ids {
        let record = host.wait(id).await;
        assert_eq!(record.status, Status::Completed, "{:?}", record.output);
        assert!(record.output.unwrap().contains(r#""by":"ana""#));
    }
    assert_eq!(
        notices.load(Ordering::SeqCst),
        2 * INSTANCES,
        "each notify runs once per instance, evicted or not"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_fires_at_the_time_its_history_records() {
    let host = Host::new().await;
    // The guest computes for a while first, so the timer's call is recorded
    // well after the start event.
    let id = host.start("long_timer", "30000000").await;
    let (at, delay_ms, fire_at) = eventually(
        Duration::from_secs(30),
        format!("{id} schedules its timer"),
        async || {
            let history = host.runtime.history(&id).await.unwrap();
            history.iter().find_map(|e| match e.event {
                Event::TimerScheduled { delay_ms, fire_at } => Some((e.at, delay_ms, fire_at)),
                _ => None,
            })
        },
    )
    .await;
    assert_eq!(fire_at, at + delay_ms);
    let sql = rusqlite::Connection::open(&host.db).unwrap();
    let scheduled: u64 = sql
        .query_row(
            "SELECT fire_at FROM timers WHERE instance_id = ?1",
            [&id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(scheduled, fire_at);
    let started = host.runtime.history(&id).await.unwrap()[0].at;
    assert!(
        at > started,
        "the call was recorded after the start ({at} vs {started})"
    );
}

/// Idle actor instances hold instance slots between batches; when the pool
/// is full they give them up, so an orchestration (and its activity) still
/// run with a single slot.
#[tokio::test(flavor = "multi_thread")]
async fn idle_actor_instances_give_their_slots_to_orchestrations() {
    let host = Host::with(|b| {
        b.limits(reprise::Limits {
            instance_slots: 1,
            ..reprise::Limits::default()
        })
        .evict_for_room_after(Duration::from_millis(50))
    })
    .await;
    let wait = Duration::from_secs(30);
    for amount in ["5", "7"] {
        host.runtime
            .call_actor("account", "a", "deposit", amount, wait)
            .await
            .unwrap();
    }
    let greeted = host.run("hello_sequence", r#"["Lima"]"#).await;
    assert_eq!(greeted.status, Status::Completed, "{:?}", greeted.output);
    let balance = host
        .runtime
        .call_actor("account", "a", "balance", "null", wait)
        .await
        .unwrap();
    assert_eq!(balance, "12");
}
