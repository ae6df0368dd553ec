//! Read-only actor operations, declared in each SDK: answered at once from
//! the last committed state while writes wait in the mailbox, and refused
//! when they would write, however they arrive.

use std::sync::Arc;
use std::time::Duration;

use reprise::Error;
use reprise::store::{ActorId, ActorOperation, Op, ReplyTo, Status, Store};
use reprise_sqlite::SqliteStore;
use reprise_tests::{Host, actor_json, completed_output, js_guest, python_guest};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);
/// Writes queued behind the reads.
const QUEUED: usize = 10_000;

/// The actors under test, one per language, each with a read-only
/// operation, one that is declared read-only but writes, and a write.
const ACTORS: &[(&str, &str, &str, &str)] = &[
    // kind, read, writing "read", write (input 1)
    ("py_account", "peek", "sneak", "deposit"),
    ("js_account", "peek", "sneak", "deposit"),
    ("journal", "get", "scribble", "note"),
];

fn write_input(kind: &str) -> &'static str {
    if kind == "journal" { "\"w\"" } else { "1" }
}

/// Queues `count` writes to `kind/key` in one commit, as if they had all
/// just arrived.
async fn queue_writes(store: &dyn Store, kind: &str, key: &str, operation: &str, count: usize) {
    let write = Op::EnqueueActor {
        operation: ActorOperation {
            target: ActorId {
                kind: kind.into(),
                key: key.into(),
            },
            operation: operation.into(),
            input: write_input(kind).into(),
        },
        reply: ReplyTo::Nobody,
        visible_at: 0,
        capacity: None,
    };
    store.commit(vec![write; count]).await.unwrap().unwrap();
}

fn refusal(result: Result<String, Error>) -> String {
    match result {
        Err(Error::ActorFailed { failure, .. }) => failure.message,
        other => panic!("expected the read to be refused, got {other:?}"),
    }
}

/// In Python, JavaScript and Rust: with one write applied and 10,000 more
/// queued (no worker draining them; the mailbox at its default bound), a
/// read-only call answers at once from the committed state and leaves the
/// queue as it was; a "read" that
/// writes, or sends a signal, is refused with a line that says so and
/// changes nothing, called or signalled. Once a worker has applied the
/// queue, reads see every write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_answer_at_once_while_ten_thousand_writes_wait_and_a_read_that_writes_is_refused() {
    let mut host = Host::new().await;
    let runtime = host.runtime.clone();
    runtime.register(&python_guest("py_guest")).await.unwrap();
    runtime.register(&js_guest("js_guest")).await.unwrap();
    for &(kind, _, _, write) in ACTORS {
        runtime
            .call_actor(kind, "a", write, write_input(kind), WAIT)
            .await
            .unwrap();
    }
    host.stop_worker();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&host.db).unwrap());
    for &(kind, _, _, write) in ACTORS {
        queue_writes(&*store, kind, "a", write, QUEUED).await;
    }

    for &(kind, read, writing_read, _) in ACTORS {
        let before = actor_json(&runtime, kind, "a").await;
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            runtime.call_actor(kind, "a", read, "null", WAIT),
        )
        .await
        .unwrap_or_else(|_| panic!("{kind}: the read waited behind the queued writes"))
        .unwrap();
        assert_eq!(answer, "1", "{kind}: the committed state, one write in");

        let input = if kind == "journal" { "\"x\"" } else { "null" };
        let refused = refusal(
            runtime
                .call_actor(kind, "a", writing_read, input, WAIT)
                .await,
        );
        assert!(
            refused.contains(writing_read)
                && refused.contains(&format!("of actor {kind}/a changed the actor's state"))
                && refused.contains("a read-only operation may only read it"),
            "{kind}: {refused}"
        );
        assert_eq!(actor_json(&runtime, kind, "a").await, before, "{kind}");
        assert_eq!(
            runtime.actor_mailbox(kind, "a").await.unwrap(),
            QUEUED as u64,
            "{kind}: reads queue nothing and take nothing from the queue"
        );
    }
    let gossip = refusal(
        runtime
            .call_actor("journal", "a", "gossip", "\"g\"", WAIT)
            .await,
    );
    assert_eq!(
        gossip,
        "read-only operation \"gossip\" of actor journal/a sent a signal or started an orchestration; a read-only operation may have no effects"
    );

    let _worker = runtime.start_worker(8);
    host.settle().await;
    // Sent one-way, a writing "read" takes its turn in the mailbox and is
    // refused there just the same.
    runtime
        .signal_actor("journal", "a", "scribble", "\"s\"", None)
        .await
        .unwrap();
    host.settle().await;
    for &(kind, read, _, _) in ACTORS {
        let answer = runtime
            .call_actor(kind, "a", read, "null", WAIT)
            .await
            .unwrap();
        assert_eq!(
            answer,
            (QUEUED + 1).to_string(),
            "{kind}: every write, once"
        );
    }
    let notes = actor_json(&runtime, "journal", "a").await["notes"].clone();
    assert!(
        notes.as_array().unwrap().iter().all(|n| n == "w"),
        "only the writes were noted"
    );
}

/// An orchestration's read-only call is answered in the episode that makes
/// it, from the committed state, and recorded like any call: the instance
/// completes with what it read and replays to the same. A read that
/// writes fails the call, not the orchestration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestration_reads_an_actor_and_is_refused_a_read_that_writes() {
    let host = Host::new().await;
    for note in ["one", "two"] {
        host.runtime
            .call_actor("journal", "o", "note", &json!(note).to_string(), WAIT)
            .await
            .unwrap();
    }
    let done = host.run("journal_reads", "\"o\"").await;
    assert_eq!(done.status, Status::Completed, "{:?}", done.output);
    assert_eq!(
        completed_output(&done),
        json!([
            2,
            "read-only operation \"scribble\" of actor journal/o changed the actor's state; a read-only operation may only read it"
        ])
    );
    assert_eq!(
        actor_json(&host.runtime, "journal", "o").await,
        json!({"notes": ["one", "two"]})
    );
    reprise_tests::assert_replays_identically(&host.runtime, &done.id).await;
}
