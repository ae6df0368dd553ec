//! Actors under load: one arrival order for every kind of operation,
//! bounded mailboxes that refuse instead of growing, and a hot actor whose
//! worker's memory stays flat while it drains a deep mailbox.

use std::sync::Arc;
use std::time::Duration;

use reprise::Error;
use reprise::store::{ActorId, ActorOperation, Op, ReplyTo, Status, Store};
use reprise_sqlite::SqliteStore;
use reprise_tests::{
    COMPONENTS, Host, WorkerProcess, actor_json, all_finished, eventually, guest, open,
    registered_client, settle,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// A journal's notes.
async fn notes(host: &Host, key: &str) -> Vec<String> {
    let state = actor_json(&host.runtime, "journal", key).await;
    serde_json::from_value(state["notes"].clone()).unwrap()
}

/// An orchestration queues a signal and then an atomic request in one
/// commit, forty times, while a client floods the same actor with
/// signals: the actor applies the orchestration's operations in the order
/// they arrived (each signal before the atomic request queued after it),
/// the client's in its order, each once, and the flood neither starves the
/// atomic requests nor is starved by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_actor_applies_signals_and_atomic_requests_in_arrival_order() {
    let host = Host::new().await;
    let rounds = 40;
    let id = host
        .start("journal_rounds", &json!(["ja", "jb", rounds]).to_string())
        .await;
    for i in 0..300 {
        let note = json!(format!("f{i}")).to_string();
        host.runtime
            .signal_actor("journal", "ja", "note", &note, None)
            .await
            .unwrap();
    }
    let done = host.wait(&id).await;
    assert_eq!(done.status, Status::Completed, "{:?}", done.output);
    host.settle().await;

    let of = |notes: &[String], prefixes: &[char]| -> Vec<String> {
        notes
            .iter()
            .filter(|n| prefixes.iter().any(|p| n.starts_with(*p)))
            .cloned()
            .collect()
    };
    let ja = notes(&host, "ja").await;
    let rounds_in_order: Vec<String> = (0..rounds)
        .flat_map(|i| [format!("s{i}"), format!("t{i}")])
        .collect();
    assert_eq!(of(&ja, &['s', 't']), rounds_in_order);
    let flood: Vec<String> = (0..300).map(|i| format!("f{i}")).collect();
    assert_eq!(of(&ja, &['f']), flood);
    assert_eq!(ja.len(), 2 * rounds + 300, "each once");
    let jb_expected: Vec<String> = (0..rounds).map(|i| format!("t{i}")).collect();
    assert_eq!(notes(&host, "jb").await, jb_expected);
}

/// The client's side of a bound: with no worker draining it, a mailbox
/// bounded at 100 takes 100 signals; the next signal and a call are refused
/// at once, saying which actor is full and its bound, and change nothing.
/// A worker then applies the 100, each once, and there is room again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_refuses_a_client_at_once_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    let runtime = open(&db, |b| b.mailbox_capacity_for("tally", 100)).await;
    for component in COMPONENTS {
        runtime.register(&guest(component)).await.unwrap();
    }
    for _ in 0..100 {
        runtime
            .signal_actor("tally", "hot", "add", "1", None)
            .await
            .unwrap();
    }
    let refused = runtime
        .signal_actor("tally", "hot", "add", "1", None)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::MailboxFull { actor, capacity: 100 } if actor.to_string() == "tally/hot"),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "the mailbox of actor tally/hot is full: it holds 100 operations, its bound; try again later"
    );
    let call = runtime.call_actor("tally", "hot", "get", "null", WAIT);
    let refused = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("refused at once, not after the call's timeout")
        .unwrap_err();
    assert!(matches!(refused, Error::MailboxFull { .. }), "{refused:?}");
    assert_eq!(runtime.actor_mailbox("tally", "hot").await.unwrap(), 100);
    // Another kind has the default bound.
    runtime
        .signal_actor("journal", "j", "note", "\"x\"", None)
        .await
        .unwrap();

    let _worker = runtime.start_worker(8);
    settle(&runtime).await;
    assert_eq!(
        actor_json(&runtime, "tally", "hot").await,
        json!({"count": 100, "sum": 100})
    );
    runtime
        .signal_actor("tally", "hot", "add", "1", None)
        .await
        .unwrap();
}

/// The guests' side of a bound (100 for tallies). An actor operation that
/// sends more than the mailbox can take fails, saying so, and changes
/// nothing, not even its own state; one that fits goes through; an
/// operation that floods its own mailbox with a hundred thousand signals
/// fails the same way. An orchestration whose sends meet a full mailbox
/// waits for room (the mailbox never holds more than its bound meanwhile)
/// and ends having sent everything; one that sends more in one episode
/// than the mailbox could ever hold is refused, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guests_that_flood_a_bounded_mailbox_fail_or_wait_and_nothing_is_lost() {
    let host = Host::with(|b| b.mailbox_capacity_for("tally", 100)).await;
    let flood = |to: &str, count: u64| json!({"to": to, "count": count}).to_string();
    let call = |key: &'static str, input: String| {
        let runtime = host.runtime.clone();
        async move {
            runtime
                .call_actor("tally", key, "flood", &input, WAIT)
                .await
        }
    };
    let Error::ActorFailed { failure, .. } = call("flooder", flood("sink", 150)).await.unwrap_err()
    else {
        panic!("the flood should fail")
    };
    assert_eq!(
        failure.message,
        "cannot send to actor tally/sink: its mailbox is full (it holds 100 operations, its bound); nothing of this operation was applied"
    );
    call("flooder", flood("sink", 60)).await.unwrap();
    let Error::ActorFailed { failure, .. } = call("selfish", flood("selfish", 100_000))
        .await
        .unwrap_err()
    else {
        panic!("the self-flood should fail")
    };
    assert!(
        failure.message.contains("tally/selfish"),
        "{}",
        failure.message
    );
    host.settle().await;
    assert_eq!(
        actor_json(&host.runtime, "tally", "flooder").await["sum"],
        60
    );
    assert_eq!(
        actor_json(&host.runtime, "tally", "sink").await,
        json!({"count": 60, "sum": 60})
    );
    assert!(host.runtime.actor_state("tally", "selfish").await.is_err());

    // Two orchestrations send 300 each, 60 an episode, to one mailbox.
    let senders = [
        host.start("flood_tally", &json!(["drain", 300, 60]).to_string())
            .await,
        host.start("flood_tally", &json!(["drain", 300, 60]).to_string())
            .await,
    ];
    let (runtime, ids) = (host.runtime.clone(), senders.clone());
    let deepest = tokio::spawn(async move {
        let mut deepest = 0;
        loop {
            deepest = deepest.max(runtime.actor_mailbox("tally", "drain").await.unwrap());
            if all_finished(&runtime, &ids).await {
                return deepest;
            }
            tokio::task::yield_now().await;
        }
    });
    let deepest = deepest.await.unwrap();
    assert!(deepest <= 100, "the mailbox held {deepest}, past its bound");
    for id in &senders {
        assert_eq!(host.wait(id).await.output.as_deref(), Some("300"));
    }
    host.settle().await;
    assert_eq!(
        actor_json(&host.runtime, "tally", "drain").await,
        json!({"count": 600, "sum": 600})
    );

    let greedy = host
        .run("flood_tally", &json!(["drain", 150, 150]).to_string())
        .await;
    assert_eq!(greedy.status, Status::Failed);
    let output: Value = serde_json::from_str(greedy.output.as_deref().unwrap()).unwrap();
    assert!(
        output["message"]
            .as_str()
            .unwrap()
            .contains("one episode sends more than 100 operations to actor tally/drain, the bound of its mailbox"),
        "{output}"
    );
}

/// The most the worker process may hold while it drains one actor's
/// 100,000 queued operations (its resident set, sampled as it works).
const WORKER_RSS_CEILING_MIB: u64 = 400;

/// A process's resident set, in MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// One actor with 100,000 operations queued: a worker process drains them
/// a page at a time, its memory under the ceiling throughout, and applies
/// each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_actor_drains_a_deep_mailbox_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reprise.db");
    registered_client(&db).await;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    let add = Op::EnqueueActor {
        operation: ActorOperation {
            target: ActorId {
                kind: "tally".into(),
                key: "hot".into(),
            },
            operation: "add".into(),
            input: "1".into(),
        },
        reply: ReplyTo::Nobody,
        visible_at: 0,
        capacity: None,
    };
    for _ in 0..50 {
        store
            .commit(vec![add.clone(); 2_000])
            .await
            .unwrap()
            .unwrap();
    }
    let client = open(&db, |b| b).await;
    assert_eq!(client.actor_mailbox("tally", "hot").await.unwrap(), 100_000);

    let mut worker = WorkerProcess::spawn_with_args(
        &db,
        &["--mailbox-capacity", "200000", "worker", "--wait-for-lease"],
    );
    worker.wait_until_running().await;
    let mut peak = 0;
    eventually(
        Duration::from_secs(300),
        "the mailbox drains (shown: what is left, the worker's peak MiB)",
        async || {
            peak = peak.max(rss_mib(worker.pid()));
            let left = client.actor_mailbox("tally", "hot").await.unwrap();
            if left == 0 { Ok(()) } else { Err((left, peak)) }
        },
    )
    .await;
    assert!(
        peak > 0 && peak < WORKER_RSS_CEILING_MIB,
        "the worker's resident set peaked at {peak} MiB"
    );
    assert_eq!(
        actor_json(&client, "tally", "hot").await,
        json!({"count": 100_000, "sum": 100_000})
    );
}
