//! Instances and their inboxes: arrival order, events, continue-as-new,
//! finishing, purging, a fork's lineage.

use reprise_core::history::Event;
use reprise_core::store::{
    InstanceCursor, InstanceQuery, InstanceRecord, MessageKind, Op, Status, StoreError,
};

use crate::Backend;
use crate::fixtures::{
    activity, assert_conflict, assert_not_found, commit, continue_as_new, create, create_child,
    create_fork, event, events, history_event, lineage, ok, result, set_status, started, timer,
};

/// Messages come out of an instance's inbox in the order they went in,
/// however they were batched and whatever else arrived between them.
pub async fn inboxes_keep_arrival_order_per_instance<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(&*store, vec![create("a"), create("b")]).await;
    let mut tickets = Vec::new();
    for i in 0..20 {
        let data = i.to_string();
        tickets.push(store.commit(vec![event("a", "tick", &data), event("b", "tock", &data)]));
        if i % 3 == 0 {
            tickets.push(store.commit(vec![Op::Send(result("a", i, MessageKind::Activity, "1"))]));
        }
    }
    for ticket in tickets {
        ticket.await.unwrap().unwrap();
    }
    let inbox = store.inbox("a").await.unwrap();
    assert_eq!(inbox.len(), 27);
    assert!(
        inbox.windows(2).all(|w| w[0].id < w[1].id),
        "ids grow in arrival order"
    );
    let ticks: Vec<String> = events(&inbox).into_iter().map(|(_, d)| d).collect();
    let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(ticks, expected);
    assert!(inbox.iter().all(|m| m.instance_id == "a"));

    // Consumed messages leave; the rest keep their order.
    let consumed: Vec<i64> = inbox.iter().take(10).map(|m| m.id).collect();
    ok(&*store, vec![Op::Consume(consumed)]).await;
    let rest = store.inbox("a").await.unwrap();
    assert_eq!(rest, inbox[10..]);
}

/// An event for an instance that does not exist is not found, and one for
/// a finished instance is a conflict; neither leaves a message behind.
pub async fn events_for_unknown_or_finished_instances_are_refused<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    assert_not_found(commit(&*store, vec![event("ghost", "e", "1")]).await);
    ok(
        &*store,
        vec![create("done"), set_status("done", Status::Completed)],
    )
    .await;
    assert_conflict(commit(&*store, vec![event("done", "e", "1")]).await);
    assert!(store.inbox("done").await.unwrap().is_empty());
    assert!(store.inbox("ghost").await.unwrap().is_empty());
    // A suspended instance still takes events: they wait for the resume.
    ok(
        &*store,
        vec![create("paused"), set_status("paused", Status::Suspended)],
    )
    .await;
    ok(&*store, vec![event("paused", "e", "2")]).await;
    assert_eq!(store.inbox("paused").await.unwrap().len(), 1);
}

/// Creating an instance whose id is taken is a conflict; for a
/// sub-orchestration the parent is told instead, in its inbox.
pub async fn a_duplicate_instance_id_is_refused_or_reported_to_its_parent<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(&*store, vec![create("parent"), create("taken")]).await;
    assert_conflict(commit(&*store, vec![create("taken")]).await);
    let committed = ok(&*store, vec![create_child("taken", "parent")]).await;
    assert_eq!(committed.messages.len(), 1);
    let inbox = store.inbox("parent").await.unwrap();
    assert_eq!(inbox.len(), 1);
    let message = &inbox[0];
    assert_eq!(
        (message.kind, message.execution, message.task),
        (MessageKind::Child, Some(0), Some(7))
    );
    let outcome: reprise_core::history::Outcome = serde_json::from_str(&message.payload).unwrap();
    assert!(
        outcome.is_err(),
        "the parent is told of a failure: {outcome:?}"
    );
    assert_eq!(store.instance("taken").await.unwrap().unwrap().parent, None);
}

/// Continue-as-new starts the next execution afresh (history, tasks,
/// timers and task results of the old one go) but keeps the instance's
/// events, which outlive executions.
pub async fn continue_as_new_keeps_events_and_drops_the_old_execution<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(&*store, vec![create("a")]).await;
    ok(
        &*store,
        vec![
            Op::AppendHistory {
                instance_id: "a".into(),
                execution: 0,
                events: vec![history_event(
                    1,
                    Event::TimerScheduled {
                        delay_ms: 5,
                        fire_at: 6,
                    },
                )],
            },
            Op::ScheduleActivity(activity("a", 2)),
            Op::ScheduleTimer(timer("a", 1, 6)),
            Op::Send(result("a", 3, MessageKind::Activity, "1")),
            event("a", "keep", "\"me\""),
        ],
    )
    .await;
    ok(&*store, vec![continue_as_new("a", 0, "2")]).await;
    let record = store.instance("a").await.unwrap().unwrap();
    assert_eq!((record.execution, record.input.as_str()), (1, "2"));
    assert_eq!(record.status, Status::Running);
    assert!(store.history("a", 0).await.unwrap().is_empty());
    assert_eq!(store.history("a", 1).await.unwrap(), vec![started("2")]);
    let inbox = store.inbox("a").await.unwrap();
    assert_eq!(events(&inbox), vec![("keep".into(), "\"me\"".into())]);
    assert_eq!(inbox.len(), 1, "the old execution's task result is gone");
    assert!(
        store
            .due_activities(u64::MAX, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.next_timers(10).await.unwrap().is_empty());
    // The old execution's episode can no longer commit.
    let stale = commit(
        &*store,
        vec![Op::ExpectRunning {
            instance_id: "a".into(),
            execution: 0,
            digest: None,
        }],
    )
    .await;
    assert_conflict(stale);
}

/// A fork's lineage is kept as written, and through continue-as-new and a
/// change of status; an instance that is no fork has none.
pub async fn a_fork_keeps_its_lineage_for_its_life<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(&*store, vec![create("a"), create_fork("f", "source")]).await;
    let lineage = lineage("source");
    let read = |id: &'static str| {
        let store = store.clone();
        async move { store.instance(id).await.unwrap().unwrap().forked_from }
    };
    assert_eq!(read("f").await, Some(lineage.clone()));
    assert_eq!(read("a").await, None);
    ok(&*store, vec![continue_as_new("f", 0, "2")]).await;
    ok(&*store, vec![set_status("f", Status::Completed)]).await;
    assert_eq!(read("f").await, Some(lineage.clone()));
    let listed = store
        .instances(&InstanceQuery::status(Some(Status::Completed), 10))
        .await
        .unwrap();
    assert_eq!(listed[0].forked_from, Some(lineage));
}

/// A finished instance's pending activities and timers go with it: nothing
/// would ever consume their results.
pub async fn finishing_drops_pending_activities_and_timers<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(
        &*store,
        vec![
            create("a"),
            create("b"),
            Op::ScheduleActivity(activity("a", 1)),
            Op::ScheduleTimer(timer("a", 2, 10)),
            Op::ScheduleActivity(activity("b", 1)),
        ],
    )
    .await;
    ok(&*store, vec![set_status("a", Status::Failed)]).await;
    let due = store.due_activities(u64::MAX, 10, false).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|t| t.instance_id.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    assert!(store.next_timers(10).await.unwrap().is_empty());
    let record = store.instance("a").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.output.as_deref()),
        (Status::Failed, Some("\"done\""))
    );
    assert_not_found(commit(&*store, vec![set_status("ghost", Status::Completed)]).await);
}

/// Purging takes only finished instances, and takes everything of them.
pub async fn only_finished_instances_are_purged_and_then_entirely<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(&*store, vec![create("a"), event("a", "e", "1")]).await;
    let purge = || Op::Purge {
        instance_id: "a".into(),
    };
    assert_conflict(commit(&*store, vec![purge()]).await);
    ok(&*store, vec![set_status("a", Status::Completed)]).await;
    ok(&*store, vec![purge()]).await;
    assert!(store.instance("a").await.unwrap().is_none());
    assert!(store.history("a", 0).await.unwrap().is_empty());
    assert!(store.inbox("a").await.unwrap().is_empty());
    let again = commit(&*store, vec![purge()]).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
    // The id is free again.
    ok(&*store, vec![create("a")]).await;
}

/// `resumable` reads what `instance`, `history` and `inbox` would, for
/// the current execution, in one go.
pub async fn an_instance_resumes_from_its_record_current_history_and_inbox<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    assert_eq!(store.resumable("ghost").await.unwrap(), None);
    ok(
        &*store,
        vec![create("a"), event("a", "e", "1"), event("a", "e", "2")],
    )
    .await;
    ok(&*store, vec![continue_as_new("a", 0, "5")]).await;
    let first = store.inbox("a").await.unwrap()[0].id;
    ok(&*store, vec![Op::Consume(vec![first])]).await;

    let resumable = store.resumable("a").await.unwrap().unwrap();
    assert_eq!(
        resumable.record,
        store.instance("a").await.unwrap().unwrap()
    );
    assert_eq!(resumable.record.execution, 1);
    assert_eq!(resumable.history, vec![started("5")]);
    assert_eq!(resumable.inbox, store.inbox("a").await.unwrap());
    assert_eq!(events(&resumable.inbox), vec![("e".into(), "2".into())]);
}

/// Listing filters by status, name and creation time, newest first, and
/// pages with a cursor that neither skips nor repeats an instance, even
/// when several were created in the same millisecond and more arrive
/// between pages.
pub async fn instances_are_listed_by_filter_and_paged_by_cursor<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    // 30 instances over 10 ms (three per ms), of two orchestrations.
    let batch = (0..30u64)
        .map(|i| {
            let name = if i % 2 == 0 { "even" } else { "odd" };
            Op::create_instance(
                format!("i{i:02}"),
                name,
                "d".into(),
                "null",
                None,
                100 + i / 3,
            )
        })
        .collect();
    ok(&*store, batch).await;
    ok(
        &*store,
        vec![
            set_status("i04", Status::Completed),
            set_status("i07", Status::Completed),
        ],
    )
    .await;

    let all = store.instances(&InstanceQuery::default()).await.unwrap();
    assert_eq!(all.len(), 30);
    assert!(
        all.windows(2).all(|w| w[0].created_at > w[1].created_at
            || (w[0].created_at == w[1].created_at && w[0].id < w[1].id)),
        "newest first, then by id"
    );
    let ids = |records: &[InstanceRecord]| records.iter().map(|r| r.id.clone()).collect::<Vec<_>>();

    // Each filter alone and together, against the query's own meaning.
    let queries = [
        InstanceQuery::status(Some(Status::Completed), 100),
        InstanceQuery {
            name: Some("odd".into()),
            ..InstanceQuery::default()
        },
        InstanceQuery {
            created_from: Some(103),
            created_before: Some(105),
            ..InstanceQuery::default()
        },
        InstanceQuery {
            status: Some(Status::Running),
            name: Some("even".into()),
            created_from: Some(101),
            ..InstanceQuery::default()
        },
    ];
    for query in queries {
        let expected: Vec<_> = all.iter().filter(|r| query.matches(r)).cloned().collect();
        assert!(!expected.is_empty(), "{query:?} selects something");
        assert_eq!(
            ids(&store.instances(&query).await.unwrap()),
            ids(&expected),
            "{query:?}"
        );
    }
    assert_eq!(
        ids(&store
            .instances(&InstanceQuery::status(Some(Status::Completed), 100))
            .await
            .unwrap()),
        ["i07", "i04"]
    );

    // Pages of 4: every instance once, in order, though newer ones arrive.
    let mut query = InstanceQuery {
        limit: 4,
        ..InstanceQuery::default()
    };
    let mut paged = Vec::new();
    loop {
        let page = store.instances(&query).await.unwrap();
        let Some(last) = page.last() else { break };
        query.after = Some(InstanceCursor::after(last));
        paged.extend(ids(&page));
        let newer = Op::create_instance(
            format!("new{}", paged.len()),
            "odd",
            "d".into(),
            "null",
            None,
            500,
        );
        ok(&*store, vec![newer]).await;
    }
    assert_eq!(paged, ids(&all));
}

/// The counts monitoring reads follow what is stored: instances by status
/// (every status listed) and by the component they run, queued
/// activities, timers, inbox messages and actor operations.
pub async fn counts_follow_what_the_store_holds<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let empty = store.counts().await.unwrap();
    assert_eq!(
        empty.instances,
        Status::ALL.map(|status| (status, 0)).to_vec()
    );
    assert_eq!(empty.versions, []);
    assert_eq!((empty.activities, empty.timers, empty.inbox), (0, 0, 0));
    let on_v2 = Op::create_instance("d".into(), "o", "v2".into(), "null", None, 1);
    let account = crate::fixtures::actor("account", "a");
    ok(
        &*store,
        vec![
            create("a"),
            create("b"),
            create("c"),
            on_v2,
            set_status("b", Status::Completed),
            set_status("c", Status::Suspended),
            Op::ScheduleActivity(activity("a", 1)),
            Op::ScheduleTimer(timer("a", 2, 10)),
            Op::ScheduleTimer(timer("a", 3, 10)),
            event("a", "go", "1"),
            Op::EnqueueActor {
                operation: crate::fixtures::operation(&account, "add", "1"),
                reply: reprise_core::store::ReplyTo::Nobody,
                visible_at: 0,
                capacity: None,
            },
        ],
    )
    .await;
    let counts = store.counts().await.unwrap();
    let of = |status| {
        counts
            .instances
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, n)| *n)
    };
    assert_eq!(of(Status::Running), Some(2));
    assert_eq!(of(Status::Completed), Some(1));
    assert_eq!(of(Status::Suspended), Some(1));
    assert_eq!(of(Status::Failed), Some(0));
    let mut versions: Vec<(&str, Status, u64)> = counts
        .versions
        .iter()
        .map(|v| (v.digest.as_str(), v.status, v.instances))
        .collect();
    // By digest; within one, in no particular order.
    versions.sort_by_key(|&(digest, status, _)| (digest, status as u8));
    assert_eq!(
        versions,
        [
            ("digest", Status::Running, 1),
            ("digest", Status::Suspended, 1),
            ("digest", Status::Completed, 1),
            ("v2", Status::Running, 1),
        ]
    );
    let digests: Vec<&str> = counts.versions.iter().map(|v| v.digest.as_str()).collect();
    assert!(digests.is_sorted(), "{digests:?}");
    assert_eq!((counts.activities, counts.timers, counts.inbox), (1, 2, 1));
    assert_eq!((counts.actor_mailbox, counts.atomic_requests), (1, 0));
}

/// Every time a row keeps comes from the op that wrote it, taken from the
/// runtime's clock: a backend never reads a clock of its own, so a test
/// clock governs the rows too.
pub async fn rows_take_their_times_from_the_ops<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let updated_at = |store: &std::sync::Arc<dyn reprise_core::store::Store>| {
        let store = store.clone();
        async move { store.instance("a").await.unwrap().unwrap().updated_at }
    };
    ok(&*store, vec![create("a")]).await;
    assert_eq!(updated_at(&store).await, 1);
    let custom = Op::SetCustomStatus {
        instance_id: "a".into(),
        status: Some("1".into()),
        at: 20,
    };
    ok(&*store, vec![custom]).await;
    assert_eq!(updated_at(&store).await, 20);
    let waiting = Op::SetWaiting {
        instance_id: "a".into(),
        waiting: reprise_core::store::Waiting {
            execution: 0,
            tasks: vec![1],
            since: 30,
        },
    };
    ok(&*store, vec![waiting]).await;
    assert_eq!(updated_at(&store).await, 30);
    let mut next = continue_as_new("a", 0, "2");
    if let Op::ContinueAsNew { started, .. } = &mut next {
        started.at = 40;
    }
    ok(&*store, vec![next]).await;
    assert_eq!(updated_at(&store).await, 40);
    let finish = Op::SetStatus {
        instance_id: "a".into(),
        status: Status::Completed,
        output: Some("3".into()),
        at: 50,
    };
    ok(&*store, vec![finish]).await;
    assert_eq!(updated_at(&store).await, 50);
    let account = crate::fixtures::actor("account", "alice");
    let apply = Op::ApplyActors {
        dequeued: Vec::new(),
        atomic: None,
        states: vec![(account.clone(), Some("7".into()))],
        at: 60,
    };
    ok(&*store, vec![apply]).await;
    assert_eq!(store.actor(&account).await.unwrap().unwrap().updated_at, 60);
}
