//! The JSON that people and programs read: instances and history events
//! with their payloads embedded as JSON values, not as JSON text inside
//! strings, so a script parses the output once.
//!
//! Records keep payloads as text (they cross the WIT boundary and the store
//! as text); these views borrow a record and serialise it. Payloads were
//! checked to be JSON when they entered; a stored payload that is not is
//! shown as a string rather than hidden.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::history::{ActivityOptions, Event, Failure, HistoryEvent, Outcome};
use crate::store::{ActorOperation, InstanceRecord, Lineage, ParentRef, Status};

/// A JSON payload embedded as it is.
fn raw(text: &str) -> Box<RawValue> {
    RawValue::from_string(text.to_owned()).unwrap_or_else(|_| {
        RawValue::from_string(serde_json::Value::from(text).to_string())
            .expect("a JSON string is JSON")
    })
}

/// A [`Failure`] with its details as JSON.
#[derive(Debug, Serialize)]
pub struct FailureView<'a> {
    /// One line for a person.
    pub message: &'a str,
    /// Machine-readable details (for a trap: `trap`, `backtrace`, `stderr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Box<RawValue>>,
}

impl<'a> From<&'a Failure> for FailureView<'a> {
    fn from(failure: &'a Failure) -> Self {
        Self {
            message: &failure.message,
            details: failure.details.as_deref().map(raw),
        }
    }
}

/// What a finished task produced: `{"output": …}` or `{"failure": …}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeView<'a> {
    /// It succeeded with this output.
    Output(Box<RawValue>),
    /// It failed.
    Failure(FailureView<'a>),
}

impl<'a> From<&'a Outcome> for OutcomeView<'a> {
    fn from(outcome: &'a Outcome) -> Self {
        match outcome {
            Ok(output) => OutcomeView::Output(raw(output)),
            Err(failure) => OutcomeView::Failure(failure.into()),
        }
    }
}

/// An instance as `reprise status` prints it.
#[derive(Debug, Serialize)]
pub struct InstanceView<'a> {
    /// Unique id.
    pub id: &'a str,
    /// Orchestration name.
    pub name: &'a str,
    /// The component its current execution runs.
    pub digest: &'a str,
    /// Whether it stays on that code when it continues as new.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
    /// Current execution.
    pub execution: u32,
    /// Lifecycle.
    pub status: Status,
    /// Input of the current execution.
    pub input: Box<RawValue>,
    /// The output when completed; the reason when terminated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Box<RawValue>>,
    /// Why it failed, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureView<'a>>,
    /// Set by the orchestration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_status: Option<Box<RawValue>>,
    /// Set for sub-orchestrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<&'a ParentRef>,
    /// Set for forks: where its history came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<&'a Lineage>,
    /// ms since the Unix epoch.
    pub created_at: u64,
    /// ms since the Unix epoch.
    pub updated_at: u64,
}

impl<'a> InstanceView<'a> {
    /// The view of `record`; `failure` is its parsed failure (see
    /// [`InstanceRecord::failure`]), borrowed so the view can point into it.
    pub fn new(record: &'a InstanceRecord, failure: Option<&'a Failure>) -> Self {
        let output = match record.status {
            Status::Failed => None,
            _ => record.output.as_deref().map(raw),
        };
        Self {
            id: &record.id,
            name: &record.name,
            digest: &record.digest,
            pinned: record.pinned,
            execution: record.execution,
            status: record.status,
            input: raw(&record.input),
            output,
            failure: failure.map(FailureView::from),
            custom_status: record.custom_status.as_deref().map(raw),
            parent: record.parent.as_ref(),
            forked_from: record.forked_from.as_ref(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// An actor operation with its input as JSON.
#[derive(Debug, Serialize)]
pub struct OperationView<'a> {
    /// `kind/key`.
    pub actor: String,
    /// Operation name.
    pub operation: &'a str,
    /// Input.
    pub input: Box<RawValue>,
}

impl<'a> From<&'a ActorOperation> for OperationView<'a> {
    fn from(operation: &'a ActorOperation) -> Self {
        Self {
            actor: operation.target.to_string(),
            operation: &operation.operation,
            input: raw(&operation.input),
        }
    }
}

/// A history event as `reprise history --json` prints it: its position,
/// time, the task it belongs to and what happened, with payloads as JSON.
#[derive(Debug, Serialize)]
pub struct EventView<'a> {
    /// Position in the execution.
    pub seq: u32,
    /// ms since the Unix epoch.
    pub at: u64,
    /// The task this event schedules, or whose result it takes in; see
    /// [`task_of`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<u32>,
    /// What happened.
    #[serde(flatten)]
    pub event: EventKindView<'a>,
}

/// The body of an [`EventView`], tagged by `type` as [`Event`] is. A
/// `task_awaited` names its task in the view's `task`, once.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EventKindView<'a> {
    Started {
        name: &'a str,
        input: Box<RawValue>,
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<&'a str>,
    },
    ActivityScheduled {
        name: &'a str,
        input: Box<RawValue>,
        options: &'a ActivityOptions,
    },
    TimerScheduled {
        delay_ms: u64,
        fire_at: u64,
    },
    ChildScheduled {
        name: &'a str,
        input: Box<RawValue>,
        instance_id: &'a str,
    },
    ActorCalled {
        operation: OperationView<'a>,
    },
    ActorSignaled {
        operation: OperationView<'a>,
    },
    ActorsCalledAtomically {
        operations: Vec<OperationView<'a>>,
    },
    EventAwaited {
        name: &'a str,
    },
    TaskAwaited {
        #[serde(flatten)]
        outcome: OutcomeView<'a>,
    },
    AnyAwaited {
        tasks: &'a [u32],
        winner: u32,
        #[serde(flatten)]
        outcome: OutcomeView<'a>,
    },
    Now {
        ms: u64,
    },
    Random {
        value: u64,
    },
    Uuid {
        value: &'a str,
    },
    CustomStatus {
        status: Option<Box<RawValue>>,
    },
    ContinuedAsNew {
        input: Box<RawValue>,
    },
    Completed {
        output: Box<RawValue>,
    },
    Failed {
        failure: FailureView<'a>,
    },
    Upgraded {
        from: &'a str,
        to: &'a str,
    },
    Forked {
        instance_id: &'a str,
        execution: u32,
        event: u32,
    },
    Rewound {
        cut: Vec<EventView<'a>>,
    },
}

impl<'a> From<&'a HistoryEvent> for EventView<'a> {
    fn from(event: &'a HistoryEvent) -> Self {
        use EventKindView as V;
        let body = match &event.event {
            Event::Started {
                name,
                input,
                digest,
            } => V::Started {
                name,
                input: raw(input),
                digest: digest.as_deref(),
            },
            Event::ActivityScheduled {
                name,
                input,
                options,
            } => V::ActivityScheduled {
                name,
                input: raw(input),
                options,
            },
            Event::TimerScheduled { delay_ms, fire_at } => V::TimerScheduled {
                delay_ms: *delay_ms,
                fire_at: *fire_at,
            },
            Event::ChildScheduled {
                name,
                input,
                instance_id,
                ..
            } => V::ChildScheduled {
                name,
                input: raw(input),
                instance_id,
            },
            Event::ActorCalled { operation } => V::ActorCalled {
                operation: operation.into(),
            },
            Event::ActorSignaled { operation } => V::ActorSignaled {
                operation: operation.into(),
            },
            Event::ActorsCalledAtomically { operations } => V::ActorsCalledAtomically {
                operations: operations.iter().map(OperationView::from).collect(),
            },
            Event::EventAwaited { name } => V::EventAwaited { name },
            Event::TaskAwaited { outcome, .. } => V::TaskAwaited {
                outcome: outcome.into(),
            },
            Event::AnyAwaited {
                tasks,
                winner,
                outcome,
            } => V::AnyAwaited {
                tasks,
                winner: *winner,
                outcome: outcome.into(),
            },
            Event::Now { ms } => V::Now { ms: *ms },
            Event::Random { value } => V::Random { value: *value },
            Event::Uuid { value } => V::Uuid { value },
            Event::CustomStatus { status } => V::CustomStatus {
                status: status.as_deref().map(raw),
            },
            Event::ContinuedAsNew { input } => V::ContinuedAsNew { input: raw(input) },
            Event::Completed { output } => V::Completed {
                output: raw(output),
            },
            Event::Failed { failure } => V::Failed {
                failure: failure.into(),
            },
            Event::Upgraded { from, to } => V::Upgraded { from, to },
            Event::Forked {
                instance_id,
                execution,
                event,
            } => V::Forked {
                instance_id,
                execution: *execution,
                event: *event,
            },
            Event::Rewound { cut } => V::Rewound {
                cut: cut.iter().map(EventView::from).collect(),
            },
        };
        EventView {
            seq: event.seq,
            at: event.at,
            task: task_of(event),
            event: body,
        }
    }
}

/// The task `event` belongs to, so that a reader pairs a task's start and
/// end without knowing which events start one: the event's own position
/// for a call that schedules a task (a task's id is that position), the
/// awaited task for `await-task`, the winner for `await-any`; `None` for
/// the rest, a signal included (it is one-way).
pub fn task_of(event: &HistoryEvent) -> Option<u32> {
    match &event.event {
        Event::ActivityScheduled { .. }
        | Event::TimerScheduled { .. }
        | Event::ChildScheduled { .. }
        | Event::ActorCalled { .. }
        | Event::ActorsCalledAtomically { .. }
        | Event::EventAwaited { .. } => Some(event.seq),
        Event::TaskAwaited { task, .. } => Some(*task),
        Event::AnyAwaited { tasks, winner, .. } => usize::try_from(*winner)
            .ok()
            .and_then(|i| tasks.get(i))
            .copied(),
        Event::Started { .. }
        | Event::ActorSignaled { .. }
        | Event::Now { .. }
        | Event::Random { .. }
        | Event::Uuid { .. }
        | Event::CustomStatus { .. }
        | Event::ContinuedAsNew { .. }
        | Event::Completed { .. }
        | Event::Failed { .. }
        | Event::Upgraded { .. }
        | Event::Forked { .. }
        | Event::Rewound { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_embedded_and_keep_their_key_order() {
        let event = HistoryEvent {
            seq: 3,
            at: 7,
            event: Event::TaskAwaited {
                task: 1,
                outcome: Ok(r#"{"z":1,"a":[true]}"#.into()),
            },
        };
        let text = serde_json::to_string(&EventView::from(&event)).unwrap();
        assert_eq!(
            text,
            r#"{"seq":3,"at":7,"task":1,"type":"task_awaited","output":{"z":1,"a":[true]}}"#
        );
    }

    fn at(seq: u32, event: Event) -> HistoryEvent {
        HistoryEvent { seq, at: 0, event }
    }

    fn operation() -> ActorOperation {
        ActorOperation {
            target: crate::actor::ActorId {
                kind: "account".into(),
                key: "alice".into(),
            },
            operation: "deposit".into(),
            input: "1".into(),
        }
    }

    #[test]
    fn a_call_that_schedules_a_task_belongs_to_the_task_of_its_own_position() {
        let scheduling = [
            Event::ActivityScheduled {
                name: "a".into(),
                input: "null".into(),
                options: ActivityOptions::default(),
            },
            Event::TimerScheduled {
                delay_ms: 5,
                fire_at: 10,
            },
            Event::ChildScheduled {
                name: "c".into(),
                input: "null".into(),
                instance_id: "child".into(),
                explicit_id: false,
            },
            Event::ActorCalled {
                operation: operation(),
            },
            Event::ActorsCalledAtomically {
                operations: vec![operation(), operation()],
            },
            Event::EventAwaited {
                name: "approval".into(),
            },
        ];
        for (seq, event) in (1..).zip(scheduling) {
            let event = at(seq, event);
            assert_eq!(task_of(&event), Some(seq), "{event:?}");
            let view = serde_json::to_value(EventView::from(&event)).unwrap();
            assert_eq!(view["task"], seq, "{view}");
        }
    }

    #[test]
    fn an_await_belongs_to_the_task_it_takes_in_a_race_to_its_winner() {
        let awaited = at(
            4,
            Event::TaskAwaited {
                task: 2,
                outcome: Ok("7".into()),
            },
        );
        assert_eq!(task_of(&awaited), Some(2));
        let raced = |winner| {
            at(
                9,
                Event::AnyAwaited {
                    tasks: vec![5, 6],
                    winner,
                    outcome: Ok("true".into()),
                },
            )
        };
        assert_eq!(task_of(&raced(0)), Some(5));
        assert_eq!(task_of(&raced(1)), Some(6));
        assert_eq!(task_of(&raced(2)), None, "a winner outside the race");
        let text = serde_json::to_string(&EventView::from(&raced(1))).unwrap();
        assert_eq!(
            text,
            r#"{"seq":9,"at":0,"task":6,"type":"any_awaited","tasks":[5,6],"winner":1,"output":true}"#
        );
    }

    #[test]
    fn events_of_no_task_carry_none_a_signal_included() {
        let none = [
            Event::Started {
                name: "o".into(),
                input: "null".into(),
                digest: None,
            },
            Event::Upgraded {
                from: "a".into(),
                to: "b".into(),
            },
            Event::ActorSignaled {
                operation: operation(),
            },
            Event::Now { ms: 1 },
            Event::Random { value: 2 },
            Event::Uuid { value: "u".into() },
            Event::CustomStatus { status: None },
            Event::ContinuedAsNew {
                input: "null".into(),
            },
            Event::Completed {
                output: "null".into(),
            },
            Event::Failed {
                failure: Failure::new("boom"),
            },
        ];
        for event in none {
            let event = at(3, event);
            assert_eq!(task_of(&event), None, "{event:?}");
            let view = serde_json::to_value(EventView::from(&event)).unwrap();
            assert!(view.get("task").is_none(), "{view}");
        }
    }

    #[test]
    fn a_failure_shows_its_details_as_json_and_text_that_is_not_json_as_a_string() {
        let failure = Failure {
            message: "boom".into(),
            details: Some(r#"{"backtrace":["f"]}"#.into()),
        };
        let text = serde_json::to_string(&FailureView::from(&failure)).unwrap();
        assert_eq!(text, r#"{"message":"boom","details":{"backtrace":["f"]}}"#);
        assert_eq!(raw("not json").get(), r#""not json""#);
    }
}
