//! Durable state: the [`Store`] trait the runtime talks to, and its plain-data
//! vocabulary. The crate `reprise-sqlite` is the embedded default; another
//! database can follow by implementing the same trait.
//!
//! Writes are [`Batch`]es of [`Op`]s that commit all-or-nothing. An episode of
//! an orchestration is one batch; the store may group many batches into one
//! transaction (group commit) as long as each stays atomic on its own.

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::history::{ActivityOptions, Failure, HistoryEvent, Outcome};

/// What can go wrong in the store, grouped by what the caller must do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A precondition of the batch did not hold (the instance was terminated,
    /// suspended or moved on meanwhile). Nothing was written; do not retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request named something that does not exist. Nothing was written.
    #[error("{0}")]
    NotFound(String),
    /// The database failed. Nothing of the batch was written.
    #[error("database error: {0}")]
    Database(String),
    /// The writer is gone (the store is shutting down).
    #[error("the store is closed")]
    Closed,
    /// A stored row cannot be decoded. Nothing was guessed in its place.
    #[error("corrupt row in table {table} (key {key}): {why}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What is wrong with it.
        why: String,
    },
}

/// Lifecycle of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// An instance as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    /// Unique id.
    pub id: String,
    /// Orchestration name.
    pub name: String,
    /// Digest of the component it is pinned to.
    pub digest: String,
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
    /// ms since the Unix epoch.
    pub created_at: u64,
    /// ms since the Unix epoch.
    pub updated_at: u64,
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
            digest,
            execution: 0,
            input: input.to_owned(),
            status: Status::Running,
            output: None,
            custom_status: None,
            parent,
            created_at: at,
            updated_at: at,
        };
        let started = HistoryEvent {
            seq: 0,
            at,
            event: crate::history::Event::Started {
                name: name.to_owned(),
                input: input.to_owned(),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// Addresses an actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActorId {
    /// The kind: which component export implements it.
    pub kind: String,
    /// The key within the kind.
    pub key: String,
}

impl std::fmt::Display for ActorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.key)
    }
}

/// One operation on one actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorOperation {
    /// The actor.
    pub target: ActorId,
    /// Operation name.
    pub operation: String,
    /// Input, JSON.
    pub input: String,
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

/// An operation waiting in an actor's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorMessage {
    /// Arrival order.
    pub id: i64,
    /// What to do to whom.
    pub operation: ActorOperation,
    /// Where the outcome goes.
    pub reply: ReplyTo,
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

/// One write. A [`Batch`] of them commits all-or-nothing.
#[derive(Debug, Clone)]
pub enum Op {
    /// Fails the batch with [`StoreError::Conflict`] unless the instance is
    /// running in this execution.
    ExpectRunning {
        /// The instance.
        instance_id: String,
        /// Its execution.
        execution: u32,
    },
    /// Stores a component's bytes (idempotent) and registers names to it.
    RegisterComponent {
        /// sha256, hex.
        digest: String,
        /// The `.wasm` bytes.
        bytes: Vec<u8>,
        /// Names and roles.
        names: Vec<(Role, String)>,
    },
    /// Keeps a component's compiled code for engines with this
    /// compatibility key, so no later process compiles it again; replaces
    /// what was kept before (code that could not be used).
    CacheCompiled {
        /// The component's digest (it must be registered).
        digest: String,
        /// The engine's compatibility key: code compiled by another engine
        /// version or configuration is never used.
        engine: String,
        /// The serialized compilation.
        bytes: Vec<u8>,
    },
    /// Creates an instance and its `Started` event. An existing id fails the
    /// batch with a conflict, unless `parent` is set: then the parent receives
    /// the failure instead.
    CreateInstance {
        /// The new instance.
        record: InstanceRecord,
        /// Its first event.
        started: HistoryEvent,
    },
    /// Appends events to an execution's history.
    AppendHistory {
        /// The instance.
        instance_id: String,
        /// Its execution.
        execution: u32,
        /// The events, in order.
        events: Vec<HistoryEvent>,
    },
    /// Queues an activity.
    ScheduleActivity(ActivityTask),
    /// Sets a timer.
    ScheduleTimer(TimerRecord),
    /// Puts a message in an inbox. For events, fails the batch with
    /// [`StoreError::NotFound`] if the instance does not exist, and with a
    /// conflict if it has finished.
    Send(NewMessage),
    /// Removes consumed messages.
    Consume(Vec<i64>),
    /// Sets the custom status.
    SetCustomStatus {
        /// The instance.
        instance_id: String,
        /// JSON, or `None` to clear.
        status: Option<String>,
    },
    /// Sets the status and output.
    SetStatus {
        /// The instance.
        instance_id: String,
        /// The new status.
        status: Status,
        /// Output, failure or reason.
        output: Option<String>,
    },
    /// Moves the instance to its next execution: the old execution's history,
    /// pending tasks, timers and task results are dropped; events stay.
    ContinueAsNew {
        /// The instance.
        instance_id: String,
        /// The execution that ends.
        execution: u32,
        /// Input of the next execution.
        input: String,
        /// Its first event.
        started: HistoryEvent,
    },
    /// Records an activity's final result: removes the task and sends the
    /// outcome to its instance, once. A task already gone sends nothing.
    CompleteActivity {
        /// The task row.
        task_id: i64,
        /// The result for the instance.
        message: NewMessage,
    },
    /// Removes an activity task whose result an episode consumed straight
    /// from the dispatcher, without the inbox.
    ConsumeActivity {
        /// The task row.
        task_id: i64,
    },
    /// Schedules another attempt of an activity.
    RetryActivity {
        /// The task row.
        task_id: i64,
        /// The next attempt number.
        attempt: u32,
        /// Not before this time.
        visible_at: u64,
    },
    /// Removes a fired timer and sends its completion, once.
    FireTimer {
        /// The timer.
        timer: TimerRecord,
        /// Its completion.
        message: NewMessage,
    },
    /// Puts an operation in an actor's mailbox, visible from `visible_at` (ms).
    EnqueueActor {
        /// What to do to whom.
        operation: ActorOperation,
        /// Where the outcome goes.
        reply: ReplyTo,
        /// Not before this time: 0 for now.
        visible_at: u64,
    },
    /// Queues a multi-actor operation.
    EnqueueAtomic {
        /// The operations.
        operations: Vec<ActorOperation>,
        /// Where the outcome goes.
        reply: ReplyTo,
    },
    /// Applies handled operations: removes them from mailboxes (or removes
    /// the atomic request) and writes the actors' new states; `None` deletes.
    ApplyActors {
        /// Mailbox rows handled.
        dequeued: Vec<i64>,
        /// The atomic request handled, if any.
        atomic: Option<i64>,
        /// New states.
        states: Vec<(ActorId, Option<String>)>,
    },
    /// Records the outcome of a client's actor call.
    PutActorResult {
        /// The client's request id.
        request_id: String,
        /// Outcome JSON.
        outcome: String,
    },
    /// Forgets the outcome of a client's actor call once it has been read.
    DropActorResult {
        /// The client's request id.
        request_id: String,
    },
    /// Takes the lease `name` for `owner` until `until` (ms), or renews it.
    /// Granted when nobody holds it, `owner` holds it, or its holder's lease
    /// ran out before `now`; otherwise the batch fails with a conflict that
    /// names the holder. A lease that changes hands gets a new fencing token
    /// (greater than any before), reported in [`Committed::lease`].
    TakeLease {
        /// Which lease, e.g. `worker`.
        name: String,
        /// Who asks: unique per process.
        owner: String,
        /// The asker's clock, ms since the Unix epoch.
        now: u64,
        /// Until when, ms since the Unix epoch.
        until: u64,
    },
    /// Gives the lease up, if `owner` holds it.
    ReleaseLease {
        /// Which lease.
        name: String,
        /// Who gives it up.
        owner: String,
    },
    /// Deletes a finished instance and everything it owns.
    Purge {
        /// The instance.
        instance_id: String,
    },
}

impl Op {
    /// Creates a running instance of orchestration `name` (component
    /// `digest`) with its `Started` event, stamped `at`.
    pub fn create_instance(
        id: String,
        name: &str,
        digest: String,
        input: &str,
        parent: Option<ParentRef>,
        at: u64,
    ) -> Self {
        let (record, started) = InstanceRecord::starting(id, name, digest, input, parent, at);
        Op::CreateInstance { record, started }
    }
}

/// Writes that commit all-or-nothing.
pub type Batch = Vec<Op>;

/// What a committed batch produced.
#[derive(Debug, Default)]
pub struct Committed {
    /// Messages inserted, with their ids: the runtime routes them.
    pub messages: Vec<Message>,
    /// Activity tasks scheduled, with their ids: the runtime runs them.
    pub activities: Vec<ActivityTask>,
    /// The fencing token of the lease an [`Op::TakeLease`] took or renewed.
    pub lease: Option<u64>,
}

/// Resolves when a batch is durable (or failed).
pub type CommitTicket = oneshot::Receiver<Result<Committed, StoreError>>;

/// The durable state of a Reprise host.
pub trait Store: Send + Sync + 'static {
    /// Queues a batch for commit. It is durable when the ticket resolves `Ok`.
    fn commit(&self, batch: Batch) -> CommitTicket;
    /// One instance.
    fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError>;
    /// Instances, newest first, optionally only those with one status.
    fn instances(
        &self,
        status: Option<Status>,
        limit: usize,
    ) -> Result<Vec<InstanceRecord>, StoreError>;
    /// The history of one execution, in order.
    fn history(&self, id: &str, execution: u32) -> Result<Vec<HistoryEvent>, StoreError>;
    /// Unconsumed messages of an instance, in arrival order.
    fn inbox(&self, id: &str) -> Result<Vec<Message>, StoreError>;
    /// Instances created or changed (status, custom status, execution) at or
    /// after `since` (ms), with their status: how a host notices starts,
    /// resumes and terminations written by other processes.
    fn updated_since(&self, since: u64) -> Result<Vec<(String, Status)>, StoreError>;
    /// Messages with an id above `after`, in arrival order (for hosts that
    /// share the database with other writers).
    fn messages_after(&self, after: i64, limit: usize) -> Result<Vec<Message>, StoreError>;
    /// Activities due by `now` (ms), oldest first. With `retries_only`,
    /// only those waiting for a retry (first attempts are visible at 0).
    fn due_activities(
        &self,
        now: u64,
        limit: usize,
        retries_only: bool,
    ) -> Result<Vec<ActivityTask>, StoreError>;
    /// Earliest timers first.
    fn next_timers(&self, limit: usize) -> Result<Vec<TimerRecord>, StoreError>;
    /// A component's bytes.
    fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A component's compiled code for engines with this compatibility key,
    /// if [`Op::CacheCompiled`] stored it.
    fn compiled(&self, digest: &str, engine: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every registration, oldest first.
    fn registrations(&self) -> Result<Vec<Registration>, StoreError>;
    /// Mailbox operations due by `now` (ms), in arrival order.
    fn due_actor_messages(&self, now: u64, limit: usize) -> Result<Vec<ActorMessage>, StoreError>;
    /// Pending multi-actor operations, in arrival order.
    fn atomic_requests(&self, limit: usize) -> Result<Vec<AtomicRequest>, StoreError>;
    /// An actor's committed state, without waiting behind its mailbox.
    fn actor(&self, id: &ActorId) -> Result<Option<ActorRecord>, StoreError>;
    /// Actors of a kind, by key.
    fn actors(&self, kind: &str, limit: usize) -> Result<Vec<ActorRecord>, StoreError>;
    /// The outcome of a client's actor call, once handled.
    fn actor_result(&self, request_id: &str) -> Result<Option<String>, StoreError>;
    /// Operations not yet handled: mailbox rows plus atomic requests.
    fn actor_backlog(&self) -> Result<u64, StoreError>;
    /// A number that changes whenever another connection commits; lets a host
    /// notice writes made by other processes cheaply.
    fn data_version(&self) -> Result<i64, StoreError>;
}
