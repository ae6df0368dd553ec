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
    let other = reprise_tests::open(&host.db, |b| b).await;
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
    assert_eq!(host.runtime.status(&record.id).await.unwrap(), record);
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
    assert_eq!(
        host.runtime.replay_check(&old, None).await.unwrap(),
        ReplayVerdict::Returned(Ok(old_record.output.unwrap()))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_history_stored_as_json_by_an_earlier_version_replays_and_continues() {
    // Earlier versions stored history events as JSON text; this one writes a
    // binary encoding. An instance caught mid-flight by the upgrade must
    // replay its JSON rows to the same state and go on, appending binary rows.
    let mut host = Host::new().await;
    let id = host
        .start(
            "approval",
            r#"{"item":"desk","amount":300,"timeout_secs":3600}"#,
        )
        .await;
    // Not just the custom status, which is set before the manager is
    // notified: the notify activity must be in history before the worker
    // stops, or its result would be committed after the rows are rewritten.
    host.wait_for_event_wait(&id, "approval").await;
    host.stop_worker();
    let recorded = host.runtime.history(&id).await.unwrap();
    let db = rusqlite::Connection::open(&host.db).unwrap();
    for event in &recorded {
        let json = serde_json::to_string(&event.event).unwrap();
        let changed = db
            .execute(
                "UPDATE history SET event = ?1 WHERE instance_id = ?2 AND execution = 0 AND seq = ?3",
                rusqlite::params![json, id, event.seq],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    let stored_as: String = db
        .query_row(
            "SELECT typeof(event) FROM history WHERE instance_id = ?1 AND seq = 1",
            [&id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(stored_as, "text");

    // A new host on the same file: it reads the JSON rows back as the same
    // events, replays them and takes the approval.
    let upgraded = reprise_tests::open(&host.db, |b| b).await;
    assert_eq!(upgraded.history(&id).await.unwrap(), recorded);
    let _worker = upgraded.start_worker(16);
    upgraded
        .raise_event(&id, "approval", r#"{"approved":true,"by":"sam"}"#)
        .await
        .unwrap();
    let record = upgraded
        .wait(&id, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    let output = record.output.unwrap();
    assert!(output.contains(r#""by":"sam""#));
    assert_eq!(
        upgraded.history(&id).await.unwrap()[..recorded.len()],
        recorded[..],
        "the JSON-era events are unchanged"
    );
    assert_eq!(
        upgraded.replay_check(&id, None).await.unwrap(),
        ReplayVerdict::Returned(Ok(output))
    );
}
