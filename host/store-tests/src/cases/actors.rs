//! Actor mailboxes, atomic multi-actor operations and clients' results.

use reprise_core::store::{Op, ParentRef, ReplyTo};

use crate::Backend;
use crate::fixtures::{actor, assert_conflict, commit, ok, operation};

/// Mailbox operations come out in arrival order (delayed ones when due),
/// and applying a batch of them writes the actor's state and removes them
/// together, once: applying the same operations again is refused and
/// changes nothing.
pub async fn a_mailbox_is_read_in_arrival_order_and_each_operation_applied_once<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let (a, b) = (actor("account", "a"), actor("account", "b"));
    let reply = ReplyTo::Task(ParentRef {
        instance_id: "i".into(),
        execution: 0,
        task: 3,
    });
    let mut batch = Vec::new();
    for (target, input) in [(&a, "1"), (&b, "2"), (&a, "3"), (&b, "4"), (&a, "5")] {
        batch.push(Op::EnqueueActor {
            operation: operation(target, "add", input),
            reply: ReplyTo::Nobody,
            visible_at: 0,
        });
    }
    batch.push(Op::EnqueueActor {
        operation: operation(&a, "remind", "6"),
        reply: reply.clone(),
        visible_at: 5_000,
    });
    ok(&*store, batch).await;

    let due = store.due_actor_messages(1_000, 100).await.unwrap();
    let inputs: Vec<&str> = due.iter().map(|m| m.operation.input.as_str()).collect();
    assert_eq!(inputs, ["1", "2", "3", "4", "5"]);
    assert!(due.windows(2).all(|w| w[0].id < w[1].id));
    let later = store.due_actor_messages(5_000, 100).await.unwrap();
    assert_eq!(later.len(), 6);
    assert_eq!(later[5].reply, reply);
    assert_eq!(store.actor_backlog().await.unwrap(), 6);
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 4, "due or not");
    assert_eq!(store.actor_mailbox(&b).await.unwrap(), 2);

    let of_a: Vec<i64> = due
        .iter()
        .filter(|m| m.operation.target == a)
        .map(|m| m.id)
        .collect();
    let apply = |state: &str| Op::ApplyActors {
        dequeued: of_a.clone(),
        atomic: None,
        states: vec![(a.clone(), Some(state.into()))],
        at: 1,
    };
    ok(&*store, vec![apply("9")]).await;
    assert_eq!(store.actor(&a).await.unwrap().unwrap().state, "9");
    assert_conflict(commit(&*store, vec![apply("18")]).await);
    assert_eq!(store.actor(&a).await.unwrap().unwrap().state, "9");
    let left: Vec<String> = store
        .due_actor_messages(u64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.operation.input)
        .collect();
    assert_eq!(left, ["2", "4", "6"]);
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 1);

    // A state of `None` deletes the actor.
    ok(
        &*store,
        vec![Op::ApplyActors {
            dequeued: vec![],
            atomic: None,
            states: vec![(a.clone(), None)],
            at: 1,
        }],
    )
    .await;
    assert!(store.actor(&a).await.unwrap().is_none());
}

/// An atomic operation's new states are written together with the
/// request's removal, once; a second application is refused whole.
pub async fn an_atomic_operation_changes_every_actor_or_none<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let (a, b) = (actor("account", "a"), actor("account", "b"));
    ok(
        &*store,
        vec![Op::ApplyActors {
            dequeued: vec![],
            atomic: None,
            states: vec![
                (a.clone(), Some("100".into())),
                (b.clone(), Some("0".into())),
            ],
            at: 1,
        }],
    )
    .await;
    ok(
        &*store,
        vec![Op::EnqueueAtomic {
            operations: vec![
                operation(&a, "withdraw", "30"),
                operation(&b, "deposit", "30"),
            ],
            reply: ReplyTo::Client("r1".into()),
        }],
    )
    .await;
    let [request] = store.atomic_requests(10).await.unwrap().try_into().unwrap();
    assert_eq!(request.operations.len(), 2);
    assert_eq!(request.reply, ReplyTo::Client("r1".into()));
    assert_eq!(store.actor_backlog().await.unwrap(), 1);
    let apply = |x: &str, y: &str| Op::ApplyActors {
        dequeued: vec![],
        atomic: Some(request.id),
        states: vec![(a.clone(), Some(x.into())), (b.clone(), Some(y.into()))],
        at: 1,
    };
    ok(&*store, vec![apply("70", "30")]).await;
    assert_conflict(commit(&*store, vec![apply("40", "60")]).await);
    assert_eq!(store.actor(&a).await.unwrap().unwrap().state, "70");
    assert_eq!(store.actor(&b).await.unwrap().unwrap().state, "30");
    assert!(store.atomic_requests(10).await.unwrap().is_empty());
    let listed: Vec<String> = store
        .actors("account", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.key)
        .collect();
    assert_eq!(listed, ["a", "b"]);
}

/// A client's actor outcome stays until the client drops it.
pub async fn actor_results_are_kept_until_dropped<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    assert_eq!(store.actor_result("r").await.unwrap(), None);
    ok(
        &*store,
        vec![Op::PutActorResult {
            request_id: "r".into(),
            outcome: r#"{"Ok":"1"}"#.into(),
        }],
    )
    .await;
    assert_eq!(
        store.actor_result("r").await.unwrap().as_deref(),
        Some(r#"{"Ok":"1"}"#)
    );
    ok(
        &*store,
        vec![Op::DropActorResult {
            request_id: "r".into(),
        }],
    )
    .await;
    assert_eq!(store.actor_result("r").await.unwrap(), None);
}
