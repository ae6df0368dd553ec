//! Durable state: the [`Store`] contract every backend keeps, and its
//! plain-data vocabulary. The crate `reprise-sqlite` is the embedded
//! default; the crate `reprise-store-tests` holds the conformance suite a
//! backend must pass.
//!
//! - [`records`]: what is stored (instances, messages, tasks, actors, …).
//! - [`op`]: the writes. A [`Batch`] of [`Op`]s commits all-or-nothing; an
//!   episode of an orchestration is one batch, and the store may group many
//!   batches into one transaction (group commit) as long as each stays
//!   atomic on its own. Each `Op` documents what it means.
//! - [`feed`]: how a host notices what other handles committed.
//! - [`query`]: which instances to list, page by page.

pub mod feed;
pub mod flow;
pub mod op;
pub mod query;
pub mod records;

pub use feed::{Change, Changes, FeedPosition};
pub use flow::{ActivityFlow, ActivityLimit, ActivitySlot, Rate};
pub use op::{Batch, CommitTicket, Committed, Op};
pub use query::{InstanceCursor, InstanceQuery};
// The store keeps actors' mailboxes: their addresses are part of its vocabulary.
pub use crate::actor::{ActorId, ActorOperation};
pub use records::*;

use std::sync::Arc;

use crate::archive;
use crate::history::HistoryEvent;

/// What can go wrong in the store, grouped by what the caller must do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A precondition of the batch did not hold (the instance was terminated,
    /// suspended or moved on meanwhile). Nothing was written; do not retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The batch was fenced by a lease token that is no longer the lease's
    /// ([`Op::ExpectLease`]): its writer lost the lease to another. Nothing
    /// was written; the writer must stop the work the lease covered.
    #[error("fenced: {0}")]
    Fenced(String),
    /// The request named something that does not exist. Nothing was written.
    #[error("{0}")]
    NotFound(String),
    /// A request with this idempotency key was made before
    /// ([`Op::RememberRequest`]). Nothing of the batch was written; the
    /// first request's answer is remembered.
    #[error("a request with idempotency key {0:?} was made before")]
    Repeated(String),
    /// An actor's mailbox holds its capacity ([`Op::EnqueueActor`]).
    /// Nothing of the batch was written; the same batch may succeed once
    /// the actor has handled some of its operations.
    #[error("the mailbox of actor {actor} is full: it holds {capacity} operations, its bound")]
    MailboxFull {
        /// The actor.
        actor: ActorId,
        /// Its bound.
        capacity: u64,
    },
    /// An activity is at one of its limits ([`Op::TakeActivitySlot`]).
    /// Nothing of the batch was written; it may succeed after
    /// `retry_after_ms` (rate), or once an attempt ends (concurrency).
    #[error("activity {activity:?} is at its {limit} limit")]
    Throttled {
        /// The activity.
        activity: String,
        /// Which limit: "concurrency", "per-key" or "rate".
        limit: &'static str,
        /// When a start could be allowed, for a rate; `None` when it waits
        /// for a running attempt to end.
        retry_after_ms: Option<u64>,
    },
    /// The database failed. Nothing of the batch was written.
    #[error("database error: {0}")]
    Database(String),
    /// The writer is gone (the store is shutting down).
    #[error("the store is closed")]
    Closed,
    /// A restore's input ended before its end, or did not hold what its
    /// end said ([`Store::import`]). Nothing was written.
    #[error("{0}")]
    Incomplete(String),
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

/// The durable state of Reprise hosts.
///
/// Reads are async: a backend does its blocking work on its own threads or
/// over the network, never on the caller's. They see every batch whose
/// ticket has resolved. Writes go through [`Store::commit`] only.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Queues a batch for commit. It is durable when the ticket resolves
    /// `Ok`; on `Err` nothing of it was written. Batches queued by one
    /// caller commit in the order they were queued.
    fn commit(&self, batch: Batch) -> CommitTicket;
    /// One instance.
    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError>;
    /// The instances `query` asks for, newest first (see [`query`]).
    async fn instances(&self, query: &InstanceQuery) -> Result<Vec<InstanceRecord>, StoreError>;
    /// The history of one execution, in order.
    async fn history(&self, id: &str, execution: u32) -> Result<Vec<HistoryEvent>, StoreError>;
    /// Unconsumed messages of an instance, in arrival order.
    async fn inbox(&self, id: &str) -> Result<Vec<Message>, StoreError>;
    /// An instance with its current history and inbox, read together: one
    /// round trip where [`Store::instance`], [`Store::history`] and
    /// [`Store::inbox`] would take three.
    async fn resumable(&self, id: &str) -> Result<Option<Resumable>, StoreError>;
    /// The feed's current end: a reader starting now reads from here.
    async fn feed_head(&self) -> Result<FeedPosition, StoreError>;
    /// Up to `limit` changes committed through other handles after `after`
    /// (see [`feed`] for what is promised).
    async fn changes(&self, after: FeedPosition, limit: usize) -> Result<Changes, StoreError>;
    /// Activities due by `now` (ms), oldest first. With `retries_only`,
    /// only those waiting for a retry (first attempts are visible at 0).
    async fn due_activities(
        &self,
        now: u64,
        limit: usize,
        retries_only: bool,
    ) -> Result<Vec<ActivityTask>, StoreError>;
    /// Earliest timers first.
    async fn next_timers(&self, limit: usize) -> Result<Vec<TimerRecord>, StoreError>;
    /// A component's bytes.
    async fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A component's compiled code for engines with this compatibility key,
    /// if [`Op::CacheCompiled`] stored it.
    async fn compiled(&self, digest: &str, engine: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every registration, oldest first.
    async fn registrations(&self) -> Result<Vec<Registration>, StoreError>;
    /// Up to `limit` actors with an operation due by `now` (ms), those due
    /// longest first, each with its first `page` operations due (as
    /// [`Store::due_actor_operations`] reads them): one read for what a
    /// dispatcher serves next. The actors in `except` (those it serves
    /// already) are passed over, and their pages are not read.
    async fn due_actors(
        &self,
        now: u64,
        limit: usize,
        page: usize,
        except: &[ActorId],
    ) -> Result<Vec<DueActor>, StoreError>;
    /// One page of an actor's mailbox: its first `limit` operations due by
    /// `now`, atomic turns included, in arrival order.
    async fn due_actor_operations(
        &self,
        id: &ActorId,
        now: u64,
        limit: usize,
    ) -> Result<Vec<ActorMessage>, StoreError>;
    /// A pending multi-actor operation.
    async fn atomic_request(&self, id: i64) -> Result<Option<AtomicRequest>, StoreError>;
    /// Pending multi-actor operations, in arrival order.
    async fn atomic_requests(&self, limit: usize) -> Result<Vec<AtomicRequest>, StoreError>;
    /// An actor's committed state, without waiting behind its mailbox.
    async fn actor(&self, id: &ActorId) -> Result<Option<ActorRecord>, StoreError>;
    /// Actors of a kind, by key.
    async fn actors(&self, kind: &str, limit: usize) -> Result<Vec<ActorRecord>, StoreError>;
    /// Per activity with tasks scheduled or slots held: its tasks, and how
    /// many attempts hold a slot at `now` (ms), by name.
    async fn activity_flow(&self, now: u64) -> Result<Vec<ActivityFlow>, StoreError>;
    /// The request made with idempotency key `key`, if it is remembered.
    async fn remembered_request(&self, key: &str) -> Result<Option<RememberedRequest>, StoreError>;
    /// The outcome of a client's actor call, once handled.
    async fn actor_result(&self, request_id: &str) -> Result<Option<String>, StoreError>;
    /// Operations not yet handled: mailbox operations plus atomic requests.
    async fn actor_backlog(&self) -> Result<u64, StoreError>;
    /// How many operations one actor's mailbox holds, due or not, atomic
    /// turns included: what its capacity bounds.
    async fn actor_mailbox(&self, id: &ActorId) -> Result<u64, StoreError>;
    /// The first `limit` operations queued for one actor, due or not, in
    /// arrival order, atomic turns included.
    async fn actor_queue(
        &self,
        id: &ActorId,
        limit: usize,
    ) -> Result<Vec<ActorMessage>, StoreError>;
    /// How much the store holds now: instances by status and the depths of
    /// its queues.
    async fn counts(&self) -> Result<StoreCounts, StoreError>;
    /// The activities and timers an execution has scheduled that have not
    /// finished: what its waits are waiting for.
    async fn outstanding(&self, id: &str, execution: u32) -> Result<Outstanding, StoreError>;
    /// Every lease taken on this database, held or not, by name.
    async fn leases(&self) -> Result<Vec<Lease>, StoreError>;
    /// Sends every row of the archived tables ([`archive::TABLES`], in
    /// that order) to `out`, read from one consistent snapshot while other
    /// handles go on committing: pieces of rows of one table, never
    /// [`archive::Piece::End`]. Returns how many rows it sent. A receiver
    /// that goes away ends the export with [`StoreError::Closed`].
    async fn export(
        &self,
        out: tokio::sync::mpsc::Sender<archive::Piece>,
    ) -> Result<archive::Counts, StoreError>;
    /// Restores an archive into this store, in one transaction: the rows
    /// that arrive on `input` are committed once [`archive::Piece::End`]
    /// arrives with the counts of the rows received, and rows numbered by
    /// the store are numbered after them from then on. Refused with a
    /// conflict, before anything is read, when the store holds any
    /// archived row or somebody holds a lease on it at `now` (ms since the
    /// Unix epoch): a worker there would not see the work arrive. If the input ends before `End`, or the counts
    /// differ ([`StoreError::Incomplete`]), or a row is refused, nothing is
    /// written.
    async fn import(
        &self,
        input: tokio::sync::mpsc::Receiver<archive::Piece>,
        now: u64,
    ) -> Result<archive::Counts, StoreError>;
    /// A signal woken when other handles may have committed changes, for
    /// a backend that can be told (PostgreSQL's LISTEN/NOTIFY): a feed
    /// reader then reads at once instead of at its next poll. A signal is
    /// a hint, never the truth: the reader still reads the feed, and still
    /// polls now and then. `None`: poll.
    fn changes_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
}
