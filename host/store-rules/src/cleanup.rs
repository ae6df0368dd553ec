//! What goes with an instance's state: when it finishes, when it moves on
//! to its next execution, and when it is purged. The backend deletes the
//! rows of each [`Owned`] table the rule lists, with its own SQL.

use reprise_core::store::Status;

/// A table of rows an instance owns, each keyed by its `instance_id`
/// column and (except events in the inbox) an `execution` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    /// Its executions' histories.
    History,
    /// Its unconsumed messages.
    Inbox,
    /// Its activities queued, running or waiting for a retry.
    ActivityTasks,
    /// Its timers not yet fired.
    Timers,
}

impl Owned {
    /// The table's name.
    pub fn table(self) -> &'static str {
        match self {
            Owned::History => "history",
            Owned::Inbox => "inbox",
            Owned::ActivityTasks => "activity_tasks",
            Owned::Timers => "timers",
        }
    }
}

/// What setting an instance's status does besides recording it and its
/// output ([`Op::SetStatus`](reprise_core::store::Op::SetStatus)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    /// Whether what it awaits is cleared: a finished instance awaits nothing.
    pub clears_waiting: bool,
    /// The tables whose rows of the instance (all executions) are deleted:
    /// nothing will consume a finished instance's pending work.
    pub drops: &'static [Owned],
}

/// What setting `status` removes. Suspending, resuming and the like keep
/// everything: the instance goes on later.
pub fn status_change(status: Status) -> StatusChange {
    if status.is_final() {
        StatusChange {
            clears_waiting: true,
            drops: &[Owned::ActivityTasks, Owned::Timers],
        }
    } else {
        StatusChange {
            clears_waiting: false,
            drops: &[],
        }
    }
}

/// The tables whose rows of the ending execution
/// [`Op::ContinueAsNew`](reprise_core::store::Op::ContinueAsNew) deletes
/// (it also clears what the instance awaits). Events have no execution, so
/// the inbox keeps them for the next one.
pub const DROPPED_BY_CONTINUE_AS_NEW: &[Owned] = &[
    Owned::History,
    Owned::Inbox,
    Owned::ActivityTasks,
    Owned::Timers,
];

/// The tables whose rows of the instance (all executions) a
/// [`Op::Purge`](reprise_core::store::Op::Purge) deletes, before the
/// instance's own row.
pub const PURGED: &[Owned] = &[
    Owned::History,
    Owned::Inbox,
    Owned::ActivityTasks,
    Owned::Timers,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_final_status_drops_pending_work_and_the_wait() {
        for status in [Status::Completed, Status::Failed, Status::Terminated] {
            let change = status_change(status);
            assert!(change.clears_waiting);
            assert_eq!(change.drops, [Owned::ActivityTasks, Owned::Timers]);
        }
        for status in [Status::Running, Status::Suspended] {
            assert_eq!(
                status_change(status),
                StatusChange {
                    clears_waiting: false,
                    drops: &[],
                }
            );
        }
    }

    #[test]
    fn continue_as_new_and_purge_leave_no_owned_table_behind() {
        let every = [
            Owned::History,
            Owned::Inbox,
            Owned::ActivityTasks,
            Owned::Timers,
        ];
        assert_eq!(DROPPED_BY_CONTINUE_AS_NEW, every);
        assert_eq!(PURGED, every);
        let tables: Vec<_> = every.iter().map(|t| t.table()).collect();
        assert_eq!(tables, ["history", "inbox", "activity_tasks", "timers"]);
    }
}
