//! Durable timers on the runtime's clock: with a test clock, a test moves
//! time forward and a day-long deadline passes at once (time skipping).

use std::sync::Arc;
use std::time::Duration;

use reprise::clock::TestClock;
use reprise::history::Event;
use reprise::store::Status;
use reprise_tests::{Host, eventually};
use serde_json::{Value, json};

const DAY_MS: u64 = 86_400_000;

/// Waits (up to ten seconds) until the instance has scheduled `count` timers.
async fn wait_for_timers(host: &Host, id: &str, count: usize) {
    eventually(
        Duration::from_secs(10),
        format!("instance {id} schedules {count} timers (the number scheduled is shown)"),
        async || {
            let history = host.runtime.history(id).await.unwrap();
            let timers = history
                .iter()
                .filter(|e| matches!(e.event, Event::TimerScheduled { .. }))
                .count();
            if timers >= count { Ok(()) } else { Err(timers) }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_long_deadline_passes_when_the_test_clock_moves_a_day() {
    let clock = Arc::new(TestClock::starting_now());
    let host = Host::with({
        let clock = clock.clone();
        |builder| builder.clock(clock)
    })
    .await;
    let id = host
        .start(
            "approval",
            &json!({"item": "boat", "amount": 9000, "timeout_secs": 86_400}).to_string(),
        )
        .await;
    wait_for_timers(&host, &id, 1).await;
    // The wall clock alone would take a day: nothing happens meanwhile. Not
    // a condition: the test claims that nothing happens, and a timer the
    // timer loop has looked at and left for later shows no trace, so it
    // gives the loop time in which a wrongly fired timer would show.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let record = host.runtime.status(&id).await.unwrap();
    assert_eq!(
        record.custom_status.as_deref(),
        Some("\"waiting for manager\"")
    );

    clock.advance(DAY_MS);
    // The director's deadline is set a day from when it is scheduled:
    // move the clock only once it is.
    wait_for_timers(&host, &id, 2).await;
    let record = host.runtime.status(&id).await.unwrap();
    assert_eq!(
        record.custom_status.as_deref(),
        Some("\"waiting for director\"")
    );
    clock.advance(DAY_MS);
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    let outcome: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        outcome,
        json!({"approved": false, "by": "deadline", "escalated": true})
    );
    // History records the clock's times: the timers were due a day apart.
    let history = host.runtime.history(&id).await.unwrap();
    let span = history.last().unwrap().at - history.first().unwrap().at;
    assert!(span >= 2 * DAY_MS, "{span} ms between start and end");
    // So do the rows: the instance was last changed when it finished, by
    // the test clock, not by the store's wall clock.
    let finished = history.last().unwrap().at;
    assert_eq!(record.updated_at, finished);
    assert!(record.updated_at - record.created_at >= 2 * DAY_MS);
}
