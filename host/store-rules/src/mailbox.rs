//! Actors' mailboxes: one queue per actor that holds its operations and its
//! turns in atomic requests, in arrival order, up to a bound.
//!
//! Each backend keeps, beside the mailbox rows, one row per actor with
//! work (`actor_queues`: how many rows it holds and when the first is due),
//! updated in the transaction that adds or removes rows. That row is what
//! a bound is checked against (without counting the mailbox), what the
//! dispatcher scans to find actors with due work (without reading past a
//! hot actor's backlog), and, on PostgreSQL, the row concurrent senders to
//! one actor take turns on, so a bound holds across hosts.

use std::collections::BTreeMap;

use reprise_core::store::{ActorId, ActorOperation, StoreError};

/// Whether a mailbox that holds `depth` operations once the new one is in
/// may keep it.
pub fn admit(actor: &ActorId, depth: u64, capacity: Option<u64>) -> Result<(), StoreError> {
    match capacity {
        Some(capacity) if depth > capacity => Err(StoreError::MailboxFull {
            actor: actor.clone(),
            capacity,
        }),
        _ => Ok(()),
    }
}

/// The turns an atomic request takes: one per actor it names, each with
/// the request's first operation on that actor, in the order the actors
/// first appear.
pub fn turns(operations: &[ActorOperation]) -> Vec<&ActorOperation> {
    let mut turns: Vec<&ActorOperation> = Vec::new();
    for operation in operations {
        if !turns.iter().any(|t| t.target == operation.target) {
            turns.push(operation);
        }
    }
    turns
}

/// Rows removed, counted per actor, in the actors' order: the order a
/// backend updates their queue rows in, the same in every transaction, so
/// two writers never wait for each other's rows in a circle.
pub fn removed_per_actor(removed: impl IntoIterator<Item = ActorId>) -> BTreeMap<ActorId, u64> {
    let mut counts = BTreeMap::new();
    for actor in removed {
        *counts.entry(actor).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(key: &str) -> ActorId {
        ActorId {
            kind: "account".into(),
            key: key.into(),
        }
    }

    fn op(key: &str, name: &str) -> ActorOperation {
        ActorOperation {
            target: actor(key),
            operation: name.into(),
            input: "1".into(),
        }
    }

    #[test]
    fn a_mailbox_takes_operations_up_to_its_bound() {
        let a = actor("a");
        assert!(admit(&a, 3, Some(3)).is_ok());
        assert!(admit(&a, 1_000_000, None).is_ok());
        let full = admit(&a, 4, Some(3)).unwrap_err();
        assert_eq!(
            full.to_string(),
            "the mailbox of actor account/a is full: it holds 3 operations, its bound"
        );
    }

    #[test]
    fn an_atomic_request_takes_one_turn_per_actor_at_its_first_operation() {
        let operations = [op("b", "withdraw"), op("a", "deposit"), op("b", "fee")];
        let turns: Vec<(&str, &str)> = turns(&operations)
            .into_iter()
            .map(|t| (t.target.key.as_str(), t.operation.as_str()))
            .collect();
        assert_eq!(turns, [("b", "withdraw"), ("a", "deposit")]);
    }

    #[test]
    fn removals_are_counted_per_actor_in_order() {
        let counts = removed_per_actor([actor("b"), actor("a"), actor("b")]);
        let counts: Vec<(&str, u64)> = counts.iter().map(|(a, n)| (a.key.as_str(), *n)).collect();
        assert_eq!(counts, [("a", 1), ("b", 2)]);
    }
}
