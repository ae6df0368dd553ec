//! Writes: the [`Op`]s a [`Batch`] commits all-or-nothing, and what a
//! committed batch produced.

use tokio::sync::oneshot;

use super::{
    ActivityTask, ActorId, ActorOperation, InstanceRecord, Message, NewMessage, ParentRef,
    RememberedRequest, ReplyTo, Role, Status, StoreError, TimerRecord, Waiting,
};
use crate::history::{Failure, HistoryEvent};

/// One write. A [`Batch`] of them commits all-or-nothing.
#[derive(Debug, Clone)]
pub enum Op {
    /// Fails the batch with [`StoreError::Conflict`] unless the instance is
    /// running in this execution, on this code when `digest` is given
    /// ([`StoreError::NotFound`] if there is no such instance). An episode
    /// names its code, so that once its instance has moved to another
    /// version nothing the old guest computes is applied.
    ExpectRunning {
        /// The instance.
        instance_id: String,
        /// Its execution.
        execution: u32,
        /// The component the writer runs it on.
        digest: Option<String>,
    },
    /// Stores a component's bytes (idempotent) and registers names to it.
    RegisterComponent {
        /// sha256, hex.
        digest: String,
        /// The `.wasm` bytes.
        bytes: Vec<u8>,
        /// Names and roles.
        names: Vec<(Role, String)>,
        /// When (ms since the Unix epoch, by the runtime's clock).
        at: u64,
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
    /// Records what the guest of a running execution awaits (see
    /// [`Waiting`]); ignored when the instance has moved to another
    /// execution. A final status and continue-as-new clear it. The
    /// instance's `updated_at` becomes `waiting.since`.
    SetWaiting {
        /// The instance.
        instance_id: String,
        /// What it awaits.
        waiting: Waiting,
    },
    /// Sets the custom status.
    SetCustomStatus {
        /// The instance.
        instance_id: String,
        /// JSON, or `None` to clear.
        status: Option<String>,
        /// When (ms since the Unix epoch, by the runtime's clock).
        at: u64,
    },
    /// Sets the status and output; [`StoreError::NotFound`] if there is no
    /// such instance. A final status drops the instance's pending activity
    /// tasks and timers: nothing would consume their results.
    SetStatus {
        /// The instance.
        instance_id: String,
        /// The new status.
        status: Status,
        /// Output, failure or reason.
        output: Option<String>,
        /// When (ms since the Unix epoch, by the runtime's clock).
        at: u64,
    },
    /// Moves the instance to its next execution, on component `digest`: the
    /// old execution's history, pending tasks, timers and task results are
    /// dropped; events stay. The instance's `updated_at` becomes
    /// `started.at`.
    ContinueAsNew {
        /// The instance.
        instance_id: String,
        /// The execution that ends.
        execution: u32,
        /// Input of the next execution.
        input: String,
        /// The component the next execution runs.
        digest: String,
        /// Its first event.
        started: HistoryEvent,
    },
    /// Moves a live instance to new code (an upgrade): appends
    /// [`Event::Upgraded`](crate::history::Event::Upgraded) at position
    /// `events` of its history and sets its digest to `to`. Fails the batch
    /// with a conflict unless the instance is running or suspended in
    /// `execution` on `from` with exactly `events` events of history: the
    /// history that was checked against the new code is the history moved.
    MoveInstance {
        /// The instance.
        instance_id: String,
        /// Its execution.
        execution: u32,
        /// The digest it runs now.
        from: String,
        /// The digest it moves to.
        to: String,
        /// How many events its history held when it was checked.
        events: u32,
        /// When (ms since the Unix epoch, by the runtime's clock).
        at: u64,
    },
    /// Rewinds a failed execution to before its failure: removes its
    /// history from position `marker.seq` on and puts `marker` (an
    /// [`Event::Rewound`](crate::history::Event::Rewound) holding what was
    /// removed) there, drops the execution's unconsumed results for tasks
    /// from that position on (those tasks are gone), and makes the
    /// instance running again with no output. Fails the batch with a
    /// conflict unless the instance has failed in `execution` with exactly
    /// `events` events of history: the history that was read is the
    /// history cut.
    Rewind {
        /// The instance.
        instance_id: String,
        /// Its execution.
        execution: u32,
        /// How many events its history held when it was read.
        events: u32,
        /// What takes the place of the events removed.
        marker: HistoryEvent,
        /// When (ms since the Unix epoch, by the runtime's clock).
        at: u64,
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
        /// Why the attempt before failed.
        failure: Failure,
    },
    /// Removes a fired timer and sends its completion, once.
    FireTimer {
        /// The timer.
        timer: TimerRecord,
        /// Its completion.
        message: NewMessage,
    },
    /// Puts an operation at the end of an actor's mailbox, due from
    /// `visible_at` (ms). With a `capacity`, the batch fails with
    /// [`StoreError::MailboxFull`](super::StoreError::MailboxFull) when the
    /// mailbox already holds that many operations (due or not, atomic
    /// turns included).
    EnqueueActor {
        /// What to do to whom.
        operation: ActorOperation,
        /// Where the outcome goes.
        reply: ReplyTo,
        /// Not before this time: 0 for now.
        visible_at: u64,
        /// The most operations the mailbox may hold; `None`: no bound.
        capacity: Option<u64>,
    },
    /// Queues a multi-actor operation, and its turn at the end of the
    /// mailbox of each actor it names (an [`ActorMessage`] whose `atomic`
    /// names the request): it runs when it is first in every one of them.
    /// The turns of any two requests are in the same order in every mailbox
    /// they share, so requests never wait for each other in a circle. With
    /// a `capacity`, refused like [`Op::EnqueueActor`] when any of the
    /// mailboxes is full.
    ///
    /// [`ActorMessage`]: super::ActorMessage
    EnqueueAtomic {
        /// The operations.
        operations: Vec<ActorOperation>,
        /// Where the outcome goes.
        reply: ReplyTo,
        /// The most operations each mailbox may hold; `None`: no bound.
        capacity: Option<u64>,
    },
    /// Applies handled operations: removes them from mailboxes (or removes
    /// the atomic request and its turns) and writes the actors' new states;
    /// `None` deletes.
    ApplyActors {
        /// Mailbox rows handled (operations, not atomic turns).
        dequeued: Vec<i64>,
        /// The atomic request handled, if any.
        atomic: Option<i64>,
        /// New states.
        states: Vec<(ActorId, Option<String>)>,
        /// When (ms since the Unix epoch, by the runtime's clock): the
        /// states' `updated_at`.
        at: u64,
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
    /// Remembers a request made with an idempotency key, in the batch that
    /// makes its effect, so the effect and its memory commit together. The
    /// batch fails with [`StoreError::Repeated`](super::StoreError::Repeated)
    /// if the key is remembered from `forget_before` (ms) on; an older
    /// memory of it is replaced.
    RememberRequest {
        /// The request.
        request: RememberedRequest,
        /// Memories older than this are forgotten.
        forget_before: u64,
    },
    /// Forgets the requests remembered before `before` (ms), and the
    /// outcomes of their actor calls.
    ForgetRequests {
        /// Ms since the Unix epoch.
        before: u64,
    },
    /// Takes a running slot for one attempt of a limited activity, held
    /// until `until` (ms) unless released. Granted when, at `now`, fewer
    /// than `limit.concurrency` slots of the activity are held, fewer than
    /// `limit.per_key` with the slot's key, and fewer than
    /// `limit.rate.count` were taken in the `limit.rate.period_ms` before;
    /// otherwise the batch fails with
    /// [`StoreError::Throttled`](super::StoreError::Throttled). The same
    /// attempt taking its slot again (a host that took its task over)
    /// renews it. Judged under one lock per activity, so the limits hold
    /// across writers.
    TakeActivitySlot {
        /// The attempt and its activity.
        slot: super::ActivitySlot,
        /// The activity's limits.
        limit: super::ActivityLimit,
        /// The taker's clock, ms since the Unix epoch.
        now: u64,
        /// Held until then at most (ms).
        until: u64,
    },
    /// Releases an attempt's slot at `now` (ms): it no longer counts as
    /// running, while its start still counts for the rate. Releasing a
    /// slot not held does nothing.
    ReleaseActivitySlot {
        /// The task row.
        task_id: i64,
        /// The attempt.
        attempt: u32,
        /// Ms since the Unix epoch.
        now: u64,
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
    /// Fails the batch with a conflict unless lease `name` still has the
    /// fencing token `token`: once the lease has changed hands, nothing its
    /// former holder commits is applied, even if it wakes from a pause
    /// believing it still holds the lease.
    ExpectLease {
        /// Which lease.
        name: String,
        /// The token [`Committed::lease`] reported when it was taken.
        token: u64,
    },
    /// Gives the lease up, if `owner` holds it.
    ReleaseLease {
        /// Which lease.
        name: String,
        /// Who gives it up.
        owner: String,
    },
    /// Deletes a finished instance and everything it owns (history, inbox,
    /// tasks, timers); [`StoreError::NotFound`] if there is no such
    /// instance, a conflict if it has not finished.
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
