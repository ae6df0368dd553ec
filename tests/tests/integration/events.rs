//! External events: buffered until awaited, consumed in order, carried across
//! continue-as-new, and never silently dropped.

use reprise::Error;
use reprise::store::Status;
use reprise_tests::Host;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_events_to_an_eternal_orchestration_are_all_processed_in_order() {
    let host = Host::new().await;
    let id = host
        .start("counter", r#"{"until":1000,"check_order":true}"#)
        .await;
    // Raised as fast as they commit, while the orchestration continues as new
    // after each one: many arrive between two executions.
    for value in 1..=1000 {
        host.runtime
            .raise_event(&id, "add", &value.to_string())
            .await
            .unwrap();
    }
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    let state: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert_eq!(state["applied"], 1000);
    assert_eq!(state["total"], 500_500);
    assert_eq!(record.execution, 999);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_sent_before_the_wait_are_buffered() {
    let mut host = Host::new().await;
    host.stop_worker();
    let id = host.start("counter", r#"{"until":2}"#).await;
    host.runtime.raise_event(&id, "add", "40").await.unwrap();
    host.runtime.raise_event(&id, "add", "2").await.unwrap();
    // A second host process picks up the instance and its inbox.
    let worker = reprise_tests::open(&host.db, |b| b).await;
    let _handle = worker.start_worker(4);
    let record = worker
        .wait(&id, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let state: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert_eq!(state["total"], 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_for_an_unknown_or_finished_instance_is_an_error_to_the_sender() {
    let host = Host::new().await;
    let error = host
        .runtime
        .raise_event("nobody", "add", "1")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    assert_eq!(error.to_string(), "no instance nobody");

    let done = host.run("hello_sequence", r#"["x"]"#).await;
    let error = host
        .runtime
        .raise_event(&done.id, "add", "1")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Conflict(m)
            if *m == format!("instance {} is completed and takes no more events", done.id)),
        "{error:?}"
    );
}
