//! What explains a wait: the tasks a blocked instance awaits, the work its
//! execution has outstanding (with a retry's last failure), and the
//! operations queued ahead in an actor's mailbox.

use reprise_core::history::Failure;
use reprise_core::store::{MessageKind, Op, ParentRef, ReplyTo, Status, Waiting};

use crate::Backend;
use crate::fixtures::{
    activity, actor, continue_as_new, create, ok, operation, result, set_status, timer,
};

fn waiting(execution: u32, tasks: &[u32], since: u64) -> Waiting {
    Waiting {
        execution,
        tasks: tasks.to_vec(),
        since,
    }
}

fn set_waiting(id: &str, waiting: Waiting) -> Op {
    Op::SetWaiting {
        instance_id: id.into(),
        waiting,
    }
}

/// The latest wait is kept on the instance, through a suspension; a wait of
/// an execution that has moved on is ignored; continuing as new and
/// finishing clear it.
pub async fn an_instance_keeps_what_it_awaits_until_it_moves_on<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(&*store, vec![create("a"), create("b")]).await;
    let waits = |id: &'static str| {
        let store = store.clone();
        async move { store.instance(id).await.unwrap().unwrap().waiting }
    };
    assert_eq!(waits("a").await, None, "no wait before the first episode");

    ok(&*store, vec![set_waiting("a", waiting(0, &[1], 10))]).await;
    ok(&*store, vec![set_waiting("a", waiting(0, &[2, 3], 20))]).await;
    assert_eq!(waits("a").await, Some(waiting(0, &[2, 3], 20)));
    assert_eq!(waits("b").await, None, "another instance's wait is its own");

    ok(&*store, vec![set_status("a", Status::Suspended)]).await;
    assert_eq!(waits("a").await, Some(waiting(0, &[2, 3], 20)));
    ok(&*store, vec![set_status("a", Status::Running)]).await;

    ok(&*store, vec![set_waiting("a", waiting(4, &[9], 30))]).await;
    assert_eq!(
        waits("a").await,
        Some(waiting(0, &[2, 3], 20)),
        "a wait of another execution is ignored"
    );

    ok(&*store, vec![continue_as_new("a", 0, "2")]).await;
    assert_eq!(waits("a").await, None, "a new execution has not waited yet");

    ok(&*store, vec![set_waiting("a", waiting(1, &[1], 40))]).await;
    assert_eq!(waits("a").await, Some(waiting(1, &[1], 40)));
    ok(&*store, vec![set_status("a", Status::Completed)]).await;
    assert_eq!(waits("a").await, None, "a finished instance awaits nothing");
}

/// An execution's outstanding work is its queued activities (a retry with
/// its attempt, due time and last failure) and unfired timers; finished
/// work and other instances' or executions' work are left out.
pub async fn outstanding_work_is_an_executions_unfinished_activities_and_timers<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let mut other_execution = activity("a", 7);
    other_execution.execution = 1;
    let committed = ok(
        &*store,
        vec![
            create("a"),
            create("b"),
            Op::ScheduleActivity(activity("a", 1)),
            Op::ScheduleActivity(activity("a", 2)),
            Op::ScheduleActivity(activity("a", 3)),
            Op::ScheduleActivity(other_execution),
            Op::ScheduleActivity(activity("b", 1)),
            Op::ScheduleTimer(timer("a", 4, 500)),
            Op::ScheduleTimer(timer("a", 5, 900)),
            Op::ScheduleTimer(timer("b", 4, 100)),
        ],
    )
    .await;
    let id_of = |task: u32| {
        committed
            .activities
            .iter()
            .find(|t| t.instance_id == "a" && t.execution == 0 && t.task == task)
            .map(|t| t.id)
            .unwrap()
    };
    let failure = Failure {
        message: "attempt 1 fails on purpose".into(),
        details: Some(r#"{"code":7}"#.into()),
    };
    ok(
        &*store,
        vec![
            Op::RetryActivity {
                task_id: id_of(2),
                attempt: 2,
                visible_at: 4_000,
                failure: failure.clone(),
            },
            Op::CompleteActivity {
                task_id: id_of(3),
                message: result("a", 3, MessageKind::Activity, "1"),
            },
            Op::FireTimer {
                timer: timer("a", 5, 900),
                message: result("a", 5, MessageKind::Timer, "null"),
            },
        ],
    )
    .await;

    let outstanding = store.outstanding("a", 0).await.unwrap();
    let activities: Vec<_> = outstanding
        .activities
        .iter()
        .map(|t| (t.task, t.attempt, t.last_failure.clone()))
        .collect();
    assert_eq!(
        activities,
        [(1, 1, None), (2, 2, Some(failure))],
        "task order; the completed one gone"
    );
    assert_eq!(outstanding.activities[1].visible_at, 4_000);
    assert_eq!(outstanding.timers, [timer("a", 4, 500)]);
    assert!(
        store
            .outstanding("nobody", 0)
            .await
            .unwrap()
            .activities
            .is_empty()
    );
}

/// An actor's queue lists its own operations, due or not, in arrival order,
/// with where each outcome goes: where a call stands in line.
pub async fn an_actor_queue_lists_its_operations_in_arrival_order<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let (a, b) = (actor("account", "a"), actor("account", "b"));
    let call = ReplyTo::Task(ParentRef {
        instance_id: "i".into(),
        execution: 0,
        task: 3,
    });
    let enqueue = |target, input: &str, reply: &ReplyTo, visible_at| Op::EnqueueActor {
        operation: operation(target, "add", input),
        reply: reply.clone(),
        visible_at,
        capacity: None,
    };
    ok(
        &*store,
        vec![
            enqueue(&a, "1", &ReplyTo::Nobody, 0),
            enqueue(&b, "2", &ReplyTo::Nobody, 0),
            enqueue(&a, "3", &ReplyTo::Nobody, 9_999),
            enqueue(&a, "4", &call, 0),
        ],
    )
    .await;
    let queue = store.actor_queue(&a, 10).await.unwrap();
    let seen: Vec<(&str, &ReplyTo)> = queue
        .iter()
        .map(|m| (m.operation.input.as_str(), &m.reply))
        .collect();
    assert_eq!(
        seen,
        [
            ("1", &ReplyTo::Nobody),
            ("3", &ReplyTo::Nobody),
            ("4", &call)
        ]
    );
    assert!(queue.iter().all(|m| m.operation.target == a));
    assert_eq!(store.actor_queue(&a, 2).await.unwrap().len(), 2);
    assert!(
        store
            .actor_queue(&actor("account", "c"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
