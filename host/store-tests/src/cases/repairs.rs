//! Repairs: rewinding a failed execution on the history that was read,
//! and a fork written as one batch (its instance, its copied history and
//! the events it receives again).

use reprise_core::history::{Event, Failure, HistoryEvent};
use reprise_core::store::{Change, MessageKind, Op, Status};

use crate::Backend;
use crate::fixtures::{
    assert_conflict, assert_not_found, commit, create, event, events, history_event, ok, result,
};

/// Execution 0 of `a` after its start: a timer #1, an activity #2, the
/// await of #2 that failed, and the failure.
fn failed_history() -> Vec<HistoryEvent> {
    let failure = Failure::new("card declined");
    vec![
        history_event(
            1,
            Event::TimerScheduled {
                delay_ms: 5,
                fire_at: 6,
            },
        ),
        history_event(
            2,
            Event::ActivityScheduled {
                name: "charge".into(),
                input: "1".into(),
                options: Default::default(),
            },
        ),
        history_event(
            3,
            Event::TaskAwaited {
                task: 2,
                outcome: Err(failure.clone()),
            },
        ),
        history_event(4, Event::Failed { failure }),
    ]
}

/// The rewind of `a`'s execution 0, read with `events` events, cut at #3.
fn rewind(events: u32) -> Op {
    let cut = failed_history()[2..].to_vec();
    Op::Rewind {
        instance_id: "a".into(),
        execution: 0,
        events,
        marker: HistoryEvent {
            seq: 3,
            at: 80,
            event: Event::Rewound { cut },
        },
        at: 80,
    }
}

/// A failed execution is rewound only on the history that was read: the
/// events from the cut on are replaced by the marker that keeps them, the
/// instance runs again without output, the results for tasks from the cut
/// on are dropped while earlier ones and events stay, and another handle
/// is told the instance runs.
pub async fn a_rewind_cuts_only_the_failed_history_that_was_read<B: Backend>() {
    let db = B::create().await;
    let (store, watcher) = (db.connect().await, db.connect().await);
    ok(&*store, vec![create("a")]).await;
    let append = Op::AppendHistory {
        instance_id: "a".into(),
        execution: 0,
        events: failed_history(),
    };
    ok(&*store, vec![append]).await;
    // Still running: nothing to rewind.
    assert_conflict(commit(&*store, vec![rewind(5)]).await);
    let failed = Op::SetStatus {
        instance_id: "a".into(),
        status: Status::Failed,
        output: Some(r#"{"message":"card declined"}"#.into()),
        at: 9,
    };
    let early = result("a", 1, MessageKind::Timer, "null");
    let late = result("a", 3, MessageKind::Activity, "7");
    ok(&*store, vec![event("a", "approval", "true")]).await;
    ok(&*store, vec![failed, Op::Send(early), Op::Send(late)]).await;
    let head = watcher.feed_head().await.unwrap();
    // Read before the history held its failure.
    assert_conflict(commit(&*store, vec![rewind(4)]).await);
    ok(&*store, vec![rewind(5)]).await;

    let record = store.instance("a").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Running);
    assert_eq!((record.output, record.updated_at), (None, 80));
    let history = store.history("a", 0).await.unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(&history[1..3], &failed_history()[..2]);
    assert_eq!(history[3].seq, 3);
    assert_eq!(
        history[3].event,
        Event::Rewound {
            cut: failed_history()[2..].to_vec()
        }
    );
    let inbox = store.inbox("a").await.unwrap();
    let tasks: Vec<Option<u32>> = inbox
        .iter()
        .filter(|m| m.kind != MessageKind::Event)
        .map(|m| m.task)
        .collect();
    assert_eq!(tasks, [Some(1)]);
    assert_eq!(events(&inbox), [("approval".into(), "true".into())]);
    let changes = watcher.changes(head, 100).await.unwrap().changes;
    assert!(
        changes.contains(&Change::Instance {
            id: "a".into(),
            status: Some(Status::Running)
        }),
        "{changes:?}"
    );
    // Running again, it is not rewound twice.
    assert_conflict(commit(&*store, vec![rewind(4)]).await);
    let mut nobody = rewind(5);
    if let Op::Rewind { instance_id, .. } = &mut nobody {
        *instance_id = "nobody".into();
    }
    assert_not_found(commit(&*store, vec![nobody]).await);
}

/// An instance created in a batch takes the history appended after it
/// and the events sent to it in the same batch, in order: a fork is one
/// such batch, all of it or nothing.
pub async fn an_instance_takes_its_history_and_events_in_the_batch_that_creates_it<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let append = |id: &str| Op::AppendHistory {
        instance_id: id.into(),
        execution: 0,
        events: failed_history()[..2].to_vec(),
    };
    ok(
        &*store,
        vec![
            create("fork"),
            append("fork"),
            event("fork", "approval", "1"),
            event("fork", "approval", "2"),
        ],
    )
    .await;
    assert_eq!(store.history("fork", 0).await.unwrap().len(), 3);
    let inbox = store.inbox("fork").await.unwrap();
    assert_eq!(
        events(&inbox),
        [
            ("approval".into(), "1".into()),
            ("approval".into(), "2".into())
        ]
    );
    // A refused part refuses the whole: the id is taken.
    assert_conflict(commit(&*store, vec![create("fork"), append("fork")]).await);
    assert_eq!(store.history("fork", 0).await.unwrap().len(), 3);
}
