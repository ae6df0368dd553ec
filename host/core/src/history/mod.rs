//! History events: the append-only record of one execution of an instance.
//!
//! Plain data with no I/O. Invariants:
//! - position 0 of every execution is [`Event::Started`];
//! - every other position holds one call the orchestration made, in the order
//!   it made them, with the answer the host gave; a task's id is the position
//!   of the call that scheduled it;
//! - [`Event::Completed`], [`Event::Failed`] and [`Event::ContinuedAsNew`] are
//!   last when present;
//! - markers record what was done to an execution, not a call: an
//!   [`Event::Upgraded`] where it moved to new code, an [`Event::Forked`]
//!   where a fork's copied history ends, an [`Event::Rewound`] where a
//!   rewind cut it. Replay steps over them, and the calls after them keep
//!   their own positions.

pub mod codec;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actor::ActorOperation;

/// What a finished task, orchestration or activity produced: JSON text, or a failure.
pub type Outcome = Result<String, Failure>;

/// Why something failed, as the guest sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// One line for a person to read.
    pub message: String,
    /// Optional machine-readable details, as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl Failure {
    /// A failure with just a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: None,
        }
    }
}

/// How a failed activity is retried.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds.
    pub first_retry_ms: u64,
    /// Each further delay is the previous one times this.
    pub backoff_coefficient: f64,
    /// Cap on any one delay, in milliseconds.
    pub max_retry_ms: u64,
}

impl RetryPolicy {
    /// The delay before attempt `next_attempt` (2 for the first retry), or
    /// `None` when no attempts are left.
    pub fn delay_before(&self, next_attempt: u32) -> Option<u64> {
        if next_attempt > self.max_attempts {
            return None;
        }
        let exponent = i32::try_from(next_attempt.saturating_sub(2)).unwrap_or(i32::MAX);
        let delay = self.first_retry_ms as f64 * self.backoff_coefficient.max(1.0).powi(exponent);
        Some((delay as u64).min(self.max_retry_ms.max(self.first_retry_ms)))
    }
}

/// How an activity is run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ActivityOptions {
    /// `None`: a single attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Time limit of one attempt in milliseconds; `None` takes the host default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// One entry of an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The execution began.
    Started {
        /// Orchestration name.
        name: String,
        /// Input, JSON.
        input: String,
        /// The component the execution started on; `None` in histories
        /// written before executions recorded it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// `schedule-activity`.
    ActivityScheduled {
        /// Activity name.
        name: String,
        /// Input, JSON.
        input: String,
        /// Retry and timeout.
        options: ActivityOptions,
    },
    /// `schedule-timer`.
    TimerScheduled {
        /// The requested delay.
        delay_ms: u64,
        /// When it fires, in ms since the Unix epoch.
        fire_at: u64,
    },
    /// `schedule-orchestration`.
    ChildScheduled {
        /// Orchestration name.
        name: String,
        /// Input, JSON.
        input: String,
        /// The child's instance id.
        instance_id: String,
        /// Whether the id was chosen by the orchestration (else derived).
        explicit_id: bool,
    },
    /// `call-actor`: the task's result is the operation's output.
    ActorCalled {
        /// The operation.
        operation: ActorOperation,
    },
    /// `signal-actor`: one-way.
    ActorSignaled {
        /// The operation.
        operation: ActorOperation,
    },
    /// `call-actors-atomically`.
    ActorsCalledAtomically {
        /// The operations, in order.
        operations: Vec<ActorOperation>,
    },
    /// `wait-event`.
    EventAwaited {
        /// The event name.
        name: String,
    },
    /// `await-task`, with what the task produced.
    TaskAwaited {
        /// The awaited task.
        task: u32,
        /// Its result.
        outcome: Outcome,
    },
    /// `await-any`, with the first task to finish and what it produced.
    AnyAwaited {
        /// The raced tasks.
        tasks: Vec<u32>,
        /// Index of the winner in `tasks`.
        winner: u32,
        /// The winner's result.
        outcome: Outcome,
    },
    /// `now-ms`.
    Now {
        /// The value returned.
        ms: u64,
    },
    /// `random-u64`.
    Random {
        /// The value returned.
        value: u64,
    },
    /// `new-uuid`.
    Uuid {
        /// The value returned.
        value: String,
    },
    /// `set-custom-status`.
    CustomStatus {
        /// The new status, JSON, or `None` to clear.
        status: Option<String>,
    },
    /// `continue-as-new`: the last event of this execution.
    ContinuedAsNew {
        /// Input of the next execution.
        input: String,
    },
    /// The orchestration returned a value.
    Completed {
        /// Output, JSON.
        output: String,
    },
    /// The orchestration failed (returned a failure, trapped, or diverged from history).
    Failed {
        /// Why.
        failure: Failure,
    },
    /// The execution moved to new code here, after its recorded history
    /// replayed against that code without a difference (an upgrade). Not a
    /// call: replay steps over it.
    Upgraded {
        /// The digest it ran before.
        from: String,
        /// The digest it runs from here on.
        to: String,
    },
    /// The history before this point was copied from another instance's
    /// (a fork), whose events after `event` this instance does not share.
    /// Not a call: replay steps over it.
    Forked {
        /// The instance forked.
        instance_id: String,
        /// Its execution.
        execution: u32,
        /// The last of its events copied here.
        event: u32,
    },
    /// A rewind cut the failed execution here: `cut` holds the events it
    /// removed, from the await that returned the failure to `Failed`, kept
    /// as they were. The execution goes on from here as if they had never
    /// happened. Not a call: replay steps over it.
    Rewound {
        /// The removed events, in order, with their own positions.
        cut: Vec<HistoryEvent>,
    },
}

/// What replay compares at each position: the kind of call, its name and a
/// digest of its arguments. Answers (results, random values) are not part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSignature {
    /// The kind of call, e.g. `activity`.
    pub kind: &'static str,
    /// Name of the activity, orchestration or event; empty when there is none.
    pub name: String,
    /// First 8 bytes of the SHA-256 of the arguments, hex.
    pub args_digest: String,
}

impl std::fmt::Display for CallSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.name.is_empty() {
            write!(f, " {:?}", self.name)?;
        }
        write!(f, " (args {})", self.args_digest)
    }
}

/// The signature of a call with these arguments.
pub fn signature(kind: &'static str, name: &str, args: &[&[u8]]) -> CallSignature {
    let mut hash = Sha256::new();
    for arg in args {
        hash.update((arg.len() as u64).to_le_bytes());
        hash.update(arg);
    }
    CallSignature {
        kind,
        name: name.to_owned(),
        args_digest: hex::encode(&hash.finalize()[..8]),
    }
}

/// Named after the first target (`account/alice withdraw`); every
/// operation's target, name and input are arguments.
fn actor_call<R>(
    kind: &'static str,
    operations: &[ActorOperation],
    visit: impl FnOnce(&'static str, &str, &[&[u8]]) -> R,
) -> R {
    let name = operations
        .first()
        .map(|op| format!("{} {}", op.target, op.operation))
        .unwrap_or_default();
    let args: Vec<&[u8]> = operations
        .iter()
        .flat_map(|op| {
            [
                op.target.kind.as_bytes(),
                op.target.key.as_bytes(),
                op.operation.as_bytes(),
                op.input.as_bytes(),
            ]
        })
        .collect();
    visit(kind, &name, &args)
}

impl ActivityOptions {
    /// The options as fixed-width bytes, for comparing calls.
    fn to_bytes(self) -> [u8; 41] {
        let mut bytes = [0u8; 41];
        if let Some(retry) = self.retry {
            bytes[0] = 1;
            bytes[1..5].copy_from_slice(&retry.max_attempts.to_le_bytes());
            bytes[5..13].copy_from_slice(&retry.first_retry_ms.to_le_bytes());
            bytes[13..21].copy_from_slice(&retry.backoff_coefficient.to_bits().to_le_bytes());
            bytes[21..29].copy_from_slice(&retry.max_retry_ms.to_le_bytes());
        }
        if let Some(timeout) = self.timeout_ms {
            bytes[29] = 1;
            bytes[30..38].copy_from_slice(&timeout.to_le_bytes());
        }
        bytes
    }
}

impl Event {
    /// Whether this event records a call (rather than framing an execution
    /// or marking a move to new code).
    pub fn is_call(&self) -> bool {
        !matches!(
            self,
            Event::Started { .. }
                | Event::Completed { .. }
                | Event::Failed { .. }
                | Event::Upgraded { .. }
                | Event::Forked { .. }
                | Event::Rewound { .. }
        )
    }

    /// Whether this event is a marker within an execution that replay steps
    /// over ([`Event::Upgraded`]).
    pub fn is_marker(&self) -> bool {
        matches!(
            self,
            Event::Upgraded { .. } | Event::Forked { .. } | Event::Rewound { .. }
        )
    }

    /// Hands the call this event records to `visit` as its kind, name and
    /// arguments (answers such as results and random values are not
    /// arguments); `None` for the events that frame an execution.
    fn visit_call<R>(&self, visit: impl FnOnce(&'static str, &str, &[&[u8]]) -> R) -> Option<R> {
        Some(match self {
            Event::Started { .. }
            | Event::Completed { .. }
            | Event::Failed { .. }
            | Event::Upgraded { .. }
            | Event::Forked { .. }
            | Event::Rewound { .. } => return None,
            Event::ActivityScheduled {
                name,
                input,
                options,
            } => visit("activity", name, &[input.as_bytes(), &options.to_bytes()]),
            Event::TimerScheduled { delay_ms, .. } => {
                visit("timer", "", &[&delay_ms.to_le_bytes()])
            }
            Event::ChildScheduled {
                name,
                input,
                instance_id,
                explicit_id,
            } => {
                let id: &[u8] = if *explicit_id {
                    instance_id.as_bytes()
                } else {
                    b""
                };
                visit("orchestration", name, &[input.as_bytes(), id])
            }
            Event::ActorCalled { operation } => {
                actor_call("call-actor", std::slice::from_ref(operation), visit)
            }
            Event::ActorSignaled { operation } => {
                actor_call("signal-actor", std::slice::from_ref(operation), visit)
            }
            Event::ActorsCalledAtomically { operations } => {
                actor_call("call-actors-atomically", operations, visit)
            }
            Event::EventAwaited { name } => visit("wait-event", name, &[]),
            Event::TaskAwaited { task, .. } => visit("await-task", "", &[&task.to_le_bytes()]),
            Event::AnyAwaited { tasks, .. } => {
                let ids: Vec<u8> = tasks.iter().flat_map(|t| t.to_le_bytes()).collect();
                visit("await-any", "", &[&ids])
            }
            Event::Now { .. } => visit("now", "", &[]),
            Event::Random { .. } => visit("random", "", &[]),
            Event::Uuid { .. } => visit("uuid", "", &[]),
            Event::CustomStatus { status } => visit(
                "custom-status",
                "",
                &[status.as_deref().unwrap_or("").as_bytes()],
            ),
            Event::ContinuedAsNew { input } => visit("continue-as-new", "", &[input.as_bytes()]),
        })
    }

    /// The call this event records, or `None` for the events that frame an
    /// execution rather than record a call.
    pub fn signature(&self) -> Option<CallSignature> {
        self.visit_call(signature)
    }

    /// Whether both events record the same call: same kind, name and
    /// arguments, whatever the answers. What replay checks at each position;
    /// cheaper than comparing signatures, which hash the arguments.
    pub fn same_call(&self, other: &Event) -> bool {
        self.visit_call(|kind, name, args| {
            other.visit_call(|other_kind, other_name, other_args| {
                kind == other_kind && name == other_name && args == other_args
            })
        })
        .flatten()
        .unwrap_or(false)
    }
}

/// An event with its place in history and the time it was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// Position within the execution, from 0.
    pub seq: u32,
    /// When it was recorded, ms since the Unix epoch. Replay sets the
    /// orchestration's clock from this, so it must never be re-read live.
    pub at: u64,
    /// What happened.
    pub event: Event,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_stop() {
        let policy = RetryPolicy {
            max_attempts: 4,
            first_retry_ms: 100,
            backoff_coefficient: 2.0,
            max_retry_ms: 300,
        };
        assert_eq!(policy.delay_before(2), Some(100));
        assert_eq!(policy.delay_before(3), Some(200));
        assert_eq!(policy.delay_before(4), Some(300));
        assert_eq!(policy.delay_before(5), None);
    }

    #[test]
    fn signature_ignores_answers_but_not_arguments() {
        let a = Event::TaskAwaited {
            task: 1,
            outcome: Ok("1".into()),
        };
        let b = Event::TaskAwaited {
            task: 1,
            outcome: Ok("2".into()),
        };
        let c = Event::TaskAwaited {
            task: 2,
            outcome: Ok("1".into()),
        };
        assert_eq!(a.signature(), b.signature());
        assert_ne!(a.signature(), c.signature());
        assert!(a.same_call(&b));
        assert!(!a.same_call(&c));
        let timeout = |ms| Event::ActivityScheduled {
            name: "a".into(),
            input: "{}".into(),
            options: ActivityOptions {
                retry: None,
                timeout_ms: ms,
            },
        };
        assert!(timeout(Some(5)).same_call(&timeout(Some(5))));
        assert!(!timeout(Some(5)).same_call(&timeout(None)));
        assert_ne!(timeout(Some(5)).signature(), timeout(None).signature());
    }

    #[test]
    fn events_round_trip_through_json() {
        let event = Event::ActivityScheduled {
            name: "a".into(),
            input: "{}".into(),
            options: ActivityOptions::default(),
        };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), event);
    }
}
