//! Actor mailboxes, atomic multi-actor operations and clients' results.

use reprise_core::store::{ActorId, Op, ParentRef, ReplyTo, Store, StoreError};

use crate::Backend;
use crate::fixtures::{actor, assert_conflict, commit, ok, operation};

/// Queues `input` for `target` (operation `add`), unbounded, due now.
fn add(target: &ActorId, input: &str) -> Op {
    Op::EnqueueActor {
        operation: operation(target, "add", input),
        reply: ReplyTo::Nobody,
        visible_at: 0,
        capacity: None,
    }
}

/// A transfer of `amount` between `from` and `to`, all or nothing.
fn transfer(from: &ActorId, to: &ActorId, amount: &str, capacity: Option<u64>) -> Op {
    Op::EnqueueAtomic {
        operations: vec![
            operation(from, "withdraw", amount),
            operation(to, "deposit", amount),
        ],
        reply: ReplyTo::Client(format!("{from}->{to}")),
        capacity,
    }
}

/// The inputs of an actor's due page, atomic turns as `@request`.
/// The actors with operations due by `now`.
async fn due_actors(store: &dyn Store, now: u64) -> Vec<ActorId> {
    let due = store.due_actors(now, 100, 1, &[]).await.unwrap();
    due.into_iter().map(|d| d.actor).collect()
}

/// The id of an actor's first operation due by `now`.
async fn first_due(store: &dyn Store, id: &ActorId, now: u64) -> i64 {
    let page = store.due_actor_operations(id, now, 1).await.unwrap();
    page.first().map(|m| m.id).expect("an operation is due")
}

async fn page(store: &dyn Store, id: &ActorId, now: u64) -> Vec<String> {
    let page = store.due_actor_operations(id, now, 100).await.unwrap();
    assert!(page.windows(2).all(|w| w[0].id < w[1].id));
    page.into_iter()
        .map(|m| match m.atomic {
            Some(request) => format!("@{request}"),
            None => m.operation.input,
        })
        .collect()
}

/// A mailbox's operations come out in arrival order (delayed ones when
/// due), a page at a time, and only actors with due work are listed.
/// Applying a batch of them writes the actor's state and removes them
/// together, once: applying the same operations again is refused and
/// changes nothing.
pub async fn a_mailbox_is_read_in_arrival_order_and_each_operation_applied_once<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let (a, b, c) = (
        actor("account", "a"),
        actor("account", "b"),
        actor("account", "c"),
    );
    let reply = ReplyTo::Task(ParentRef {
        instance_id: "i".into(),
        execution: 0,
        task: 3,
    });
    let mut batch = Vec::new();
    for (target, input) in [(&a, "1"), (&b, "2"), (&a, "3"), (&b, "4"), (&a, "5")] {
        batch.push(add(target, input));
    }
    batch.push(Op::EnqueueActor {
        operation: operation(&a, "remind", "6"),
        reply: reply.clone(),
        visible_at: 5_000,
        capacity: None,
    });
    batch.push(Op::EnqueueActor {
        operation: operation(&c, "remind", "7"),
        reply: reply.clone(),
        visible_at: 9_000,
        capacity: None,
    });
    ok(&*store, batch).await;

    let mut due = due_actors(&*store, 1_000).await;
    due.sort();
    assert_eq!(due, [a.clone(), b.clone()], "c has nothing due yet");
    // Each with its first page of due operations, as the mailbox reads it.
    for listed in store.due_actors(1_000, 100, 2, &[]).await.unwrap() {
        let first = store
            .due_actor_operations(&listed.actor, 1_000, 2)
            .await
            .unwrap();
        assert_eq!(listed.page, first, "{}", listed.actor);
    }
    // An actor passed over does not count against the limit.
    for except in [&a, &b] {
        let others = store
            .due_actors(1_000, 1, 2, std::slice::from_ref(except))
            .await;
        let others: Vec<ActorId> = others.unwrap().into_iter().map(|d| d.actor).collect();
        let other = if except == &a { &b } else { &a };
        assert_eq!(&others, std::slice::from_ref(other), "all but {except}");
    }
    assert_eq!(page(&*store, &a, 1_000).await, ["1", "3", "5"]);
    assert_eq!(page(&*store, &b, 1_000).await, ["2", "4"]);
    let first_two = store.due_actor_operations(&a, 1_000, 2).await.unwrap();
    assert_eq!(first_two.len(), 2, "a page holds at most its limit");
    assert_eq!(page(&*store, &a, 5_000).await, ["1", "3", "5", "6"]);
    let later = store.due_actor_operations(&a, 5_000, 100).await.unwrap();
    assert_eq!(later[3].reply, reply);
    assert_eq!(due_actors(&*store, 9_000).await.len(), 3);
    assert_eq!(store.actor_backlog().await.unwrap(), 7);
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 4, "due or not");
    assert_eq!(store.actor_mailbox(&b).await.unwrap(), 2);
    let queued = store.actor_queue(&c, 10).await.unwrap();
    assert_eq!(queued.len(), 1, "the queue shows what is not due yet");

    let of_a: Vec<i64> = store
        .due_actor_operations(&a, 1_000, 100)
        .await
        .unwrap()
        .iter()
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
    assert_eq!(page(&*store, &a, u64::MAX).await, ["6"]);
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 1);
    assert!(
        !due_actors(&*store, 1_000).await.contains(&a),
        "what is left of a is not due before 5000"
    );

    // An emptied mailbox is no longer listed; a state of `None` deletes
    // the actor.
    let of_b: Vec<i64> = store
        .due_actor_operations(&b, 1_000, 100)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    ok(
        &*store,
        vec![Op::ApplyActors {
            dequeued: of_b,
            atomic: None,
            states: vec![(a.clone(), None)],
            at: 1,
        }],
    )
    .await;
    assert!(store.actor(&a).await.unwrap().is_none());
    assert_eq!(store.actor_mailbox(&b).await.unwrap(), 0);
    assert!(!due_actors(&*store, u64::MAX).await.contains(&b));
}

/// An actor is due as long as one operation is due, wherever it stands
/// behind delayed ones, and falls due again when the first delayed one
/// does.
pub async fn an_actor_is_due_while_any_operation_is_due<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let a = actor("account", "a");
    let later = |input: &str, visible_at: u64| Op::EnqueueActor {
        operation: operation(&a, "remind", input),
        reply: ReplyTo::Nobody,
        visible_at,
        capacity: None,
    };
    let queued = vec![
        later("r1", 7_000),
        later("r2", 5_000),
        add(&a, "1"),
        add(&a, "2"),
    ];
    ok(&*store, queued).await;
    let apply = |dequeued: Vec<i64>| {
        vec![Op::ApplyActors {
            dequeued,
            atomic: None,
            states: vec![],
            at: 1,
        }]
    };
    assert_eq!(page(&*store, &a, 1_000).await, ["1", "2"]);
    ok(&*store, apply(vec![first_due(&*store, &a, 1_000).await])).await;
    assert_eq!(
        due_actors(&*store, 1_000).await,
        std::slice::from_ref(&a),
        "2 is due behind two delayed operations"
    );
    ok(&*store, apply(vec![first_due(&*store, &a, 1_000).await])).await;
    assert!(
        due_actors(&*store, 4_999).await.is_empty(),
        "only reminders are left"
    );
    assert_eq!(
        due_actors(&*store, 5_000).await,
        std::slice::from_ref(&a),
        "r2 falls due first"
    );

    // An operation due at once makes the actor due at once again.
    ok(&*store, vec![add(&a, "3")]).await;
    assert_eq!(due_actors(&*store, 1_000).await, std::slice::from_ref(&a));
    assert_eq!(page(&*store, &a, 1_000).await, ["3"]);
    assert_eq!(page(&*store, &a, 7_000).await, ["r1", "r2", "3"]);
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 3);
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
    ok(&*store, vec![transfer(&a, &b, "30", None)]).await;
    let [request] = store.atomic_requests(10).await.unwrap().try_into().unwrap();
    assert_eq!(request.operations.len(), 2);
    assert_eq!(
        request.reply,
        ReplyTo::Client("account/a->account/b".into())
    );
    assert_eq!(
        store.atomic_request(request.id).await.unwrap(),
        Some(request.clone())
    );
    assert_eq!(
        store.actor_backlog().await.unwrap(),
        1,
        "its turns are not operations"
    );
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
    assert_eq!(store.atomic_request(request.id).await.unwrap(), None);
    assert_eq!(
        store.actor_mailbox(&a).await.unwrap(),
        0,
        "its turns went with it"
    );
    assert!(due_actors(&*store, u64::MAX).await.is_empty());
    let listed: Vec<String> = store
        .actors("account", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.key)
        .collect();
    assert_eq!(listed, ["a", "b"]);
}

/// An atomic request takes its turn at the end of each of its actors'
/// mailboxes, between the operations that arrived before and after it,
/// and any two requests' turns come in one order in every mailbox they
/// share, whichever actor each names first. A turn is applied with its
/// request only: dequeuing it alone is refused.
pub async fn atomic_requests_take_their_turns_in_one_arrival_order<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let (a, b) = (actor("account", "a"), actor("account", "b"));
    ok(&*store, vec![add(&a, "1"), add(&b, "2")]).await;
    ok(&*store, vec![transfer(&a, &b, "10", None)]).await;
    ok(&*store, vec![add(&a, "3"), transfer(&b, &a, "20", None)]).await;
    ok(&*store, vec![add(&b, "4")]).await;
    let requests = store.atomic_requests(10).await.unwrap();
    let [first, second] = [requests[0].id, requests[1].id];
    assert_eq!(
        page(&*store, &a, 0).await,
        [
            "1",
            format!("@{first}").as_str(),
            "3",
            &format!("@{second}")
        ]
    );
    assert_eq!(
        page(&*store, &b, 0).await,
        [
            "2",
            format!("@{first}").as_str(),
            &format!("@{second}"),
            "4"
        ]
    );
    let turn = store.due_actor_operations(&a, 0, 2).await.unwrap()[1].clone();
    assert_eq!(turn.operation, operation(&a, "withdraw", "10"));
    assert_eq!(turn.reply, ReplyTo::Client("account/a->account/b".into()));
    assert_conflict(
        commit(
            &*store,
            vec![Op::ApplyActors {
                dequeued: vec![turn.id],
                atomic: None,
                states: vec![],
                at: 1,
            }],
        )
        .await,
    );
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 4);
    ok(
        &*store,
        vec![Op::ApplyActors {
            dequeued: vec![],
            atomic: Some(first),
            states: vec![],
            at: 1,
        }],
    )
    .await;
    assert_eq!(
        page(&*store, &a, 0).await,
        ["1", "3", &format!("@{second}")]
    );
    assert_eq!(
        page(&*store, &b, 0).await,
        ["2", &format!("@{second}"), "4"]
    );
}

/// A mailbox with a capacity takes operations and atomic turns up to it;
/// the one past it fails its batch alone, naming the actor and its bound,
/// and changes nothing (not even the batch's other ops). Once the actor
/// has handled an operation there is room again. Without a capacity a
/// send is never refused.
pub async fn a_full_mailbox_refuses_the_batch_that_would_overfill_it<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let (a, b) = (actor("account", "a"), actor("account", "b"));
    let bounded = |target: &ActorId, input: &str| Op::EnqueueActor {
        operation: operation(target, "add", input),
        reply: ReplyTo::Nobody,
        visible_at: 0,
        capacity: Some(2),
    };
    ok(
        &*store,
        vec![bounded(&a, "1"), transfer(&a, &b, "5", Some(2))],
    )
    .await;
    let full = |result: Result<_, StoreError>| match result {
        Err(StoreError::MailboxFull { actor, capacity }) => {
            assert_eq!((actor.to_string(), capacity), ("account/a".into(), 2));
        }
        other => panic!("expected a full mailbox, got {other:?}"),
    };
    full(commit(&*store, vec![bounded(&b, "x"), bounded(&a, "2")]).await);
    full(commit(&*store, vec![transfer(&b, &a, "1", Some(2))]).await);
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 2);
    assert_eq!(
        store.actor_mailbox(&b).await.unwrap(),
        1,
        "b holds its turn alone"
    );
    assert_eq!(store.atomic_requests(10).await.unwrap().len(), 1);
    ok(&*store, vec![add(&a, "unbounded")]).await;
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 3);

    let handled = store.due_actor_operations(&a, 0, 1).await.unwrap()[0].id;
    ok(
        &*store,
        vec![Op::ApplyActors {
            dequeued: vec![handled],
            atomic: None,
            states: vec![],
            at: 1,
        }],
    )
    .await;
    full(commit(&*store, vec![bounded(&a, "2")]).await);
    ok(&*store, vec![bounded(&b, "2")]).await;
    let request = store.atomic_requests(1).await.unwrap()[0].id;
    ok(
        &*store,
        vec![Op::ApplyActors {
            dequeued: vec![],
            atomic: Some(request),
            states: vec![],
            at: 1,
        }],
    )
    .await;
    ok(&*store, vec![bounded(&a, "2")]).await;
    assert_eq!(page(&*store, &a, 0).await, ["unbounded", "2"]);
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
