//! "Why is it stuck?": what a blocked instance awaits, explained from the
//! store alone, without a live guest.
//!
//! The episode that ended in a wait recorded the awaited tasks on the
//! instance ([`Waiting`]). A task's id is the position of the event that
//! scheduled it, so history says what each task is; the rest of the store
//! says how far it got: an activity's attempt and last failure, a timer's
//! due time, a child's status, the operations ahead of an actor call in its
//! mailbox, and whether the result has already arrived (the next episode
//! takes it in).

use std::collections::HashMap;

use serde::Serialize;

use crate::actor::ActorId;
use crate::history::{Event, HistoryEvent};
use crate::store::{
    ActorMessage, AtomicRequest, InstanceRecord, Message, MessageKind, Outstanding, ParentRef,
    ReplyTo, Status,
};
use crate::view::FailureView;

/// What an instance awaits right now.
#[derive(Debug, Serialize)]
pub struct WaitingReport<'a> {
    /// The instance.
    pub instance_id: &'a str,
    /// Its status.
    pub status: Status,
    /// Its current execution.
    pub execution: u32,
    /// When it began to wait, ms since the Unix epoch, if it is waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// The awaited tasks: one, or those raced by `await-any`.
    pub waiting: Vec<Awaited<'a>>,
    /// Why the list is empty, or what else matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// One awaited task.
#[derive(Debug, Serialize)]
pub struct Awaited<'a> {
    /// The task id (the position of the event that scheduled it).
    pub task: u32,
    /// When it was scheduled, ms since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<u64>,
    /// Its result is in the inbox: the next episode takes it in.
    pub arrived: bool,
    /// What the task is and how far it got.
    #[serde(flatten)]
    pub what: AwaitedKind<'a>,
}

/// What an awaited task is, tagged by `kind`.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AwaitedKind<'a> {
    /// An activity.
    Activity {
        /// Activity name.
        name: &'a str,
        /// The attempt queued or running (1 for the first); absent once
        /// the activity has finished.
        #[serde(skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        /// Why the attempt before failed, for a retry.
        #[serde(skip_serializing_if = "Option::is_none")]
        last_failure: Option<FailureView<'a>>,
        /// When a retry may start, while it waits out its backoff.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_attempt_at: Option<u64>,
    },
    /// A durable timer.
    Timer {
        /// When it fires, ms since the Unix epoch.
        fire_at: u64,
    },
    /// An external event, raised by a client.
    Event {
        /// The event name.
        name: &'a str,
    },
    /// A sub-orchestration.
    Child {
        /// Orchestration name.
        name: &'a str,
        /// The child's instance id.
        instance_id: &'a str,
        /// The child's status; absent if it has not been created yet (or
        /// was purged).
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<Status>,
    },
    /// A call to one actor.
    Actor {
        /// `kind/key`.
        actor: String,
        /// Operation name.
        operation: &'a str,
        /// Operations before this call in the actor's mailbox; absent when
        /// the call is not in it (being handled, or its result arrived).
        #[serde(skip_serializing_if = "Option::is_none")]
        mailbox_ahead: Option<u64>,
    },
    /// Operations on several actors, all or nothing.
    Actors {
        /// `kind/key` of each target, in order.
        actors: Vec<String>,
        /// Multi-actor requests before this one; absent when it is not
        /// queued (being handled, or its result arrived).
        #[serde(skip_serializing_if = "Option::is_none")]
        requests_ahead: Option<u64>,
    },
    /// History holds no scheduling event at the task's position: the store
    /// does not match the recorded wait.
    Unknown,
}

/// What the report reads besides the instance's own record, history and
/// inbox: the states of the things it awaits.
#[derive(Debug, Default)]
pub struct Surroundings {
    /// The execution's unfinished activities and timers.
    pub outstanding: Outstanding,
    /// Awaited children's statuses, by instance id (absent: no such instance).
    pub children: HashMap<String, Status>,
    /// The queues of the actors it calls, from their heads.
    pub queues: HashMap<ActorId, Vec<ActorMessage>>,
    /// Queued multi-actor requests, from the head, if it awaits one.
    pub atomic: Vec<AtomicRequest>,
}

/// Everything a [`WaitingReport`] reads, owned: what a runtime gathers
/// from the store to answer "what is it waiting for?".
#[derive(Debug)]
pub struct WaitFacts {
    /// The instance, with its recorded [`crate::store::Waiting`].
    pub record: InstanceRecord,
    /// Its current execution's history.
    pub history: Vec<HistoryEvent>,
    /// Its unconsumed messages.
    pub inbox: Vec<Message>,
    /// The states of what it awaits.
    pub around: Surroundings,
    /// When the facts were read, ms since the Unix epoch.
    pub now: u64,
}

impl WaitFacts {
    /// The report these facts make.
    pub fn report(&self) -> WaitingReport<'_> {
        WaitingReport::new(
            &self.record,
            &self.history,
            &self.inbox,
            &self.around,
            self.now,
        )
    }
}

/// The scheduling events of the tasks `record` awaits in its current
/// execution (`None` where history has no event at a task's position), or
/// nothing when it is not waiting.
pub fn awaited_events<'h>(
    record: &InstanceRecord,
    history: &'h [HistoryEvent],
) -> Vec<(u32, Option<&'h HistoryEvent>)> {
    let Some(waiting) = current_wait(record) else {
        return Vec::new();
    };
    waiting
        .tasks
        .iter()
        .map(|&task| (task, history.iter().find(|e| e.seq == task)))
        .collect()
}

fn current_wait(record: &InstanceRecord) -> Option<&crate::store::Waiting> {
    record
        .waiting
        .as_ref()
        .filter(|w| w.execution == record.execution && !record.status.is_final())
}

impl<'a> WaitingReport<'a> {
    /// Explains what `record` awaits from its current `history`, its `inbox`
    /// and `around`, as of `now` (ms since the Unix epoch).
    pub fn new(
        record: &'a InstanceRecord,
        history: &'a [HistoryEvent],
        inbox: &'a [Message],
        around: &'a Surroundings,
        now: u64,
    ) -> Self {
        let wait = current_wait(record);
        let waiting: Vec<Awaited<'a>> = awaited_events(record, history)
            .into_iter()
            .map(|(task, event)| {
                let to = ParentRef {
                    instance_id: record.id.clone(),
                    execution: record.execution,
                    task,
                };
                awaited(&to, event, inbox, around, now)
            })
            .collect();
        let note = if record.status.is_final() {
            Some("finished: it awaits nothing")
        } else if wait.is_none() && history.len() <= 1 {
            Some("not started yet: its first episode is queued")
        } else if wait.is_none() {
            Some(
                "nothing recorded: an episode is running, or it has not blocked since its last upgrade",
            )
        } else if record.status == Status::Suspended {
            Some("suspended: nothing happens until it is resumed")
        } else if !waiting.is_empty() && waiting.iter().any(|w| w.arrived) {
            Some("a result has arrived: the next episode takes it in")
        } else {
            None
        };
        WaitingReport {
            instance_id: &record.id,
            status: record.status,
            execution: record.execution,
            since: wait.map(|w| w.since),
            waiting,
            note,
        }
    }
}

fn awaited<'a>(
    to: &ParentRef,
    event: Option<&'a HistoryEvent>,
    inbox: &'a [Message],
    around: &'a Surroundings,
    now: u64,
) -> Awaited<'a> {
    let task = to.task;
    let result_arrived = inbox.iter().any(|m| {
        m.kind != MessageKind::Event && m.execution == Some(to.execution) && m.task == Some(task)
    });
    let reply = ReplyTo::Task(to.clone());
    let mut arrived = result_arrived;
    let what = match event.map(|e| &e.event) {
        Some(Event::ActivityScheduled { name, .. }) => {
            let queued = around
                .outstanding
                .activities
                .iter()
                .find(|t| t.task == task);
            AwaitedKind::Activity {
                name,
                attempt: queued.map(|t| t.attempt),
                last_failure: queued
                    .and_then(|t| t.last_failure.as_ref())
                    .map(FailureView::from),
                next_attempt_at: queued.map(|t| t.visible_at).filter(|&at| at > now),
            }
        }
        Some(Event::TimerScheduled { fire_at, .. }) => AwaitedKind::Timer { fire_at: *fire_at },
        Some(Event::EventAwaited { name }) => {
            // Held in the inbox while the instance is suspended.
            arrived = inbox
                .iter()
                .any(|m| m.kind == MessageKind::Event && m.name.as_deref() == Some(name));
            AwaitedKind::Event { name }
        }
        Some(Event::ChildScheduled {
            name, instance_id, ..
        }) => AwaitedKind::Child {
            name,
            instance_id,
            status: around.children.get(instance_id).copied(),
        },
        Some(Event::ActorCalled { operation }) => {
            let queue = around.queues.get(&operation.target);
            AwaitedKind::Actor {
                actor: operation.target.to_string(),
                operation: &operation.operation,
                mailbox_ahead: queue
                    .and_then(|q| q.iter().position(|m| m.reply == reply))
                    .map(|ahead| ahead as u64),
            }
        }
        Some(Event::ActorsCalledAtomically { operations }) => AwaitedKind::Actors {
            actors: operations.iter().map(|op| op.target.to_string()).collect(),
            requests_ahead: around
                .atomic
                .iter()
                .position(|r| r.reply == reply)
                .map(|ahead| ahead as u64),
        },
        _ => AwaitedKind::Unknown,
    };
    Awaited {
        task,
        scheduled_at: event.map(|e| e.at),
        arrived,
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::ActorOperation;
    use crate::history::Failure;
    use crate::store::{ActivityTask, TimerRecord, Waiting};

    fn at(seq: u32, at: u64, event: Event) -> HistoryEvent {
        HistoryEvent { seq, at, event }
    }

    fn record(status: Status, tasks: &[u32]) -> InstanceRecord {
        let (mut record, _) =
            InstanceRecord::starting("i".into(), "o", "d".into(), "null", None, 1);
        record.status = status;
        record.waiting = Some(Waiting {
            execution: 0,
            tasks: tasks.to_vec(),
            since: 50,
        });
        record
    }

    fn account(key: &str) -> ActorId {
        ActorId {
            kind: "account".into(),
            key: key.into(),
        }
    }

    fn history() -> Vec<HistoryEvent> {
        let call = |key: &str| ActorOperation {
            target: account(key),
            operation: "withdraw".into(),
            input: "1".into(),
        };
        vec![
            at(
                0,
                1,
                Event::Started {
                    name: "o".into(),
                    input: "null".into(),
                    digest: None,
                },
            ),
            at(
                1,
                10,
                Event::ActivityScheduled {
                    name: "charge".into(),
                    input: "1".into(),
                    options: Default::default(),
                },
            ),
            at(
                2,
                11,
                Event::TimerScheduled {
                    delay_ms: 100,
                    fire_at: 111,
                },
            ),
            at(
                3,
                12,
                Event::EventAwaited {
                    name: "approval".into(),
                },
            ),
            at(
                4,
                13,
                Event::ChildScheduled {
                    name: "ship".into(),
                    input: "null".into(),
                    instance_id: "i:4".into(),
                    explicit_id: false,
                },
            ),
            at(
                5,
                14,
                Event::ActorCalled {
                    operation: call("a"),
                },
            ),
            at(
                6,
                15,
                Event::ActorsCalledAtomically {
                    operations: vec![call("a"), call("b")],
                },
            ),
            at(7, 16, Event::Now { ms: 16 }),
        ]
    }

    fn surroundings() -> Surroundings {
        let reply = |task| {
            ReplyTo::Task(ParentRef {
                instance_id: "i".into(),
                execution: 0,
                task,
            })
        };
        let queued = |id, reply| ActorMessage {
            id,
            operation: ActorOperation {
                target: account("a"),
                operation: "deposit".into(),
                input: "1".into(),
            },
            reply,
            atomic: None,
        };
        Surroundings {
            outstanding: Outstanding {
                activities: vec![ActivityTask {
                    id: 9,
                    instance_id: "i".into(),
                    execution: 0,
                    task: 1,
                    name: "charge".into(),
                    digest: "d".into(),
                    input: "1".into(),
                    options: Default::default(),
                    attempt: 3,
                    visible_at: 5_000,
                    last_failure: Some(Failure::new("card declined")),
                }],
                timers: vec![TimerRecord {
                    instance_id: "i".into(),
                    execution: 0,
                    task: 2,
                    fire_at: 111,
                }],
            },
            children: [("i:4".to_owned(), Status::Running)].into(),
            queues: [(
                account("a"),
                vec![
                    queued(20, ReplyTo::Nobody),
                    queued(21, ReplyTo::Client("c".into())),
                    queued(22, reply(5)),
                ],
            )]
            .into(),
            atomic: vec![AtomicRequest {
                id: 1,
                operations: vec![],
                reply: reply(6),
            }],
        }
    }

    #[test]
    fn each_kind_of_task_is_explained_from_the_store() {
        let record = record(Status::Running, &[1, 2, 3, 4, 5, 6, 7]);
        let history = history();
        let around = surroundings();
        let report = WaitingReport::new(&record, &history, &[], &around, 1_000);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "instance_id": "i", "status": "running", "execution": 0, "since": 50,
                "waiting": [
                    {"task": 1, "scheduled_at": 10, "arrived": false, "kind": "activity",
                     "name": "charge", "attempt": 3, "last_failure": {"message": "card declined"},
                     "next_attempt_at": 5000},
                    {"task": 2, "scheduled_at": 11, "arrived": false, "kind": "timer", "fire_at": 111},
                    {"task": 3, "scheduled_at": 12, "arrived": false, "kind": "event", "name": "approval"},
                    {"task": 4, "scheduled_at": 13, "arrived": false, "kind": "child", "name": "ship",
                     "instance_id": "i:4", "status": "running"},
                    {"task": 5, "scheduled_at": 14, "arrived": false, "kind": "actor",
                     "actor": "account/a", "operation": "withdraw", "mailbox_ahead": 2},
                    {"task": 6, "scheduled_at": 15, "arrived": false, "kind": "actors",
                     "actors": ["account/a", "account/b"], "requests_ahead": 0},
                    {"task": 7, "scheduled_at": 16, "arrived": false, "kind": "unknown"},
                ],
            })
        );
    }

    #[test]
    fn arrived_results_and_events_are_told_apart_from_pending_ones() {
        let record = record(Status::Suspended, &[1, 3]);
        let history = history();
        let message = |kind, task: Option<u32>, name: Option<&str>| Message {
            id: 1,
            instance_id: "i".into(),
            execution: task.map(|_| 0),
            task,
            kind,
            name: name.map(str::to_owned),
            payload: "null".into(),
        };
        let inbox = [
            message(MessageKind::Activity, Some(1), None),
            message(MessageKind::Event, None, Some("other")),
        ];
        let around = Surroundings::default();
        let report = WaitingReport::new(&record, &history, &inbox, &around, 1_000);
        let arrived: Vec<(u32, bool)> =
            report.waiting.iter().map(|w| (w.task, w.arrived)).collect();
        assert_eq!(arrived, [(1, true), (3, false)]);
        assert_eq!(
            report.note,
            Some("suspended: nothing happens until it is resumed")
        );
        let inbox = [message(MessageKind::Event, None, Some("approval"))];
        let report = WaitingReport::new(&record, &history, &inbox, &around, 1_000);
        assert!(report.waiting[1].arrived, "an event held while suspended");
    }

    #[test]
    fn a_wait_of_another_execution_or_a_finished_instance_is_not_shown() {
        let history = history();
        let around = Surroundings::default();
        let finished = record(Status::Completed, &[1]);
        let report = WaitingReport::new(&finished, &history, &[], &around, 0);
        assert!(report.waiting.is_empty() && report.since.is_none());
        assert_eq!(report.note, Some("finished: it awaits nothing"));

        let mut moved_on = record(Status::Running, &[1]);
        moved_on.execution = 1;
        let report = WaitingReport::new(&moved_on, &history, &[], &around, 0);
        assert!(report.waiting.is_empty());

        let mut fresh = record(Status::Running, &[]);
        fresh.waiting = None;
        let report = WaitingReport::new(&fresh, &history[..1], &[], &around, 0);
        assert_eq!(
            report.note,
            Some("not started yet: its first episode is queued")
        );
    }
}
