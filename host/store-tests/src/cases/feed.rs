//! The change feed: what one handle learns of another's commits.

use reprise_core::store::{Change, FeedPosition, Op, Role, Status, Store};

use crate::Backend;
use crate::fixtures::{activity, actor, create, event, ok, operation, set_status, timer};

/// Every change from `after` to the end of the feed, page by page.
async fn read_all(store: &dyn Store, mut after: FeedPosition, page: usize) -> Vec<Change> {
    let mut all = Vec::new();
    loop {
        let changes = store.changes(after, page).await.unwrap();
        assert!(!changes.gap, "a fresh feed has no gap");
        assert!(changes.next >= after, "the position never goes back");
        if changes.next == after {
            assert!(changes.changes.is_empty());
            return all;
        }
        after = changes.next;
        all.extend(changes.changes);
    }
}

/// A handle sees the changes another handle committed, in commit order,
/// each with the record as it is now; never its own; and nothing twice
/// when it reads on from where it stopped.
pub async fn the_feed_shows_other_handles_changes_in_commit_order<B: Backend>() {
    let db = B::create().await;
    let (writer, reader) = (db.connect().await, db.connect().await);
    let start = reader.feed_head().await.unwrap();
    ok(&*writer, vec![create("a")]).await;
    ok(&*writer, vec![event("a", "go", "1")]).await;
    ok(
        &*writer,
        vec![
            Op::ScheduleActivity(activity("a", 1)),
            Op::ScheduleActivity(activity("a", 2)),
        ],
    )
    .await;
    ok(&*writer, vec![Op::ScheduleTimer(timer("a", 3, 10))]).await;
    let account = actor("account", "x");
    ok(
        &*writer,
        vec![Op::EnqueueActor {
            operation: operation(&account, "add", "1"),
            reply: reprise_core::store::ReplyTo::Nobody,
            visible_at: 0,
            capacity: None,
        }],
    )
    .await;
    ok(
        &*writer,
        vec![Op::PutActorResult {
            request_id: "r".into(),
            outcome: "{}".into(),
        }],
    )
    .await;
    ok(
        &*writer,
        vec![Op::RegisterComponent {
            digest: "d".into(),
            bytes: vec![0],
            names: vec![(Role::Actor, "account".into())],
            at: 1,
        }],
    )
    .await;
    ok(&*writer, vec![set_status("a", Status::Completed)]).await;

    let mut seen = read_all(&*reader, start, 100).await;
    // A backend may give one work notice for several of one batch.
    seen.dedup_by(|a, b| a == b && !matches!(a, Change::Instance { .. } | Change::Message(_)));
    let completed = Change::Instance {
        id: "a".into(),
        status: Some(Status::Completed),
    };
    let message = match &seen[1] {
        Change::Message(message) => message.clone(),
        other => panic!("expected the event, got {other:?}"),
    };
    assert_eq!(
        (
            message.instance_id.as_str(),
            message.name.as_deref(),
            message.payload.as_str()
        ),
        ("a", Some("go"), "1")
    );
    assert_eq!(
        seen,
        vec![
            completed.clone(),
            Change::Message(message),
            Change::Activities,
            Change::Timers,
            Change::Actors,
            Change::ActorResult {
                request_id: "r".into()
            },
            Change::Registrations,
            completed,
        ],
        "one change per write, in commit order, each as it is now"
    );

    // Nothing of one's own.
    assert!(read_all(&*writer, start, 100).await.is_empty());
    let before_own = reader.feed_head().await.unwrap();
    ok(&*reader, vec![create("b")]).await;
    assert!(read_all(&*reader, before_own, 100).await.is_empty());
    assert_eq!(
        read_all(&*writer, before_own, 100).await,
        vec![Change::Instance {
            id: "b".into(),
            status: Some(Status::Running)
        }],
        "the other handle sees it"
    );
    // Reading on from the end finds only what came after it.
    let end = reader.changes(start, 100).await.unwrap().next;
    ok(
        &*writer,
        vec![Op::Purge {
            instance_id: "a".into(),
        }],
    )
    .await;
    assert_eq!(
        read_all(&*reader, end, 100).await,
        vec![Change::Instance {
            id: "a".into(),
            status: None
        }]
    );
}

/// Messages consumed before the feed is read are left out (someone handled
/// them); reading in small pages finds every change once.
pub async fn the_feed_leaves_out_consumed_messages_and_pages<B: Backend>() {
    let db = B::create().await;
    let (writer, reader) = (db.connect().await, db.connect().await);
    let start = reader.feed_head().await.unwrap();
    ok(&*writer, vec![create("a")]).await;
    for i in 0..10 {
        ok(&*writer, vec![event("a", "n", &i.to_string())]).await;
    }
    let inbox = writer.inbox("a").await.unwrap();
    let consumed: Vec<i64> = inbox.iter().step_by(2).map(|m| m.id).collect();
    ok(&*writer, vec![Op::Consume(consumed)]).await;

    for page in [1, 3, 100] {
        let seen = read_all(&*reader, start, page).await;
        let payloads: Vec<String> = seen
            .iter()
            .filter_map(|change| match change {
                Change::Message(message) => Some(message.payload.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(payloads, ["1", "3", "5", "7", "9"], "pages of {page}");
        assert_eq!(seen.len(), 6, "pages of {page}: {seen:?}");
    }
}
