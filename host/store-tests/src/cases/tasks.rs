//! Activity tasks, their retries, and timers.

use reprise_core::store::{MessageKind, Op};

use crate::Backend;
use crate::fixtures::{activity, create, ok, result, timer};

/// A scheduled activity comes back with its id; completing it removes it
/// and sends its result once, however often the completion is committed
/// (a worker that retried its commit, two workers that ran it).
pub async fn an_activity_result_is_delivered_once<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let committed = ok(
        &*store,
        vec![create("a"), Op::ScheduleActivity(activity("a", 1))],
    )
    .await;
    let [task] = committed.activities.as_slice() else {
        panic!("one activity scheduled: {:?}", committed.activities);
    };
    assert_eq!((task.instance_id.as_str(), task.task), ("a", 1));
    let due = store.due_activities(u64::MAX, 10, false).await.unwrap();
    assert_eq!(due, committed.activities);
    let complete = || Op::CompleteActivity {
        task_id: task.id,
        message: result("a", 1, MessageKind::Activity, "42"),
    };
    assert_eq!(ok(&*store, vec![complete()]).await.messages.len(), 1);
    assert!(ok(&*store, vec![complete()]).await.messages.is_empty());
    let inbox = store.inbox("a").await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(
        (inbox[0].task, inbox[0].kind),
        (Some(1), MessageKind::Activity)
    );
    assert!(
        store
            .due_activities(u64::MAX, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A retry waits for its time: invisible before it, visible from it, and
/// found by a scan for retries only; first attempts are not retries.
pub async fn retries_become_visible_at_their_time<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let committed = ok(
        &*store,
        vec![
            create("a"),
            Op::ScheduleActivity(activity("a", 1)),
            Op::ScheduleActivity(activity("a", 2)),
        ],
    )
    .await;
    let first = committed.activities[0].id;
    let now = 1_000_000;
    ok(
        &*store,
        vec![Op::RetryActivity {
            task_id: first,
            attempt: 2,
            visible_at: now + 500,
            failure: reprise_core::history::Failure::new("attempt 1 failed"),
        }],
    )
    .await;
    let ids = |tasks: Vec<reprise_core::store::ActivityTask>| {
        tasks
            .into_iter()
            .map(|t| (t.task, t.attempt))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.due_activities(now, 10, false).await.unwrap()),
        [(2, 1)]
    );
    assert!(
        store
            .due_activities(now, 10, true)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store.due_activities(now + 500, 10, true).await.unwrap()),
        [(1, 2)]
    );
    assert_eq!(
        ids(store.due_activities(now + 500, 10, false).await.unwrap()),
        [(2, 1), (1, 2)],
        "oldest visibility first"
    );
    assert_eq!(
        store
            .due_activities(now + 500, 1, false)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Timers come out earliest first; firing one removes it and sends its
/// completion once, however often the firing is committed.
pub async fn timers_come_earliest_first_and_fire_once<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(
        &*store,
        vec![
            create("a"),
            Op::ScheduleTimer(timer("a", 1, 300)),
            Op::ScheduleTimer(timer("a", 2, 100)),
            Op::ScheduleTimer(timer("a", 3, 200)),
        ],
    )
    .await;
    let order: Vec<u32> = store
        .next_timers(10)
        .await
        .unwrap()
        .iter()
        .map(|t| t.task)
        .collect();
    assert_eq!(order, [2, 3, 1]);
    assert_eq!(store.next_timers(1).await.unwrap(), [timer("a", 2, 100)]);
    let fire = || Op::FireTimer {
        timer: timer("a", 2, 100),
        message: result("a", 2, MessageKind::Timer, "null"),
    };
    assert_eq!(ok(&*store, vec![fire()]).await.messages.len(), 1);
    assert!(ok(&*store, vec![fire()]).await.messages.is_empty());
    assert_eq!(store.inbox("a").await.unwrap().len(), 1);
    assert_eq!(store.next_timers(10).await.unwrap().len(), 2);
}
