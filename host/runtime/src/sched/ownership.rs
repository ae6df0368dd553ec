//! Which instances and actors this process may execute.
//!
//! A database's work is divided into units: [`PARTITIONS`] partitions of
//! orchestration instances, by a hash of the instance id, and one unit for
//! all actors (an atomic request spans actors of any key, so they stay
//! together). A worker executes what its units hold and nothing else: it
//! routes messages, recovers instances and runs activities for its own
//! partitions only, and handles actor mailboxes only while it owns the
//! actors unit.
//!
//! A worker alone on a database in this process owns every unit without a
//! fence. A leased worker owns each unit by a lease of the same name, and
//! every commit of the work of a unit carries the fencing token the lease
//! had when the work began ([`Op::ExpectLease`], see [`Tenure`]): once the
//! lease has moved on, nothing the former owner commits for that unit is
//! applied, however long it was paused.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::Op;

/// Partitions of orchestration instances. Fixed: an instance's partition
/// must be the same for every host of a database, of every version.
pub const PARTITIONS: u32 = 16;

/// Units of ownership: the partitions, then the actors.
pub(crate) const UNITS: usize = PARTITIONS as usize + 1;

/// A unit of work that one host at a time owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Unit {
    /// The instances whose id hashes to this partition, with their
    /// activities.
    Partition(u32),
    /// Every actor.
    Actors,
}

impl Unit {
    /// Every unit, partitions first.
    pub(crate) fn all() -> impl Iterator<Item = Unit> {
        (0..PARTITIONS).map(Unit::Partition).chain([Unit::Actors])
    }

    /// The unit of an instance.
    pub(crate) fn of_instance(id: &str) -> Unit {
        Unit::Partition(partition_of(id))
    }

    /// The name of the lease that owns it.
    pub(crate) fn lease(self) -> String {
        match self {
            Unit::Partition(n) => format!("partition/{n}"),
            Unit::Actors => "actors".to_owned(),
        }
    }

    fn index(self) -> usize {
        match self {
            Unit::Partition(n) => n as usize,
            Unit::Actors => UNITS - 1,
        }
    }

    fn at(index: usize) -> Unit {
        if index == UNITS - 1 {
            Unit::Actors
        } else {
            Unit::Partition(index as u32)
        }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.lease())
    }
}

/// The partition of an instance id: 64-bit FNV-1a of its bytes, modulo
/// [`PARTITIONS`]. Spelled out rather than taken from a library so that it
/// can never change under a database.
pub fn partition_of(instance_id: &str) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in instance_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(PARTITIONS)) as u32
}

/// Not owned.
const NONE: u64 = 0;
/// Owned without a lease: the only worker on the database.
const UNFENCED: u64 = u64::MAX;

/// The units this process owns, each with its fencing token. Read on every
/// message routed and every commit, so one atomic load per question.
pub(crate) struct Ownership {
    tokens: [AtomicU64; UNITS],
}

impl Default for Ownership {
    fn default() -> Self {
        Self {
            tokens: std::array::from_fn(|_| AtomicU64::new(NONE)),
        }
    }
}

impl Ownership {
    fn token(&self, unit: Unit) -> u64 {
        self.tokens[unit.index()].load(Ordering::Acquire)
    }

    /// Whether this process may execute the unit's work.
    pub(crate) fn owns(&self, unit: Unit) -> bool {
        self.token(unit) != NONE
    }

    /// Whether this process executes every instance.
    pub(crate) fn owns_every_partition(&self) -> bool {
        (0..PARTITIONS).all(|n| self.owns(Unit::Partition(n)))
    }

    /// Whether this process may execute the instance.
    pub(crate) fn owns_instance(&self, id: &str) -> bool {
        self.owns(Unit::of_instance(id))
    }

    /// Owns every unit, unfenced: nobody else works on the database.
    pub(crate) fn own_everything(&self) {
        for token in &self.tokens {
            token.store(UNFENCED, Ordering::Release);
        }
    }

    /// Owns the unit under the lease's fencing token.
    pub(crate) fn gain(&self, unit: Unit, token: u64) {
        self.tokens[unit.index()].store(token, Ordering::Release);
    }

    /// No longer owns the unit.
    pub(crate) fn lose(&self, unit: Unit) {
        self.tokens[unit.index()].store(NONE, Ordering::Release);
    }

    /// The units owned under a lease, with their tokens.
    pub(crate) fn leased(&self) -> Vec<(Unit, u64)> {
        (0..UNITS)
            .map(|i| (Unit::at(i), self.tokens[i].load(Ordering::Acquire)))
            .filter(|&(_, token)| token != NONE && token != UNFENCED)
            .collect()
    }

    /// This process's current tenure of the unit, for work it takes on
    /// now; `Err` with the reason when the unit is not its (any more).
    pub(crate) fn tenure(&self, unit: Unit) -> Result<Tenure, String> {
        match self.token(unit) {
            NONE => Err(format!("this process does not own {unit}")),
            token => Ok(Tenure { unit, token }),
        }
    }
}

impl Ownership {
    /// Whether the tenure is still this process's current one of its unit.
    pub(crate) fn is_current(&self, tenure: &Tenure) -> bool {
        self.token(tenure.unit) == tenure.token
    }
}

/// One period of this process's ownership of a unit, as work taken on
/// during it remembers it. That work's commits are fenced by the token of
/// this tenure, so it can never commit under a later one: should the lease
/// run out and be taken again, by this process or another, the store
/// refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tenure {
    unit: Unit,
    token: u64,
}

impl Tenure {
    /// The check a commit of the work carries, if the unit is leased.
    pub(crate) fn fence(&self) -> Option<Op> {
        (self.token != UNFENCED).then(|| Op::ExpectLease {
            name: self.unit.lease(),
            token: self.token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_fixed_and_spread() {
        // These values are on disk in every database: they must not move.
        assert_eq!(
            ["", "a", "b", "order-1", "order-2"].map(partition_of),
            [5, 12, 5, 13, 4]
        );
        let mut counts = [0u32; PARTITIONS as usize];
        for n in 0..16_000 {
            counts[partition_of(&format!("{n:024x}")) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1_200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn a_commit_is_fenced_by_the_token_its_unit_had_when_the_work_began() {
        let ownership = Ownership::default();
        let unit = Unit::of_instance("order-1");
        assert!(ownership.tenure(unit).is_err());
        ownership.gain(unit, 7);
        let tenure = ownership.tenure(unit).unwrap();
        assert_eq!(ownership.leased(), vec![(unit, 7)]);
        assert!(ownership.owns_instance("order-1") && !ownership.owns(Unit::Actors));
        // Lost and taken again: the work begun before keeps its old token.
        ownership.lose(unit);
        assert!(!ownership.owns_instance("order-1"));
        ownership.gain(unit, 9);
        assert!(matches!(
            tenure.fence(),
            Some(Op::ExpectLease { name, token: 7 }) if name == "partition/13"
        ));
        ownership.own_everything();
        assert!(ownership.tenure(Unit::Actors).unwrap().fence().is_none());
        assert!(ownership.leased().is_empty());
        assert_eq!(Unit::all().count(), UNITS);
    }
}
