//! Export and import: every archived row restored into an empty database
//! as it was, from one snapshot of a database others go on writing to,
//! and nothing written when the target is not empty, is leased, or the
//! archive stops short.

use reprise_core::archive::{Counts, Piece, TABLES};
use reprise_core::history::{Event, Failure};
use reprise_core::store::{MessageKind, Op, ReplyTo, Role, Status, Store, StoreError, Waiting};
use tokio::sync::mpsc;

use crate::Backend;
use crate::fixtures::{
    activity, actor, assert_conflict, create, create_child, create_fork, event, history_event, ok,
    operation, result, set_status, timer,
};

/// Rows in every archived table: a component registered under two names,
/// a running instance with history, events, a task result, a pending
/// activity that failed once and a timer; a child; a finished fork; an
/// actor with state and a mailbox, an atomic operation and a client's
/// outcome.
async fn fill(store: &dyn Store) {
    let mut retried = activity("a", 2);
    retried.attempt = 2;
    retried.visible_at = 7_000;
    retried.last_failure = Some(Failure::new("flaky"));
    ok(
        store,
        vec![Op::RegisterComponent {
            digest: "digest".into(),
            bytes: vec![0, 97, 115, 109, 1, 0, 0, 0, 255],
            names: vec![
                (Role::Orchestration, "o".into()),
                (Role::Activity, "x".into()),
            ],
            at: 3,
        }],
    )
    .await;
    let account = actor("account", "acct-1");
    ok(
        store,
        vec![
            create("a"),
            create_child("a-child", "a"),
            create_fork("done", "a"),
            Op::AppendHistory {
                instance_id: "a".into(),
                execution: 0,
                events: vec![
                    history_event(
                        1,
                        Event::ActivityScheduled {
                            name: "x".into(),
                            input: "[1]".into(),
                            options: Default::default(),
                        },
                    ),
                    history_event(
                        2,
                        Event::TimerScheduled {
                            delay_ms: 5,
                            fire_at: 9_000,
                        },
                    ),
                ],
            },
            event("a", "approve", "\"dana\""),
            event("a", "approve", "\"émile\""),
            Op::Send(result("a", 1, MessageKind::Activity, "\"ok\"")),
            Op::ScheduleActivity(retried),
            Op::ScheduleTimer(timer("a", 3, 9_000)),
            Op::SetCustomStatus {
                instance_id: "a".into(),
                status: Some("{\"stage\":2}".into()),
                at: 4,
            },
            Op::SetWaiting {
                instance_id: "a".into(),
                waiting: Waiting {
                    execution: 0,
                    tasks: vec![2, 3],
                    since: 5,
                },
            },
            set_status("done", Status::Completed),
            Op::EnqueueActor {
                operation: operation(&account, "deposit", "10"),
                reply: ReplyTo::Nobody,
                visible_at: 0,
                capacity: None,
            },
            Op::EnqueueAtomic {
                operations: vec![operation(&account, "withdraw", "5")],
                reply: ReplyTo::Client("req-1".into()),
                capacity: None,
            },
            Op::ApplyActors {
                dequeued: vec![],
                atomic: None,
                states: vec![(account, Some("{\"balance\":90}".into()))],
                at: 6,
            },
            Op::PutActorResult {
                request_id: "req-0".into(),
                outcome: "{\"ok\":1}".into(),
            },
        ],
    )
    .await;
}

/// Everything `store` exports, as the pieces a restore would receive
/// (with the end).
async fn export_all(store: &dyn Store) -> Vec<Piece> {
    let (out, mut input) = mpsc::channel(4);
    let (counts, pieces) = tokio::join!(store.export(out), async {
        let mut pieces = Vec::new();
        while let Some(piece) = input.recv().await {
            pieces.push(piece);
        }
        pieces
    });
    let mut pieces = pieces;
    pieces.push(Piece::End(counts.expect("the export")));
    pieces
}

/// Feeds `pieces` to an import into `store`.
async fn import(store: &dyn Store, pieces: Vec<Piece>) -> Result<Counts, StoreError> {
    let (out, input) = mpsc::channel(pieces.len().max(1));
    for piece in pieces {
        out.send(piece).await.unwrap();
    }
    drop(out);
    store.import(input, 10_000).await
}

/// The rows of one table, gathered from the pieces.
fn rows_of(pieces: &[Piece], name: &str) -> usize {
    let table = TABLES.iter().position(|t| t.name == name).unwrap();
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Rows { table: t, rows } if *t == table => rows.len(),
            _ => 0,
        })
        .sum()
}

/// An export imported into an empty database gives back every row: the
/// same records through every read, the same rows exported again, and new
/// rows numbered after the restored ones (an event sent afterwards comes
/// after those restored, in the inbox's order).
pub async fn an_archive_restores_every_row_into_an_empty_database<B: Backend>() {
    let source_db = B::create().await;
    let source = source_db.connect().await;
    fill(&*source).await;
    let pieces = export_all(&*source).await;
    let Some(Piece::End(counts)) = pieces.last().cloned() else {
        panic!("an end")
    };
    for (table, want) in [
        ("components", 1),
        ("registrations", 2),
        ("instances", 3),
        ("history", 5),
        ("inbox", 3),
        ("activity_tasks", 1),
        ("timers", 1),
        ("actors", 1),
        ("actor_mailbox", 2),
        ("actor_queues", 1),
        ("actor_atomic", 1),
        ("actor_results", 1),
    ] {
        assert_eq!(counts.of(table), want, "{table}");
        assert_eq!(rows_of(&pieces, table) as u64, want, "{table}");
    }

    let target_db = B::create().await;
    let target = target_db.connect().await;
    assert_eq!(import(&*target, pieces.clone()).await.unwrap(), counts);
    assert_eq!(export_all(&*target).await, pieces, "the same rows, again");

    for id in ["a", "a-child", "done"] {
        assert_eq!(
            target.instance(id).await.unwrap(),
            source.instance(id).await.unwrap()
        );
        assert_eq!(
            target.history(id, 0).await.unwrap(),
            source.history(id, 0).await.unwrap()
        );
    }
    assert_eq!(
        target.inbox("a").await.unwrap(),
        source.inbox("a").await.unwrap()
    );
    assert_eq!(
        target.due_activities(u64::MAX, 10, false).await.unwrap(),
        source.due_activities(u64::MAX, 10, false).await.unwrap()
    );
    assert_eq!(
        target.next_timers(10).await.unwrap(),
        source.next_timers(10).await.unwrap()
    );
    assert_eq!(
        target.registrations().await.unwrap(),
        source.registrations().await.unwrap()
    );
    assert_eq!(
        target.component("digest").await.unwrap(),
        source.component("digest").await.unwrap()
    );
    let account = actor("account", "acct-1");
    assert_eq!(
        target.actor(&account).await.unwrap(),
        source.actor(&account).await.unwrap()
    );
    assert_eq!(
        target.actor_queue(&account, 10).await.unwrap(),
        source.actor_queue(&account, 10).await.unwrap()
    );
    assert_eq!(
        target.atomic_requests(10).await.unwrap(),
        source.atomic_requests(10).await.unwrap()
    );
    assert_eq!(
        target.actor_mailbox(&account).await.unwrap(),
        source.actor_mailbox(&account).await.unwrap()
    );
    assert_eq!(
        target.due_actors(u64::MAX, 10, 10, &[]).await.unwrap(),
        source.due_actors(u64::MAX, 10, 10, &[]).await.unwrap()
    );
    assert_eq!(
        target.actor_result("req-0").await.unwrap(),
        source.actor_result("req-0").await.unwrap()
    );
    assert_eq!(
        target.counts().await.unwrap(),
        source.counts().await.unwrap()
    );

    // Numbering goes on after the restored rows.
    ok(&*target, vec![event("a", "approve", "\"late\"")]).await;
    let inbox = target.inbox("a").await.unwrap();
    let restored = source.inbox("a").await.unwrap();
    assert_eq!(inbox.len(), restored.len() + 1);
    assert!(inbox.last().unwrap().id > restored.iter().map(|m| m.id).max().unwrap());
    assert_eq!(inbox.last().unwrap().payload, "\"late\"");
    ok(
        &*target,
        vec![Op::EnqueueActor {
            operation: operation(&account, "deposit", "1"),
            reply: ReplyTo::Nobody,
            visible_at: 0,
            capacity: None,
        }],
    )
    .await;
    // The operation, the atomic turn and the new one, which comes last.
    let queue = target.actor_queue(&account, 10).await.unwrap();
    assert_eq!(target.actor_mailbox(&account).await.unwrap(), 3);
    assert_eq!(queue.len(), 3);
    assert_eq!(queue[2].operation.input, "1");
}

/// The export reads one snapshot: what another handle commits after it
/// began is not in it, even in tables it has not reached yet.
pub async fn an_export_is_one_snapshot_while_others_commit<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let other = db.connect().await;
    fill(&*store).await;
    // Room for one piece: the export waits after its first tables.
    let (out, mut input) = mpsc::channel(1);
    let exporting = tokio::spawn({
        let store = store.clone();
        async move { store.export(out).await }
    });
    let first = input.recv().await.expect("the components");
    assert!(matches!(first, Piece::Rows { table: 0, .. }), "{first:?}");
    ok(
        &*other,
        vec![
            create("late"),
            Op::ScheduleTimer(timer("a", 9, 1)),
            Op::ApplyActors {
                dequeued: vec![],
                atomic: None,
                states: vec![(actor("account", "acct-2"), Some("1".into()))],
                at: 7,
            },
        ],
    )
    .await;
    let mut pieces = vec![first];
    while let Some(piece) = input.recv().await {
        pieces.push(piece);
    }
    let counts = exporting.await.unwrap().unwrap();
    assert_eq!(counts.of("instances"), 3, "not the late instance");
    assert_eq!(counts.of("timers"), 1, "not the late timer");
    assert_eq!(counts.of("actors"), 1, "not the late actor");
    assert_eq!(rows_of(&pieces, "instances"), 3);
    assert_eq!(
        store.counts().await.unwrap().timers,
        2,
        "committed meanwhile"
    );
}

/// A database with work in it, or with a lease held, takes no archive;
/// an archive that stops before its end, or whose end counts other rows,
/// writes nothing.
pub async fn an_import_changes_nothing_unless_it_all_arrives_into_an_empty_database<B: Backend>() {
    let source_db = B::create().await;
    let source = source_db.connect().await;
    fill(&*source).await;
    let pieces = export_all(&*source).await;

    let busy_db = B::create().await;
    let busy = busy_db.connect().await;
    ok(&*busy, vec![create("mine")]).await;
    let refused = import(&*busy, pieces.clone()).await;
    assert_conflict(refused);
    assert_eq!(busy.instances(&Default::default()).await.unwrap().len(), 1);
    assert_eq!(busy.registrations().await.unwrap(), vec![]);

    let leased_db = B::create().await;
    let leased = leased_db.connect().await;
    ok(
        &*leased,
        vec![Op::TakeLease {
            name: "worker".into(),
            owner: "w-1".into(),
            now: 9_000,
            until: 20_000,
        }],
    )
    .await;
    let refused = import(&*leased, pieces.clone()).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(why)) if why.contains("w-1")),
        "{refused:?}"
    );
    assert_eq!(
        export_all(&*leased).await,
        vec![Piece::End(Counts::default())]
    );

    let target_db = B::create().await;
    let target = target_db.connect().await;
    let short = pieces[..pieces.len() - 1].to_vec();
    let refused = import(&*target, short).await;
    assert!(
        matches!(refused, Err(StoreError::Incomplete(_))),
        "{refused:?}"
    );
    let mut wrong_end = pieces.clone();
    let Some(Piece::End(counts)) = wrong_end.last_mut() else {
        panic!("an end")
    };
    counts.0[2] += 1;
    let refused = import(&*target, wrong_end).await;
    assert!(
        matches!(refused, Err(StoreError::Incomplete(_))),
        "{refused:?}"
    );
    assert_eq!(
        export_all(&*target).await,
        vec![Piece::End(Counts::default())]
    );
    assert_eq!(target.registrations().await.unwrap(), vec![]);

    // Refusals left it able to take the whole archive.
    import(&*target, pieces).await.unwrap();
    assert_eq!(
        target.instances(&Default::default()).await.unwrap().len(),
        3
    );
}
