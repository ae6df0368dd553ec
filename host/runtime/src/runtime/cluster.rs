//! Several workers sharing one database: each owns a fair share of the
//! units of work (see [`crate::ownership`]) and executes only those.
//!
//! A cluster worker holds a membership lease (`host/<owner>`) and the
//! leases of the units it owns. Every third of the lease's time to live it
//! runs a round: it renews what it holds, counts the live members, and
//! moves towards its share, `ceil(units / members)`: it gives up units
//! above its share (so a worker that joins finds some free) and takes free
//! units below it (those given up, or left to run out by a worker that
//! died or stalled). A unit it gains has its running instances recovered
//! and its activities rescanned; a unit it loses has its hot instances
//! stopped. Fencing makes the hand-over safe whatever the timing: once a
//! unit's lease has moved on, its former owner's commits for it are
//! refused.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::worker::{Worker, WorkerHandle, granted, owner_name, take_lease};
use super::{Runtime, Shared, watch};
use crate::error::Error;
use crate::ownership::{UNITS, Unit};
use crate::store::{Op, StoreError};

/// The membership lease of a cluster worker.
pub(super) fn member_lease(owner: &str) -> String {
    format!("{MEMBER_PREFIX}{owner}")
}

const MEMBER_PREFIX: &str = "host/";

impl Runtime {
    /// Makes this process one of the workers that share the database's
    /// work, each executing the instances of the partitions it owns (and
    /// one of them the actors). It takes a first share before returning;
    /// its leases last `ttl` and are renewed every third of it. When a
    /// worker joins, leaves or dies, the others rebalance within a few
    /// rounds. Beside a worker started with
    /// [`Runtime::start_leased_worker`], which takes everything, it waits
    /// for that one to stop.
    pub async fn start_cluster_worker(
        &self,
        activity_concurrency: usize,
        ttl: Duration,
    ) -> Result<WorkerHandle, Error> {
        let owner = owner_name();
        // A member first, so others count it before it takes anything.
        granted(take_lease(&self.shared, &member_lease(&owner), &owner, ttl)).await?;
        tracing::info!(%owner, "joined the cluster");
        let handle = self.start_loops(activity_concurrency, Some(owner.clone()));
        let member = Member {
            worker: Arc::downgrade(&handle.worker),
            owner,
            ttl,
        };
        member.round(&self.shared).await?;
        let rounds = tokio::spawn(member.run());
        handle.worker.lock_tasks().push(rounds);
        Ok(handle)
    }
}

/// A cluster worker's lease keeping.
struct Member {
    worker: Weak<Worker>,
    owner: String,
    ttl: Duration,
}

impl Member {
    async fn run(self) {
        loop {
            tokio::time::sleep(self.ttl / 3).await;
            let Some(worker) = self.worker.upgrade() else {
                return;
            };
            if let Err(error) = self.round(&worker.shared).await {
                tracing::error!(%error, "cannot keep this worker's leases");
            }
        }
    }

    /// Renews what it holds, then gives up or takes units towards its share.
    async fn round(&self, shared: &Arc<Shared>) -> Result<(), Error> {
        let owner = &self.owner;
        let membership = take_lease(shared, &member_lease(owner), owner, self.ttl);
        let held = shared.ownership.leased();
        let renewals: Vec<_> = held
            .iter()
            .map(|&(unit, token)| {
                (
                    unit,
                    token,
                    take_lease(shared, &unit.lease(), owner, self.ttl),
                )
            })
            .collect();
        granted(membership).await?;
        let mut gained = false;
        for (unit, token, ticket) in renewals {
            match granted(ticket).await {
                Ok(renewed) if renewed == token => {}
                Ok(renewed) => {
                    // It ran out and was taken afresh: another worker may
                    // have run its instances meanwhile.
                    lose(shared, unit);
                    shared.ownership.gain(unit, renewed);
                    gained = true;
                }
                Err(error) => {
                    tracing::warn!(%unit, %error, "lost a unit");
                    lose(shared, unit);
                }
            }
        }

        let now = shared.now_ms();
        let leases = shared.store.leases().await?;
        let members = leases
            .iter()
            .filter(|l| l.name.starts_with(MEMBER_PREFIX) && l.is_held(now))
            .count()
            .max(1);
        let share = UNITS.div_ceil(members);
        let owned = shared.ownership.leased();
        if owned.len() > share {
            let surplus: Vec<Unit> = owned[share..].iter().map(|&(unit, _)| unit).collect();
            for &unit in &surplus {
                lose(shared, unit);
            }
            let batch = surplus
                .iter()
                .map(|unit| Op::ReleaseLease {
                    name: unit.lease(),
                    owner: owner.clone(),
                })
                .collect();
            shared
                .store
                .commit(batch)
                .await
                .map_err(|_| StoreError::Closed)??;
            tracing::info!(given_up = surplus.len(), members, "rebalanced");
        } else if owned.len() < share {
            let free: Vec<(Unit, _)> = Unit::all()
                .filter(|&unit| !shared.ownership.owns(unit))
                .filter(|unit| {
                    let name = unit.lease();
                    !leases.iter().any(|l| l.name == name && l.is_held(now))
                })
                .take(share - owned.len())
                .map(|unit| (unit, take_lease(shared, &unit.lease(), owner, self.ttl)))
                .collect();
            for (unit, ticket) in free {
                match granted(ticket).await {
                    Ok(token) => {
                        shared.ownership.gain(unit, token);
                        tracing::info!(%unit, token, "took a unit");
                        gained = true;
                    }
                    // Another worker was quicker.
                    Err(error) => tracing::debug!(%unit, %error, "unit not taken"),
                }
            }
        }
        if gained {
            shared
                .activity_full_scan
                .store(true, std::sync::atomic::Ordering::Relaxed);
            watch::recover(shared).await?;
        }
        Ok(())
    }
}

/// Stops executing the unit's work here.
fn lose(shared: &Shared, unit: Unit) {
    shared.ownership.lose(unit);
    if let Unit::Partition(_) = unit {
        shared.router.stop_where(
            |id| Unit::of_instance(id) == unit,
            "its partition moved to another worker",
        );
    }
}
