//! Orchestrations see nothing real, and runaway guests are stopped.

use reprise::ReplayVerdict;
use reprise::store::Status;
use reprise_tests::{Host, tight_limits};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn an_orchestration_gets_no_files_env_network_or_real_clock() {
    let host = Host::new().await;
    let record = host.run("probe_sandbox", "null").await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    let probe: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert!(probe["file"]["Err"].is_string(), "read a file: {probe}");
    assert_eq!(probe["dir_listing"], false, "{probe}");
    assert_eq!(probe["env"], serde_json::json!([]), "{probe}");
    assert_eq!(probe["tcp"], false, "{probe}");
    // The WASI clock reads orchestration time: the recorded start.
    let history = host.runtime.history(&record.id).await.unwrap();
    assert_eq!(probe["clock_ms"], history[0].at, "{probe}");
    // Randomness is seeded from the instance: a replay sees the same values.
    let verdict = host.runtime.replay_check(&record.id, None).await.unwrap();
    assert_eq!(verdict, ReplayVerdict::Returned(Ok(record.output.unwrap())));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_looping_orchestration_is_stopped_by_the_cpu_deadline() {
    let host = Host::with(|b| b.limits(tight_limits())).await;
    let record = host.run("spin", "null").await;
    assert_eq!(record.status, Status::Failed);
    let output = record.output.unwrap();
    assert!(output.contains("CPU deadline"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_eating_orchestration_is_stopped_by_the_limit() {
    let host = Host::with(|b| b.limits(tight_limits())).await;
    let record = host.run("eat_memory", "null").await;
    assert_eq!(record.status, Status::Failed);
    let output = record.output.unwrap();
    assert!(output.contains("memory limit"), "{output}");
    // The host is unharmed: the next instance runs.
    let next = host.run("hello_sequence", r#"["still here"]"#).await;
    assert_eq!(next.status, Status::Completed);
}

#[tokio::test(flavor = "multi_thread")]
async fn activities_retry_with_backoff_and_time_out() {
    let host = Host::new().await;
    let record = host.run("retrying", "2").await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    assert_eq!(
        record.output.as_deref(),
        Some("3"),
        "third attempt succeeds"
    );

    let record = host.run("timing_out", "null").await;
    assert_eq!(record.status, Status::Failed);
    assert!(record.output.unwrap().contains("timed out"));

    let record = host.run("calls_unknown", "null").await;
    assert_eq!(record.status, Status::Failed);
    assert!(
        record
            .output
            .unwrap()
            .contains("no activity named \\\"no_such_activity\\\"")
    );
}
