//! Requests that apply once: a start, a signal, a call and an event sent
//! again with their idempotency keys, across a SIGKILL of the server that
//! ran them, each take effect once and answer what they first answered.

use std::time::Duration;

use reprise::store::{InstanceQuery, Status};
use reprise_tests::http::{Http, ServerProcess};
use reprise_tests::{actor_json, eventually, open, registered_client, reprise};
use serde_json::{Value, json};

/// The four requests, each with its key; what each answered.
fn send_all(http: &Http) -> (String, Value) {
    let key = |k: &'static str| [("Idempotency-Key", k)];
    let start = http.post_with(
        "/api/instances",
        &key("start-1"),
        &json!({"orchestration": "logs_around_a_wait"}).to_string(),
    );
    assert_eq!(start.status, 202, "{}", start.text());
    let signal = http.post_with("/api/actors/tally/t/signal/add", &key("signal-1"), "5");
    assert_eq!(signal.status, 202, "{}", signal.text());
    let call = http.post_with("/api/actors/tally/t/call/add", &key("call-1"), "7");
    assert_eq!(call.status, 200, "{}", call.text());
    (start.json()["id"].as_str().unwrap().to_owned(), call.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_repeated_with_their_keys_across_a_sigkill_take_effect_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let client = registered_client(&db).await;

    let server = ServerProcess::spawn(&db, &[]);
    let (id, answered) = send_all(&server.client());
    assert_eq!(answered, json!({"output": {"count": 2, "sum": 12}}));
    drop(server); // SIGKILL

    let server = ServerProcess::spawn(&db, &[]);
    let http = server.client();
    assert_eq!(
        send_all(&http),
        (id.clone(), answered.clone()),
        "the first answers"
    );
    let event = |k| {
        http.post_with(
            &format!("/api/instances/{id}/events/go"),
            &[("Idempotency-Key", k)],
            "1",
        )
    };
    assert_eq!(event("event-1").status, 202);
    eventually(
        Duration::from_secs(60),
        "the instance completes",
        async || client.status(&id).await.unwrap().status == Status::Completed,
    )
    .await;
    // Finished, it would refuse a new event: the repeat is answered, not sent.
    assert_eq!(event("event-1").status, 202);
    let another = event("event-2");
    assert_eq!(
        another.status, 409,
        "a new event to a finished instance is refused"
    );

    // A key sent again with another request is refused, and changes nothing.
    let reused = http.post_with(
        "/api/actors/tally/t/signal/add",
        &[("Idempotency-Key", "signal-1")],
        "6",
    );
    assert_eq!(reused.status, 409, "{}", reused.text());
    assert_eq!(reused.error_code(), "idempotency_key_reused");
    let bad = http.post_with(
        "/api/actors/tally/t/signal/add",
        &[("Idempotency-Key", "a b")],
        "1",
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    drop(server);

    // The CLI takes the same keys.
    let repeat = reprise(
        &db,
        &[
            "actor",
            "call",
            "tally",
            "t",
            "add",
            "7",
            "--idempotency-key",
            "call-1",
        ],
    );
    assert!(
        repeat.status.success(),
        "{}",
        String::from_utf8_lossy(&repeat.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&repeat.stdout).unwrap(),
        json!({"count": 2, "sum": 12})
    );
    let reused = reprise(
        &db,
        &[
            "actor",
            "signal",
            "tally",
            "t",
            "add",
            "6",
            "--idempotency-key",
            "signal-1",
        ],
    );
    assert!(!reused.status.success());
    let stderr = String::from_utf8_lossy(&reused.stderr);
    assert_eq!(
        stderr.trim(),
        "error: idempotency key \"signal-1\" was used for a different request"
    );

    let client = open(&db, |b| b).await;
    assert_eq!(
        actor_json(&client, "tally", "t").await,
        json!({"count": 2, "sum": 12}),
        "each once"
    );
    let started = client
        .list(&InstanceQuery::status(None, 100))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.name == "logs_around_a_wait")
        .count();
    assert_eq!(started, 1);
}
