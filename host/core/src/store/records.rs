//! What the store keeps: instances, messages, tasks, timers, actors and
//! registrations, as plain data.

use serde::{Deserialize, Serialize};

use crate::actor::{ActorId, ActorOperation};
use crate::history::{ActivityOptions, Failure, HistoryEvent, Outcome};

/// Lifecycle of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Started and not finished (possibly waiting).
    Running,
    /// Paused by request; messages wait until it is resumed.
    Suspended,
    /// Returned an output.
    Completed,
    /// Returned a failure, trapped, or diverged from its history.
    Failed,
    /// Stopped by request.
    Terminated,
}

/// How many instances of one status run one component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionCount {
    /// The component's digest.
    pub digest: String,
    /// Their status.
    pub status: Status,
    /// How many.
    pub instances: u64,
}

impl Status {
    /// The name stored in the database and shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Suspended => "suspended",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Terminated => "terminated",
        }
    }

    /// Parses [`Status::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "running" => Status::Running,
            "suspended" => Status::Suspended,
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            "terminated" => Status::Terminated,
            _ => return None,
        })
    }

    /// Completed, failed or terminated: nothing more will happen.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Failed | Status::Terminated
        )
    }
}

/// Where a sub-orchestration reports its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentRef {
    /// The parent instance.
    pub instance_id: String,
    /// The parent's execution that scheduled the child.
    pub execution: u32,
    /// The parent's task id for the child.
    pub task: u32,
}

/// Where a fork came from: the instance, its execution, and the last of its
/// events the fork kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The instance forked.
    pub instance_id: String,
    /// Its execution.
    pub execution: u32,
    /// The last of its events the fork kept.
    pub event: u32,
}

/// An instance as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// Unique id.
    pub id: String,
    /// Orchestration name.
    pub name: String,
    /// Digest of the component its current execution runs.
    pub digest: String,
    /// Whether its next execution stays on `digest` when it continues as
    /// new; otherwise it starts on the newest registered version.
    #[serde(default)]
    pub pinned: bool,
    /// Current execution (bumped by continue-as-new).
    pub execution: u32,
    /// Input of the current execution, JSON.
    pub input: String,
    /// Lifecycle.
    pub status: Status,
    /// Output JSON when completed; failure JSON when failed; reason when terminated.
    pub output: Option<String>,
    /// Set by the orchestration, JSON.
    pub custom_status: Option<String>,
    /// Set for sub-orchestrations.
    pub parent: Option<ParentRef>,
    /// Set for forks: where the fork's history came from. Kept for the
    /// instance's life, through continue-as-new.
    #[serde(default)]
    pub forked_from: Option<Lineage>,
    /// ms since the Unix epoch.
    pub created_at: u64,
    /// ms since the Unix epoch.
    pub updated_at: u64,
    /// What the guest awaits, as its last episode recorded; `None` before
    /// its first wait and once it has finished.
    pub waiting: Option<Waiting>,
}

/// What a blocked guest awaits: recorded by the episode that ended in the
/// wait, so the store can say why an instance is not moving without a live
/// guest. The set only changes when history grows (leaving a wait records
/// its result), so the episodes that append history keep it current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// The execution whose tasks these are.
    pub execution: u32,
    /// The awaited tasks: one for `await-task`, the raced ones for
    /// `await-any`. A task's id is the position of the event that scheduled it.
    pub tasks: Vec<u32>,
    /// When the guest began to wait, ms since the Unix epoch.
    pub since: u64,
}

impl InstanceRecord {
    /// A new running instance of orchestration `name` (component `digest`)
    /// and its `Started` event, both stamped `at`.
    pub fn starting(
        id: String,
        name: &str,
        digest: String,
        input: &str,
        parent: Option<ParentRef>,
        at: u64,
    ) -> (Self, HistoryEvent) {
        let record = InstanceRecord {
            id,
            name: name.to_owned(),
            digest: digest.clone(),
            pinned: false,
            execution: 0,
            input: input.to_owned(),
            status: Status::Running,
            output: None,
            custom_status: None,
            parent,
            forked_from: None,
            created_at: at,
            updated_at: at,
            waiting: None,
        };
        let started = HistoryEvent {
            seq: 0,
            at,
            event: crate::history::Event::Started {
                name: name.to_owned(),
                input: input.to_owned(),
                digest: Some(digest),
            },
        };
        (record, started)
    }

    /// Why it failed, when its status is [`Status::Failed`]: the guest's
    /// message and, for a trap, details with the backtrace.
    pub fn failure(&self) -> Option<Failure> {
        if self.status != Status::Failed {
            return None;
        }
        let output = self.output.as_deref()?;
        Some(
            serde_json::from_str(output)
                .unwrap_or_else(|_| Failure::new(format!("failed, with output {output}"))),
        )
    }
}

/// What an instance task needs to resume an instance: its record, the
/// history of its current execution and its unconsumed messages, read
/// together (one snapshot where the backend has them).
#[derive(Debug, Clone, PartialEq)]
pub struct Resumable {
    /// The instance.
    pub record: InstanceRecord,
    /// The current execution's history, in order.
    pub history: Vec<HistoryEvent>,
    /// Unconsumed messages, in arrival order.
    pub inbox: Vec<Message>,
}

/// What kind of thing arrived in an instance's inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// An activity finished (payload: outcome JSON).
    Activity,
    /// A timer fired (payload: outcome JSON).
    Timer,
    /// A sub-orchestration finished (payload: outcome JSON).
    Child,
    /// An external event (payload: the event's JSON), keyed by instance only.
    Event,
    /// An actor call (or atomic actor operation) finished (payload: outcome JSON).
    Actor,
}

impl MessageKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Activity => "activity",
            MessageKind::Timer => "timer",
            MessageKind::Child => "child",
            MessageKind::Event => "event",
            MessageKind::Actor => "actor",
        }
    }

    /// Parses [`MessageKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "activity" => MessageKind::Activity,
            "timer" => MessageKind::Timer,
            "child" => MessageKind::Child,
            "event" => MessageKind::Event,
            "actor" => MessageKind::Actor,
            _ => return None,
        })
    }
}

/// A message in an instance's inbox, waiting to be consumed by an episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Arrival order; unique.
    pub id: i64,
    /// Addressee.
    pub instance_id: String,
    /// For task results: the execution whose task it completes. `None` for
    /// events, which belong to the instance and outlive continue-as-new.
    pub execution: Option<u32>,
    /// For task results: the task completed.
    pub task: Option<u32>,
    /// What it is.
    pub kind: MessageKind,
    /// For events: the event name.
    pub name: Option<String>,
    /// JSON: the outcome for task results, the event data for events.
    pub payload: String,
}

/// A message to insert; the store assigns its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Addressee.
    pub instance_id: String,
    /// See [`Message::execution`].
    pub execution: Option<u32>,
    /// See [`Message::task`].
    pub task: Option<u32>,
    /// What it is.
    pub kind: MessageKind,
    /// See [`Message::name`].
    pub name: Option<String>,
    /// See [`Message::payload`].
    pub payload: String,
}

impl NewMessage {
    /// What task `to.task` of an execution produced, for that instance's
    /// inbox.
    pub fn task_result(to: &ParentRef, kind: MessageKind, outcome: &Outcome) -> Self {
        Self {
            instance_id: to.instance_id.clone(),
            execution: Some(to.execution),
            task: Some(to.task),
            kind,
            name: None,
            payload: serde_json::to_string(outcome).unwrap_or_default(),
        }
    }
}

/// An activity waiting to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityTask {
    /// Row id.
    pub id: i64,
    /// The instance that scheduled it.
    pub instance_id: String,
    /// Its execution.
    pub execution: u32,
    /// Its task id.
    pub task: u32,
    /// Activity name.
    pub name: String,
    /// Component that should run it: the orchestration's own when it has it.
    pub digest: String,
    /// Input, JSON.
    pub input: String,
    /// Retry and timeout.
    pub options: ActivityOptions,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Not before this time (ms since the Unix epoch): retry backoff.
    pub visible_at: u64,
    /// Why the previous attempt failed, when this is a retry.
    pub last_failure: Option<Failure>,
}

/// How much the store holds now: what monitoring watches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    /// Instances by status, every status listed (zeros included).
    pub instances: Vec<(Status, u64)>,
    /// Instances by the component their current execution runs, then by
    /// status: one entry for each digest and status that has any, in the
    /// order of the digests.
    pub versions: Vec<VersionCount>,
    /// Activity tasks queued, running or waiting for a retry.
    pub activities: u64,
    /// Timers not yet fired.
    pub timers: u64,
    /// Inbox messages not yet taken in by their instances.
    pub inbox: u64,
    /// Operations in actors' mailboxes, due or not.
    pub actor_mailbox: u64,
    /// Multi-actor requests queued.
    pub atomic_requests: u64,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 5] = [
        Status::Running,
        Status::Suspended,
        Status::Completed,
        Status::Failed,
        Status::Terminated,
    ];
}

/// The work an execution has scheduled and not yet seen finish: what
/// explains a wait.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outstanding {
    /// Activities queued, running or waiting for a retry.
    pub activities: Vec<ActivityTask>,
    /// Timers not yet fired.
    pub timers: Vec<TimerRecord>,
}

/// A lease as stored: who holds it, until when, under which fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Which lease (e.g. `worker`, `partition/3`, `host/…`).
    pub name: String,
    /// Its last holder.
    pub owner: String,
    /// The fencing token, which grows whenever the lease changes hands.
    pub token: u64,
    /// ms since the Unix epoch; 0 once given up.
    pub expires_at: u64,
}

impl Lease {
    /// Whether it is held at `now` (ms): granted and not run out.
    pub fn is_held(&self, now: u64) -> bool {
        self.token > 0 && self.expires_at >= now
    }
}

/// A durable timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRecord {
    /// The instance.
    pub instance_id: String,
    /// Its execution.
    pub execution: u32,
    /// Its task id.
    pub task: u32,
    /// ms since the Unix epoch.
    pub fire_at: u64,
}

/// Which world's export a registered name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An orchestration.
    Orchestration,
    /// An activity.
    Activity,
    /// An actor kind.
    Actor,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Orchestration => "orchestration",
            Role::Activity => "activity",
            Role::Actor => "actor",
        }
    }

    /// Parses [`Role::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "orchestration" => Role::Orchestration,
            "activity" => Role::Activity,
            "actor" => Role::Actor,
            _ => return None,
        })
    }
}

/// Where the outcome of an actor operation goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyTo {
    /// Nowhere: a signal.
    Nobody,
    /// An orchestration's task.
    Task(ParentRef),
    /// A client waiting on [`Store::actor_result`].
    Client(String),
}

/// An actor with operations due, and the first page of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueActor {
    /// The actor.
    pub actor: ActorId,
    /// Its first operations due, atomic turns included, in arrival order.
    pub page: Vec<ActorMessage>,
}

/// An operation waiting in an actor's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorMessage {
    /// Names the row; rows of one actor come in arrival order.
    pub id: i64,
    /// What to do to whom (for an atomic turn: the request's first
    /// operation on this actor).
    pub operation: ActorOperation,
    /// Where the outcome goes.
    pub reply: ReplyTo,
    /// `Some(request)`: this row is the actor's turn in atomic request
    /// `request`, handled with the request and never dequeued alone.
    pub atomic: Option<i64>,
}

/// A multi-actor operation waiting to run all-or-nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomicRequest {
    /// Arrival order.
    pub id: i64,
    /// The operations, run in order.
    pub operations: Vec<ActorOperation>,
    /// Where the outcome goes.
    pub reply: ReplyTo,
}

/// An actor's committed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRecord {
    /// Which actor.
    pub id: ActorId,
    /// State, JSON.
    pub state: String,
    /// ms since the Unix epoch.
    pub updated_at: u64,
}

/// A name registered to a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Orchestration or activity.
    pub role: Role,
    /// The registered name.
    pub name: String,
    /// The component.
    pub digest: String,
    /// Registration order: the newest wins for new instances.
    pub seq: i64,
}

/// A request made with an idempotency key, and what it answered: kept for
/// the retention period so a repeat answers the same and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedRequest {
    /// The client's key.
    pub key: String,
    /// What was asked ([`request_fingerprint`]): a key used again for
    /// another request is refused.
    pub fingerprint: String,
    /// The answer, JSON.
    pub answer: String,
    /// For an actor call, the request id its outcome is kept under while
    /// the key is remembered.
    pub call: Option<String>,
    /// When (ms since the Unix epoch).
    pub at: u64,
}

/// What a request asked, as a short text that tells requests apart: the
/// SHA-256 of its parts, each with its length.
pub fn request_fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}
