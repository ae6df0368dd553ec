//! Activities' flow control: slots judged against each activity's limits
//! in the transaction that takes them, across handles.

use reprise_core::store::{ActivityLimit, ActivitySlot, Op, Rate, StoreError};

use crate::Backend;
use crate::fixtures::{activity, commit, create, ok};

fn slot(task_id: i64, name: &str, key: Option<&str>) -> ActivitySlot {
    ActivitySlot {
        task_id,
        attempt: 1,
        name: name.into(),
        key: key.map(str::to_owned),
    }
}

fn take(slot: ActivitySlot, limit: ActivityLimit, now: u64) -> Op {
    Op::TakeActivitySlot {
        slot,
        limit,
        now,
        until: now + 10_000,
    }
}

fn release(task_id: i64, now: u64) -> Op {
    Op::ReleaseActivitySlot {
        task_id,
        attempt: 1,
        now,
    }
}

/// Which limit refused, and when to come back.
fn throttled<T: std::fmt::Debug>(result: Result<T, StoreError>) -> (&'static str, Option<u64>) {
    match result {
        Err(StoreError::Throttled {
            limit,
            retry_after_ms,
            ..
        }) => (limit, retry_after_ms),
        other => panic!("expected the activity's limit, got {other:?}"),
    }
}

/// Two handles (two hosts) share one concurrency limit: a slot is refused
/// while the limit's worth run, whoever holds them, and granted once one is
/// released or has run out. A refused batch writes nothing else. The same
/// attempt taking its slot again renews it, and other activities have
/// limits of their own.
pub async fn activity_slots_hold_a_concurrency_limit_across_handles<B: Backend>() {
    let db = B::create().await;
    let (one, two) = (db.connect().await, db.connect().await);
    let limit = ActivityLimit {
        concurrency: Some(2),
        ..ActivityLimit::default()
    };
    let now = 1_000_000;
    ok(&*one, vec![take(slot(1, "charge", None), limit, now)]).await;
    ok(&*two, vec![take(slot(2, "charge", None), limit, now)]).await;
    let refused = commit(
        &*one,
        vec![create("x"), take(slot(3, "charge", None), limit, now + 1)],
    )
    .await;
    assert_eq!(throttled(refused), ("concurrency", None));
    assert_eq!(
        one.instance("x").await.unwrap(),
        None,
        "nothing of it written"
    );
    ok(&*two, vec![take(slot(1, "charge", None), limit, now + 2)]).await;
    ok(&*one, vec![take(slot(9, "refund", None), limit, now + 2)]).await;

    let flow = one.activity_flow(now + 3).await.unwrap();
    let charge = flow.iter().find(|f| f.name == "charge").unwrap();
    assert_eq!(charge.running, 2);

    ok(&*two, vec![release(2, now + 4), release(2, now + 4)]).await;
    ok(&*one, vec![take(slot(3, "charge", None), limit, now + 5)]).await;
    // Slot 1 runs out at its `until`: then another may start.
    throttled(commit(&*one, vec![take(slot(4, "charge", None), limit, now + 6)]).await);
    ok(
        &*two,
        vec![take(slot(4, "charge", None), limit, now + 2 + 10_000)],
    )
    .await;
}

/// A per-key limit counts the running slots with the same key only; a
/// rate counts every start in the period before (and its guard, a fifth
/// of it), released or not, and says when the oldest of them leaves it.
pub async fn activity_slots_hold_per_key_limits_and_rates<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let per_key = ActivityLimit {
        per_key: Some(1),
        ..ActivityLimit::default()
    };
    let now = 2_000_000;
    ok(
        &*store,
        vec![take(slot(1, "ship", Some("c1")), per_key, now)],
    )
    .await;
    assert_eq!(
        throttled(
            commit(
                &*store,
                vec![take(slot(2, "ship", Some("c1")), per_key, now)]
            )
            .await
        ),
        ("per-key", None)
    );
    ok(
        &*store,
        vec![take(slot(3, "ship", Some("c2")), per_key, now)],
    )
    .await;
    ok(&*store, vec![release(1, now + 1)]).await;
    ok(
        &*store,
        vec![take(slot(2, "ship", Some("c1")), per_key, now + 2)],
    )
    .await;

    let rate = ActivityLimit {
        rate: Some(Rate {
            count: 2,
            period_ms: 1_000,
        }),
        ..ActivityLimit::default()
    };
    ok(&*store, vec![take(slot(10, "mail", None), rate, now)]).await;
    ok(&*store, vec![release(10, now + 10)]).await;
    ok(&*store, vec![take(slot(11, "mail", None), rate, now + 400)]).await;
    let take_mail =
        |task_id, at| commit(&*store, vec![take(slot(task_id, "mail", None), rate, at)]);
    assert_eq!(
        throttled(take_mail(12, now + 900).await),
        ("rate", Some(300))
    );
    throttled(take_mail(12, now + 1_150).await);
    take_mail(12, now + 1_200).await.unwrap();
    assert_eq!(
        throttled(take_mail(13, now + 1_300).await),
        ("rate", Some(300))
    );
    take_mail(13, now + 1_600).await.unwrap();
}

/// The flow of each activity: tasks scheduled and not finished, and the
/// slots running among them.
pub async fn activity_flow_counts_tasks_and_running_slots_by_name<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let mut second = activity("a", 2);
    second.name = "other".into();
    let committed = ok(
        &*store,
        vec![
            create("a"),
            Op::ScheduleActivity(activity("a", 1)),
            Op::ScheduleActivity(second),
        ],
    )
    .await;
    let first = &committed.activities[0];
    let limit = ActivityLimit {
        concurrency: Some(5),
        ..ActivityLimit::default()
    };
    ok(
        &*store,
        vec![take(slot(first.id, &first.name, None), limit, 100)],
    )
    .await;
    let flow = store.activity_flow(200).await.unwrap();
    let got: Vec<(&str, u64, u64)> = flow
        .iter()
        .map(|f| (f.name.as_str(), f.scheduled, f.running))
        .collect();
    let mut expected = vec![(first.name.as_str(), 1, 1), ("other", 1, 0)];
    expected.sort();
    assert_eq!(got, expected);
    ok(&*store, vec![release(first.id, 300)]).await;
    let flow = store.activity_flow(400).await.unwrap();
    assert!(flow.iter().all(|f| f.running == 0), "{flow:?}");
}
