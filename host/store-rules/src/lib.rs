//! The rules Reprise's SQL backends share, written once so that the
//! backends differ only in their driver and their SQL.
//!
//! A backend applies each [`Op`](reprise_core::store::Op) by reading what
//! the op depends on (an instance's status, a lease's row) with its own
//! SQL, asking the rule here what that means, and writing the answer with
//! its own SQL again. The rules are functions over plain data, tested here
//! without a database; the conformance suite of `reprise-store-tests`
//! judges each backend by what it does.
//!
//! - [`archive`]: when a database may take an archive, and whether all of
//!   it arrived.
//! - [`verdict`]: what an op may do given what the backend read: refusals
//!   and their messages, a duplicate id reported to the parent.
//! - [`lease`]: taking, renewing and checking leases and fencing tokens.
//! - [`mailbox`]: actors' mailboxes: their bounds, atomic requests' turns.
//! - [`flow`]: activities' flow control: whether an attempt may take a
//!   slot under its activity's limits.
//! - [`cleanup`]: what an instance's end, its next execution or its purge
//!   removes.
//! - [`feed`]: which op makes which change-feed entry, and what an entry
//!   means when read back.
//! - [`group`]: how a writer cuts its queue of batches into transactions.
//! - [`query`]: the SQL of an instance listing, for either placeholder style.

pub mod archive;
pub mod cleanup;
pub mod feed;
pub mod flow;
pub mod group;
pub mod lease;
pub mod mailbox;
pub mod query;
pub mod verdict;

use reprise_core::store::StoreError;

/// A value as JSON text for a column. A value that cannot be encoded fails
/// the batch: storing a default in its place would change what the engine
/// reads back. The batch itself is at fault, so it is a conflict, which the
/// caller does not retry.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Conflict(e.to_string()))
}

/// A time, count or limit as an SQL integer: those are signed, and a time
/// past `i64::MAX` ms is as good as never, a limit that large as none.
pub fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A number unlikely to be any other handle's, for the change feed's
/// `origin` column: the feed leaves out a handle's own changes by it.
pub fn handle_origin() -> i64 {
    use std::hash::BuildHasher;
    // Only a seed: a clock set before 1970 reads as 0 and the seed still
    // differs by process, and each `RandomState` is keyed afresh, so two
    // handles never share an origin in practice, in one process or in two.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let hash = std::collections::hash_map::RandomState::new().hash_one((std::process::id(), nanos));
    // Non-negative, so it fits a signed column as it is.
    (hash >> 1) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_numbers_saturate_and_origins_differ() {
        assert_eq!(sql_int(7), 7);
        assert_eq!(sql_int(u64::MAX), i64::MAX);
        assert_eq!(sql_int(usize::MAX as u64), i64::MAX);
        let (a, b) = (handle_origin(), handle_origin());
        assert!(a >= 0 && b >= 0);
        assert_ne!(a, b);
    }

    #[test]
    fn json_encodes_what_it_is_given() {
        assert_eq!(json(&vec![1, 2]).unwrap(), "[1,2]");
        // A map whose keys are not strings has no JSON form: refused, not
        // stored as an empty string.
        let map = std::collections::HashMap::from([((1, 2), 3)]);
        assert!(matches!(json(&map), Err(StoreError::Conflict(_))));
    }
}
