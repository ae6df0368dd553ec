//! When a guest fails, the user sees the guest's own message and where it
//! happened, not just "trapped".

use reprise::history::Event;
use reprise_tests::{Host, failure_of};
use serde_json::Value;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_non_finite_number_in_an_output_is_refused_saying_where_it_is() {
    let host = Host::new().await;
    let record = host.run("returns_nan", "null").await;
    let (failure, _) = failure_of(&record);
    assert_eq!(
        failure.message,
        "the orchestration's output is not JSON: NaN at .rates[1] (JSON has no NaN or infinity)"
    );
}

/// WASI 0.2's `exit` carries success or failure, not a number: a Rust
/// guest's `std::process::exit(3)` reaches the host as a failing exit, and
/// the failure says so rather than "trapped".
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_that_exits_says_so_with_what_wasi_carries_of_its_status() {
    let host = Host::new().await;
    let (failed, details) = failure_of(&host.run("exits", "3").await);
    assert_eq!(
        failed.message,
        "the guest called exit with a failure status before it returned a result (WASI 0.2 carries no number: any status but 0 arrives as 1)"
    );
    assert_eq!(
        details["trap"], "Exited with i32 exit status 1",
        "{details}"
    );
    let (succeeded, _) = failure_of(&host.run("exits", "0").await);
    assert_eq!(
        succeeded.message,
        "the guest called exit with status 0 before it returned a result"
    );
}
