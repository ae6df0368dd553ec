//! The lease rows that decide which process executes what: their names,
//! and taking, renewing and giving them up (see `worker` for a worker
//! alone, `cluster` for workers that share the units).
//!
//! A lease is a row in the store, not a lock file: it names its owner and
//! a fencing token, and it expires.

use std::time::Duration;

use super::Shared;
use super::ownership::Unit;
use crate::error::Error;
use crate::ids::random_id;
use crate::store::{CommitTicket, Committed, Op, StoreError};

/// The lease of a worker that works alone on its database.
pub(super) const WORKER_LEASE: &str = "worker";

/// The membership lease of a cluster worker.
pub(super) fn member_lease(owner: &str) -> String {
    format!("{MEMBER_PREFIX}{owner}")
}

pub(super) const MEMBER_PREFIX: &str = "host/";

/// A name for this process's leases, unique to it.
pub(super) fn owner_name() -> String {
    format!("process {} ({})", std::process::id(), random_id())
}

/// Queues the taking (or renewal) of a lease until `ttl` from now.
pub(super) fn take_lease(shared: &Shared, name: &str, owner: &str, ttl: Duration) -> CommitTicket {
    let now = shared.now_ms();
    let until = now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    shared.store.commit(vec![Op::TakeLease {
        name: name.to_owned(),
        owner: owner.to_owned(),
        now,
        until,
    }])
}

/// The fencing token a lease was taken with.
pub(super) async fn granted(ticket: CommitTicket) -> Result<u64, Error> {
    let Committed { lease, .. } = ticket.await.map_err(|_| StoreError::Closed)??;
    lease.ok_or_else(|| Error::Internal("the store granted a lease without a token".into()))
}

/// Queues the giving up of every lease `owner` may hold: the worker lease,
/// its cluster membership and every unit's.
pub(super) fn release_all(shared: &Shared, owner: &str) -> CommitTicket {
    let names = [WORKER_LEASE.to_owned(), member_lease(owner)]
        .into_iter()
        .chain(Unit::all().map(Unit::lease));
    shared.store.commit(
        names
            .map(|name| Op::ReleaseLease {
                name,
                owner: owner.to_owned(),
            })
            .collect(),
    )
}
