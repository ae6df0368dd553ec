//! When a guest fails, the user sees the guest's own message and where it
//! happened, not just "trapped".

use reprise::history::{Event, Failure};
use reprise::store::{InstanceRecord, Status};
use reprise_tests::Host;
use serde_json::Value;

/// The failure of a failed instance, and its details as JSON.
fn failure_of(record: &InstanceRecord) -> (Failure, Value) {
    assert_eq!(record.status, Status::Failed, "{:?}", record.output);
    let failure = record.failure().expect("a failed instance has a failure");
    let details = serde_json::from_str(failure.details.as_deref().unwrap_or("null")).unwrap();
    (failure, details)
}

/// The backtrace's frames, innermost first.
fn frames(details: &Value) -> Vec<String> {
    details["backtrace"]
        .as_array()
        .expect("a backtrace")
        .iter()
        .map(|frame| frame.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_orchestration_fails_with_the_panic_message_and_a_backtrace() {
    let host = Host::new().await;
    let record = host.run("panics", "null").await;
    let (failure, details) = failure_of(&record);
    assert!(
        failure
            .message
            .starts_with("panicked at tests/guests/misbehaving/src/lib.rs:")
            && failure.message.ends_with(": boom from the guest"),
        "{}",
        failure.message
    );
    let frames = frames(&details);
    assert!(
        frames.iter().any(|f| f == "misbehaving::explode"),
        "{frames:?}"
    );
    assert!(
        frames.iter().any(|f| f == "misbehaving::panics"),
        "{frames:?}"
    );
    assert!(
        details["stderr"]
            .as_str()
            .unwrap()
            .contains("boom from the guest"),
        "{details}"
    );
    // History ends with the same failure.
    let history = host.runtime.history(&record.id).await.unwrap();
    assert_eq!(
        history.last().map(|e| &e.event),
        Some(&Event::Failed { failure })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_overflow_is_named_with_the_function_that_recursed() {
    let host = Host::new().await;
    let record = host.run("overflows_stack", "100000000").await;
    let (failure, details) = failure_of(&record);
    assert!(
        failure
            .message
            .starts_with("stack overflow in misbehaving::recurse"),
        "{}",
        failure.message
    );
    let frames = frames(&details);
    assert!(
        frames
            .iter()
            .any(|f| f.starts_with("misbehaving::recurse (×")),
        "{frames:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_activity_fails_its_task_with_the_panic_message() {
    let host = Host::new().await;
    let record = host.run("calls_panicking_activity", "null").await;
    let (failure, details) = failure_of(&record);
    assert!(
        failure.message.starts_with("panicked at ")
            && failure.message.ends_with(": the activity gave up"),
        "{}",
        failure.message
    );
    assert!(
        frames(&details)
            .iter()
            .any(|f| f == "misbehaving::panicking_activity"),
        "{details}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn awaiting_any_of_no_tasks_fails_saying_so() {
    let host = Host::new().await;
    let record = host.run("awaits_nothing", "null").await;
    let (failure, _) = failure_of(&record);
    assert_eq!(failure.message, "await-any needs at least one task");
}
