//! Small builders for the cases: records and ops with only what a case
//! cares about spelled out.

use reprise_core::history::{ActivityOptions, Event, HistoryEvent};
use reprise_core::store::{
    ActivityTask, ActorId, ActorOperation, Batch, Committed, InstanceRecord, Lineage, Message,
    MessageKind, NewMessage, Op, ParentRef, Status, Store, StoreError, TimerRecord,
};

/// Commits one batch and waits until it is durable (or refused).
pub(crate) async fn commit(store: &dyn Store, batch: Batch) -> Result<Committed, StoreError> {
    store.commit(batch).await.map_err(|_| StoreError::Closed)?
}

/// Commits one batch that must succeed.
pub(crate) async fn ok(store: &dyn Store, batch: Batch) -> Committed {
    commit(store, batch)
        .await
        .unwrap_or_else(|e| panic!("the batch should commit: {e}"))
}

/// Creates running instance `id` of orchestration `o`, at time 1.
pub(crate) fn create(id: &str) -> Op {
    Op::create_instance(id.into(), "o", "digest".into(), "null", None, 1)
}

/// Creates child instance `id` of `parent`'s task 7.
pub(crate) fn create_child(id: &str, parent: &str) -> Op {
    Op::create_instance(
        id.into(),
        "o",
        "digest".into(),
        "null",
        Some(ParentRef {
            instance_id: parent.into(),
            execution: 0,
            task: 7,
        }),
        1,
    )
}

/// Creates running instance `id`, a fork of `source`'s execution 2 at
/// event #7.
pub(crate) fn create_fork(id: &str, source: &str) -> Op {
    let (mut record, started) =
        InstanceRecord::starting(id.into(), "o", "digest".into(), "null", None, 1);
    record.forked_from = Some(lineage(source));
    Op::CreateInstance { record, started }
}

/// The lineage [`create_fork`] gives its fork of `source`.
pub(crate) fn lineage(source: &str) -> Lineage {
    Lineage {
        instance_id: source.into(),
        execution: 2,
        event: 7,
    }
}

/// An external event for `id`.
pub(crate) fn event(id: &str, name: &str, data: &str) -> Op {
    Op::Send(NewMessage {
        instance_id: id.into(),
        execution: None,
        task: None,
        kind: MessageKind::Event,
        name: Some(name.into()),
        payload: data.into(),
    })
}

/// A task result for execution 0 of `id`.
pub(crate) fn result(id: &str, task: u32, kind: MessageKind, output: &str) -> NewMessage {
    let to = ParentRef {
        instance_id: id.into(),
        execution: 0,
        task,
    };
    NewMessage::task_result(&to, kind, &Ok(output.into()))
}

/// Sets `id`'s status.
pub(crate) fn set_status(id: &str, status: Status) -> Op {
    Op::SetStatus {
        instance_id: id.into(),
        status,
        output: Some("\"done\"".into()),
        at: 1,
    }
}

/// Activity `task` of execution 0 of `id`, first attempt.
pub(crate) fn activity(id: &str, task: u32) -> ActivityTask {
    ActivityTask {
        id: 0,
        instance_id: id.into(),
        execution: 0,
        task,
        name: "a".into(),
        digest: "digest".into(),
        input: "null".into(),
        options: ActivityOptions::default(),
        attempt: 1,
        visible_at: 0,
        last_failure: None,
    }
}

/// Timer `task` of execution 0 of `id`, firing at `fire_at`.
pub(crate) fn timer(id: &str, task: u32, fire_at: u64) -> TimerRecord {
    TimerRecord {
        instance_id: id.into(),
        execution: 0,
        task,
        fire_at,
    }
}

/// Actor `kind/key`.
pub(crate) fn actor(kind: &str, key: &str) -> ActorId {
    ActorId {
        kind: kind.into(),
        key: key.into(),
    }
}

/// Operation `operation` on `target` with input `input`.
pub(crate) fn operation(target: &ActorId, operation: &str, input: &str) -> ActorOperation {
    ActorOperation {
        target: target.clone(),
        operation: operation.into(),
        input: input.into(),
    }
}

/// A history event of execution `seq`, stamped 1.
pub(crate) fn history_event(seq: u32, event: Event) -> HistoryEvent {
    HistoryEvent { seq, at: 1, event }
}

/// The `Started` event of an execution of orchestration `o` with `input`.
pub(crate) fn started(input: &str) -> HistoryEvent {
    history_event(
        0,
        Event::Started {
            name: "o".into(),
            input: input.into(),
            digest: Some("d".into()),
        },
    )
}

/// Moves `id` from `execution` to the next, with `input`.
pub(crate) fn continue_as_new(id: &str, execution: u32, input: &str) -> Op {
    Op::ContinueAsNew {
        instance_id: id.into(),
        execution,
        input: input.into(),
        digest: "d".into(),
        started: started(input),
    }
}

/// The event names and payloads of an inbox, in order.
pub(crate) fn events(inbox: &[Message]) -> Vec<(String, String)> {
    inbox
        .iter()
        .filter(|m| m.kind == MessageKind::Event)
        .map(|m| (m.name.clone().unwrap_or_default(), m.payload.clone()))
        .collect()
}

/// Asserts the result is a conflict.
#[track_caller]
pub(crate) fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Conflict(_))),
        "expected a conflict, got {result:?}"
    );
}

/// Asserts the batch was refused by its fence.
#[track_caller]
pub(crate) fn assert_fenced<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Fenced(_))),
        "expected a refusal by the fence, got {result:?}"
    );
}

/// Asserts the result is a not-found.
#[track_caller]
pub(crate) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "expected not found, got {result:?}"
    );
}
