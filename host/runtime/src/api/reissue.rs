//! Tasks issued again: what a fork or a rewind writes so that a task its
//! history left open (scheduled, never awaited to its end) gets a result
//! again, exactly as the orchestration's own call wrote it the first time.

use super::Runtime;
use crate::error::Error;
use crate::history::{Event, Failure, HistoryEvent, Outcome};
use crate::roles::directory::find;
use crate::store::{ActivityTask, MessageKind, NewMessage, Op, ParentRef, ReplyTo, TimerRecord};

impl Runtime {
    /// The writes that issue the task `scheduled` started again, for task
    /// `to` (the instance, execution and task id its result goes to),
    /// `digest` being the code the instance runs. A name no longer
    /// registered fails the task, as it would have failed the call.
    pub(super) async fn reissue(
        &self,
        to: ParentRef,
        digest: &str,
        scheduled: &HistoryEvent,
    ) -> Result<Vec<Op>, Error> {
        let directory = &*self.shared.code.directory;
        let now = self.shared.now_ms();
        Ok(match &scheduled.event {
            Event::ActivityScheduled {
                name,
                input,
                options,
            } => match find(directory, |d| d.activity(name, digest)).await {
                Some(activity_digest) => vec![Op::ScheduleActivity(ActivityTask {
                    id: 0,
                    instance_id: to.instance_id,
                    execution: to.execution,
                    task: to.task,
                    name: name.clone(),
                    digest: activity_digest,
                    input: input.clone(),
                    options: *options,
                    attempt: 1,
                    visible_at: 0,
                    last_failure: None,
                })],
                None => vec![fail(
                    &to,
                    MessageKind::Activity,
                    format!("no activity named {name:?} is registered"),
                )],
            },
            Event::TimerScheduled { fire_at, .. } => vec![Op::ScheduleTimer(TimerRecord {
                instance_id: to.instance_id,
                execution: to.execution,
                task: to.task,
                fire_at: *fire_at,
            })],
            Event::ChildScheduled {
                name,
                input,
                instance_id,
                ..
            } => match find(directory, |d| d.orchestration(name)).await {
                Some(child_digest) => vec![Op::create_instance(
                    instance_id.clone(),
                    name,
                    child_digest,
                    input,
                    Some(to),
                    now,
                )],
                None => vec![fail(
                    &to,
                    MessageKind::Child,
                    format!("no orchestration named {name:?} is registered"),
                )],
            },
            // Bounded like a client's send: a repair that would overfill a
            // mailbox is refused whole, and can be tried again.
            Event::ActorCalled { operation } => vec![Op::EnqueueActor {
                operation: operation.clone(),
                reply: ReplyTo::Task(to),
                visible_at: 0,
                capacity: Some(directory.mailbox_capacity(&operation.target.kind)),
            }],
            Event::ActorsCalledAtomically { operations } => vec![Op::EnqueueAtomic {
                operations: operations.clone(),
                reply: ReplyTo::Task(to),
                capacity: Some(directory.atomic_capacity(operations)),
            }],
            // An event comes from outside; nothing issues it.
            _ => Vec::new(),
        })
    }
}

/// A task result that fails the task with `why`.
fn fail(to: &ParentRef, kind: MessageKind, why: String) -> Op {
    let outcome: Outcome = Err(Failure::new(why));
    Op::Send(NewMessage::task_result(to, kind, &outcome))
}

/// An external event for `instance_id`: what [`Runtime::raise_event`] sends,
/// and what a fork or a rewind raises again.
pub(super) fn event(instance_id: &str, name: &str, data: &str) -> Op {
    Op::Send(NewMessage {
        instance_id: instance_id.to_owned(),
        execution: None,
        task: None,
        kind: MessageKind::Event,
        name: Some(name.to_owned()),
        payload: data.to_owned(),
    })
}

/// The kind of result the task `scheduled` started gets.
pub(super) fn result_kind(scheduled: &Event) -> Option<MessageKind> {
    Some(match scheduled {
        Event::ActivityScheduled { .. } => MessageKind::Activity,
        Event::TimerScheduled { .. } => MessageKind::Timer,
        Event::ChildScheduled { .. } => MessageKind::Child,
        Event::ActorCalled { .. } | Event::ActorsCalledAtomically { .. } => MessageKind::Actor,
        Event::EventAwaited { .. } => MessageKind::Event,
        _ => return None,
    })
}
