//! Replay reproduces results; changed code is caught, and the error says where.

use reprise::ReplayVerdict;
use reprise::store::Status;
use reprise_tests::{Host, guest};

#[tokio::test(flavor = "multi_thread")]
async fn replaying_a_finished_history_reproduces_its_output() {
    let host = Host::new().await;
    let record = host.run("hello_sequence", r#"["a","b","c"]"#).await;
    assert_eq!(record.status, Status::Completed);
    let verdict = host.runtime.replay_check(&record.id, None).await.unwrap();
    assert_eq!(
        verdict,
        ReplayVerdict::Returned(Ok(record.output.clone().unwrap()))
    );
    // Same verdict from a second host on the same file: nothing was cached.
    drop(host.runtime.clone());
    let other = reprise_tests::open(&host.db, |b| b);
    let again = other.replay_check(&record.id, None).await.unwrap();
    assert_eq!(again, verdict);
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_code_is_reported_as_nondeterminism_naming_instance_and_position() {
    let host = Host::new().await;
    let record = host.run("hello_sequence", r#"["a","b","c"]"#).await;
    let error = host
        .runtime
        .replay_check(&record.id, Some(&guest("hello_v2")))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains(&record.id), "{text}");
    assert!(text.contains("position 1"), "{text}");
    assert!(
        text.contains("history holds activity \"say_hello\""),
        "{text}"
    );
    assert!(
        text.contains("the code asked for activity \"say_hello\""),
        "{text}"
    );
    // The check wrote nothing.
    assert_eq!(host.runtime.status(&record.id).unwrap(), record);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_instances_take_the_newest_code_and_old_ones_stay_pinned() {
    let host = Host::new().await;
    // Register v2 under the same name: new instances take it, old ones keep v1.
    let old = host.start("hello_sequence", r#"["a","b"]"#).await;
    let old_record = host.wait(&old).await;
    let v2 = host.runtime.register(&guest("hello_v2")).await.unwrap();
    let new = host.run("hello_sequence", r#"["a","b"]"#).await;
    assert_eq!(new.digest, v2.digest);
    assert_ne!(old_record.digest, v2.digest);
    assert_eq!(new.output.as_deref(), Some(r#"["Hello, b!","Hello, a!"]"#));
    // The old instance still replays cleanly on its own pinned code.
    assert!(host.runtime.replay_check(&old, None).await.is_ok());
}
