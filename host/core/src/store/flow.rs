//! Flow control for activities: how many attempts of one activity may run
//! at once (in all, and per key taken from the input), and how many may
//! start in a period. The store judges each attempt's slot in the
//! transaction that takes it ([`Op::TakeActivitySlot`]), so the limits hold
//! across every host on one database.
//!
//! [`Op::TakeActivitySlot`]: super::Op::TakeActivitySlot

use serde::{Deserialize, Serialize};

/// The limits of one activity; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLimit {
    /// Attempts running at once.
    pub concurrency: Option<u32>,
    /// Attempts running at once with the same key.
    pub per_key: Option<u32>,
    /// Attempts started in any period.
    pub rate: Option<Rate>,
}

/// At most `count` starts in any `period_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// Starts.
    pub count: u32,
    /// The period, in ms.
    pub period_ms: u64,
}

/// The slot one attempt of an activity task runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivitySlot {
    /// The task row.
    pub task_id: i64,
    /// Its attempt number.
    pub attempt: u32,
    /// The activity.
    pub name: String,
    /// The key its input gives, for a per-key limit.
    pub key: Option<String>,
}

/// How one activity's tasks stand: scheduled and not finished, and of
/// those, how many run in a slot now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityFlow {
    /// The activity.
    pub name: String,
    /// Tasks scheduled and not yet finished (waiting, retrying or running).
    pub scheduled: u64,
    /// Attempts holding a slot (of limited activities only).
    pub running: u64,
}
