//! The change feed: how a host learns what other hosts and processes wrote
//! to the same database (a CLI raising an event, another host finishing an
//! activity), without rereading tables.
//!
//! Every committed batch appends its changes to the feed, at positions that
//! grow in commit order. A reader keeps the position it has read up to and
//! asks for what came after it. What the feed promises:
//!
//! - **Complete.** A change committed through another handle appears after
//!   every position a reader was handed before that commit became visible: a
//!   reader that keeps asking from its last position misses nothing. (A
//!   backend whose ids are not visible in id order, such as sequences shared
//!   by concurrent transactions, must order the feed by commit itself.)
//! - **In commit order**, so the changes of one instance arrive in the order
//!   they were made.
//! - **Not one's own.** Changes committed through the handle that reads are
//!   skipped: a host routes its own writes in memory as it makes them.
//! - **Current, not historical.** A change names what changed; the record it
//!   carries (an instance's status, a message) is read when the feed is read.
//!   A message consumed before it was read is left out: someone handled it.
//! - **Bounded.** Old positions are dropped after a while. A reader that fell
//!   further behind is told so ([`Changes::gap`]) and must rescan what it
//!   cares about, as it did at start.

use super::{Message, Status};

/// A position in the change feed: everything up to it has been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedPosition(pub u64);

/// One change, as of when the feed was read. The work notices
/// (`Registrations`, `Activities`, `Timers`, `Actors`) say that something of
/// the kind was queued; a backend may give one for several in one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// An instance was created or its status or execution changed.
    Instance {
        /// The instance.
        id: String,
        /// Its status now; `None` if it has been purged since.
        status: Option<Status>,
    },
    /// A live instance moved to new code: a guest running its old code
    /// must stop and replay on the new.
    Moved {
        /// The instance.
        id: String,
    },
    /// A message arrived in an inbox and is still unconsumed.
    Message(Message),
    /// Names were registered to components.
    Registrations,
    /// Activities were queued or rescheduled.
    Activities,
    /// Timers were set.
    Timers,
    /// Operations were queued for actors.
    Actors,
    /// A client's actor call has its outcome (see `Store::actor_result`).
    ActorResult {
        /// The client's request id.
        request_id: String,
    },
}

/// What [`super::Store::changes`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The changes after the position asked for, oldest first.
    pub changes: Vec<Change>,
    /// Where to ask from next time.
    pub next: FeedPosition,
    /// The position asked for has been dropped: changes were lost to the
    /// reader, which must rescan before following the feed from `next`.
    pub gap: bool,
}
