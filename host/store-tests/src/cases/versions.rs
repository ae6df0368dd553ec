//! Versions: the code an execution runs, continuing as new onto other
//! code, and moving a live instance to new code only on the history that
//! was checked.

use reprise_core::history::Event;
use reprise_core::store::{Change, Op, Status};

use crate::Backend;
use crate::fixtures::{
    assert_conflict, assert_not_found, commit, create, history_event, ok, set_status,
};

/// The move of `id` in `execution` from `from` to `to`, checked on
/// `events` events.
fn move_to(id: &str, execution: u32, (from, to): (&str, &str), events: u32) -> Op {
    Op::MoveInstance {
        instance_id: id.into(),
        execution,
        from: from.into(),
        to: to.into(),
        events,
        at: 70,
    }
}

/// The move of `a` to `v2`.
fn move_a(execution: u32, from: &str, events: u32) -> Op {
    move_to("a", execution, (from, "v2"), events)
}

/// An episode of `a` on `digest`.
fn episode(digest: &str, seq: u32) -> Vec<Op> {
    vec![
        Op::ExpectRunning {
            instance_id: "a".into(),
            execution: 0,
            digest: Some(digest.into()),
        },
        Op::AppendHistory {
            instance_id: "a".into(),
            execution: 0,
            events: vec![history_event(seq, Event::Now { ms: 5 })],
        },
    ]
}

/// A live instance moves to new code only if it still runs the code it
/// was checked on, in the same execution, with exactly the history that
/// was checked: the move appends its marker there and changes the digest,
/// and from then on an episode of the old code is refused. Another handle
/// is told, so that a guest running the old code stops.
pub async fn a_move_to_new_code_needs_the_history_that_was_checked<B: Backend>() {
    let db = B::create().await;
    let (mover, watcher) = (db.connect().await, db.connect().await);
    ok(&*mover, vec![create("a")]).await;
    ok(&*mover, episode("digest", 1)).await;
    let head = watcher.feed_head().await.unwrap();
    // Checked before the episode: its history has grown since.
    assert_conflict(commit(&*mover, vec![move_a(0, "digest", 1)]).await);
    assert_conflict(commit(&*mover, vec![move_a(0, "other", 2)]).await);
    assert_conflict(commit(&*mover, vec![move_a(1, "digest", 2)]).await);
    ok(&*mover, vec![move_a(0, "digest", 2)]).await;
    let record = mover.instance("a").await.unwrap().unwrap();
    assert_eq!((record.digest.as_str(), record.updated_at), ("v2", 70));
    let history = mover.history("a", 0).await.unwrap();
    let marker = history.last().unwrap();
    assert_eq!((marker.seq, marker.at), (2, 70));
    assert_eq!(
        marker.event,
        Event::Upgraded {
            from: "digest".into(),
            to: "v2".into()
        }
    );
    // The old code's next episode is refused; the new code's commits.
    assert_conflict(commit(&*mover, episode("digest", 3)).await);
    ok(&*mover, episode("v2", 3)).await;
    let changes = watcher.changes(head, 100).await.unwrap().changes;
    assert!(
        changes.contains(&Change::Moved { id: "a".into() }),
        "{changes:?}"
    );
    // A suspended instance moves too; a finished one does not.
    ok(&*mover, vec![set_status("a", Status::Suspended)]).await;
    ok(&*mover, vec![move_to("a", 0, ("v2", "digest"), 4)]).await;
    ok(&*mover, vec![set_status("a", Status::Completed)]).await;
    assert_conflict(commit(&*mover, vec![move_a(0, "digest", 5)]).await);
    let nobody = move_to("nobody", 0, ("digest", "v2"), 1);
    assert_not_found(commit(&*mover, vec![nobody]).await);
}

/// Continuing as new starts the next execution on the code the op names,
/// and an instance created pinned stays pinned.
pub async fn the_next_execution_runs_the_code_continue_as_new_names<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let mut pinned = create("p");
    if let Op::CreateInstance { record, .. } = &mut pinned {
        record.pinned = true;
    }
    ok(&*store, vec![create("a"), pinned]).await;
    assert!(store.instance("p").await.unwrap().unwrap().pinned);
    let a = store.instance("a").await.unwrap().unwrap();
    assert!(!a.pinned);
    assert_eq!(a.digest, "digest");
    let mut next = crate::fixtures::continue_as_new("a", 0, "1");
    if let Op::ContinueAsNew { digest, .. } = &mut next {
        *digest = "v2".into();
    }
    ok(&*store, vec![next]).await;
    let a = store.instance("a").await.unwrap().unwrap();
    assert_eq!((a.execution, a.digest.as_str()), (1, "v2"));
}
