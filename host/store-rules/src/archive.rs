//! Restoring an archive: when a database may take one, and whether what
//! arrived is the whole archive. Both backends read the counts and leases
//! with their SQL and insert with their own; the decisions are here.

use reprise_core::archive::{Counts, TABLES};
use reprise_core::store::{Lease, StoreError};

/// Refuses a database that holds any archived row: an import never merges
/// into existing work (ids, sequence numbers and histories would collide).
pub fn refuse_unless_empty(held: &Counts) -> Result<(), StoreError> {
    if held.0.iter().all(|count| *count == 0) {
        return Ok(());
    }
    Err(StoreError::Conflict(format!(
        "the database is not empty: it holds {}; import into a new database",
        held.summary()
    )))
}

/// Refuses a database on which a lease is held at `now`: the worker that
/// holds it reads new work from the change feed, which an import does not
/// write, so it would not run what arrives.
pub fn refuse_held_leases(leases: &[Lease], now: u64) -> Result<(), StoreError> {
    match leases.iter().find(|lease| lease.is_held(now)) {
        None => Ok(()),
        Some(lease) => Err(StoreError::Conflict(format!(
            "lease {} on the database is held by {}: stop its workers before importing, \
             and start them after",
            lease.name, lease.owner
        ))),
    }
}

/// What a restore has received so far, checked piece by piece.
#[derive(Debug, Default)]
pub struct Received {
    counts: Counts,
    table: usize,
}

impl Received {
    /// Notes a piece of `rows` rows of the table at `table`: tables come
    /// in order, so a component arrives before the registrations naming it.
    pub fn rows(&mut self, table: usize, rows: usize) -> Result<(), StoreError> {
        if table >= TABLES.len() || table < self.table {
            return Err(StoreError::Incomplete(format!(
                "the archive's tables are out of order (table {table} after {}); nothing was imported",
                self.table
            )));
        }
        self.table = table;
        self.counts.add(table, rows);
        Ok(())
    }

    /// Checks the archive's end against what arrived, before the commit.
    pub fn end(&self, declared: &Counts) -> Result<Counts, StoreError> {
        if *declared == self.counts {
            return Ok(self.counts.clone());
        }
        Err(StoreError::Incomplete(format!(
            "the archive's end counts {}, and {} arrived; nothing was imported",
            declared.summary(),
            self.counts.summary()
        )))
    }
}

/// The input ended before the archive's end.
pub fn ended_early() -> StoreError {
    StoreError::Incomplete("the archive ended before its end; nothing was imported".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(owner: &str, token: u64, expires_at: u64) -> Lease {
        Lease {
            name: "worker".into(),
            owner: owner.into(),
            token,
            expires_at,
        }
    }

    #[test]
    fn only_an_empty_database_with_no_lease_held_takes_an_archive() {
        assert!(refuse_unless_empty(&Counts::default()).is_ok());
        let mut held = Counts::default();
        held.add(2, 3);
        assert_eq!(
            refuse_unless_empty(&held).unwrap_err().to_string(),
            "conflict: the database is not empty: it holds 3 instances; import into a new database"
        );
        let expired = lease("old", 4, 100);
        assert!(refuse_held_leases(std::slice::from_ref(&expired), 101).is_ok());
        let error = refuse_held_leases(&[expired, lease("w-1", 5, 200)], 101).unwrap_err();
        assert!(error.to_string().contains("held by w-1"), "{error}");
    }

    #[test]
    fn what_arrived_must_be_what_the_end_counts_in_table_order() {
        let mut received = Received::default();
        received.rows(0, 2).unwrap();
        received.rows(3, 5).unwrap();
        received.rows(3, 1).unwrap();
        let mut declared = Counts::default();
        declared.add(0, 2);
        declared.add(3, 6);
        assert_eq!(received.end(&declared).unwrap(), declared);
        declared.add(3, 1);
        assert!(matches!(
            received.end(&declared),
            Err(StoreError::Incomplete(_))
        ));
        assert!(matches!(
            received.rows(1, 1),
            Err(StoreError::Incomplete(_))
        ));
    }
}
