//! Awaiting a task twice returns the same outcome, for every kind of task,
//! also after the instance was evicted and replayed in between.

use std::time::Duration;

use reprise::ReplayVerdict;
use reprise::store::Status;
use reprise_tests::Host;
use serde_json::{Value, json};

/// Races a task of `kind`, lets the instance be evicted, awaits the winner
/// again, and returns both results.
async fn race_and_await_again(kind: &str, before: impl AsyncFnOnce(&Host, &str)) -> Value {
    let host = Host::with(|b| b.evict_after(Duration::from_millis(100))).await;
    let id = host
        .start("await_winner_again", &json!(kind).to_string())
        .await;
    before(&host, &id).await;
    host.wait_for_custom_status(&id, "\"raced\"").await;
    // Idle past `evict_after`, it is unloaded: the second await runs after
    // a replay.
    host.wait_until_nothing_is_hot().await;
    host.runtime
        .raise_event(&id, "continue", "null")
        .await
        .unwrap();
    let record = host.wait(&id).await;
    assert_eq!(
        record.status,
        Status::Completed,
        "{kind}: {:?}",
        record.output
    );
    let verdict = host.runtime.replay_check(&id, None).await.unwrap();
    assert!(
        matches!(verdict, ReplayVerdict::Returned(Ok(_))),
        "{verdict:?}"
    );
    serde_json::from_str(record.output.as_deref().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_activity_that_won_a_race_gives_its_result_again() {
    let both = race_and_await_again("activity", async |_, _| {}).await;
    assert_eq!(both, json!([7, 7]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_that_won_a_race_completes_again() {
    let both = race_and_await_again("timer", async |_, _| {}).await;
    assert_eq!(both, json!([null, null]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_that_won_a_race_is_the_same_event_again_not_the_next() {
    let both = race_and_await_again("event", async |host, id| {
        host.runtime.raise_event(id, "ping", "1").await.unwrap();
        host.runtime.raise_event(id, "ping", "2").await.unwrap();
    })
    .await;
    assert_eq!(both, json!([1, 1]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_actor_call_that_won_a_race_gives_its_reply_again_and_ran_once() {
    let both = race_and_await_again("actor", async |_, _| {}).await;
    let reply = json!({"count": 1, "sum": 5});
    assert_eq!(both, json!([reply, reply]));
}
