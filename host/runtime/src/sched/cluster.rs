//! Several workers sharing one database: each owns a fair share of the
//! units of work (see [`super::ownership`]) and executes only those.
//!
//! A cluster worker holds a membership lease (`host/<owner>`) and the
//! leases of the units it owns. Every third of the lease's time to live it
//! runs a round: it renews what it holds, counts the live members, and
//! moves towards its share, `ceil(units / members)`: it gives up units
//! above its share (so a worker that joins finds some free) and takes free
//! units below it (those given up, or left to run out by a worker that
//! died or stalled), and any unit that stayed free for a whole round. A
//! unit it gains has its running instances recovered and its activities
//! rescanned; a unit it loses has its hot instances stopped. Fencing makes
//! the hand-over safe whatever the timing: work of a unit commits only
//! under the tenure it began in (see [`super::ownership::Tenure`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::leases::{MEMBER_PREFIX, granted, member_lease, owner_name, take_lease};
use super::ownership::{UNITS, Unit};
use super::worker::{Worker, WorkerHandle, start_loops};
use super::{Shared, watch};
use crate::error::Error;
use crate::store::{Op, StoreError};

/// Makes this process one of the workers that share the database's
/// work: see
/// [`Runtime::start_cluster_worker`](crate::Runtime::start_cluster_worker).
pub(crate) async fn start(
    shared: &Arc<Shared>,
    activity_concurrency: usize,
    ttl: Duration,
) -> Result<WorkerHandle, Error> {
    let owner = owner_name();
    // A member first, so others count it before it takes anything.
    granted(take_lease(shared, &member_lease(&owner), &owner, ttl)).await?;
    tracing::info!(%owner, "joined the cluster");
    let handle = start_loops(shared, activity_concurrency, Some(owner.clone()));
    let mut member = Member {
        worker: Arc::downgrade(&handle.worker),
        owner,
        ttl,
        unrecovered: false,
        free_before: HashSet::new(),
    };
    if let Err(error) = member.round(shared).await {
        handle.stop().await;
        return Err(error);
    }
    let rounds = tokio::spawn(member.run());
    handle.worker.lock_tasks().push(rounds);
    Ok(handle)
}

/// Which processes hold units of work now, with how many each.
pub(crate) async fn unit_holders(shared: &Shared) -> Result<BTreeMap<String, usize>, Error> {
    let now = shared.now_ms();
    let units: HashSet<String> = Unit::all().map(Unit::lease).collect();
    let mut held = BTreeMap::new();
    for lease in shared.store.leases().await? {
        if units.contains(&lease.name) && lease.is_held(now) {
            *held.entry(lease.owner).or_insert(0) += 1;
        }
    }
    Ok(held)
}

/// A cluster worker's lease keeping.
struct Member {
    worker: Weak<Worker>,
    owner: String,
    ttl: Duration,
    /// Units were gained whose instances have not been recovered yet.
    unrecovered: bool,
    /// Units nobody held at the last round.
    free_before: HashSet<Unit>,
}

impl Member {
    async fn run(mut self) {
        loop {
            tokio::time::sleep(self.ttl / 3).await;
            let Some(worker) = self.worker.upgrade() else {
                return;
            };
            let began = std::time::Instant::now();
            if let Err(error) = self.round(&worker.shared).await {
                tracing::error!(%error, "cannot keep this worker's leases");
            }
            // The leases run out after three such rounds: say so early.
            if began.elapsed() > self.ttl / 3 {
                tracing::warn!(took = ?began.elapsed(), "a lease round took longer than a third of the lease");
            }
        }
    }

    /// Renews what it holds, gives up or takes units towards its share,
    /// recovers what it gained, and last renews its membership: a worker
    /// whose rounds fail stops counting as a member once that lease runs
    /// out, and the others' shares grow to cover its units.
    async fn round(&mut self, shared: &Arc<Shared>) -> Result<(), Error> {
        self.renew(shared).await;
        let now = shared.now_ms();
        let leases = shared.store.leases().await?;
        let held = |unit: Unit| {
            let name = unit.lease();
            leases.iter().any(|l| l.name == name && l.is_held(now))
        };
        let members = leases
            .iter()
            .filter(|l| l.name.starts_with(MEMBER_PREFIX) && l.is_held(now))
            .count()
            .max(1);
        let share = UNITS.div_ceil(members);
        let owned = shared.sched.ownership.leased();
        let free: HashSet<Unit> = Unit::all().filter(|&unit| !held(unit)).collect();
        if owned.len() > share {
            self.give_up(shared, owned, share, members).await?;
        } else {
            // Below its share it takes free units; and any unit left free
            // for a whole round, whatever its share, so that none stays
            // unowned while some member cannot take its own share.
            let wanted = share - owned.len();
            let orphans = free.intersection(&self.free_before).count();
            let take: Vec<Unit> = Unit::all()
                .filter(|unit| free.contains(unit))
                .take(wanted.max(orphans))
                .collect();
            self.take(shared, take).await;
        }
        self.free_before = free;
        if self.unrecovered {
            shared
                .sched
                .activity_full_scan
                .store(true, std::sync::atomic::Ordering::Relaxed);
            watch::recover(shared).await?;
            self.unrecovered = false;
        }
        granted(take_lease(
            shared,
            &member_lease(&self.owner),
            &self.owner,
            self.ttl,
        ))
        .await?;
        Ok(())
    }

    /// Renews the units it holds; a unit whose lease was refused, or ran
    /// out and was granted afresh, is no longer this worker's.
    async fn renew(&mut self, shared: &Arc<Shared>) {
        let renewals: Vec<_> = shared
            .sched
            .ownership
            .leased()
            .into_iter()
            .map(|(unit, token)| {
                let ticket = take_lease(shared, &unit.lease(), &self.owner, self.ttl);
                (unit, token, ticket)
            })
            .collect();
        for (unit, token, ticket) in renewals {
            match granted(ticket).await {
                Ok(renewed) if renewed == token => {}
                Ok(_) => {
                    // Another worker may have run its instances meanwhile.
                    // Given back; taken again at a later round, once the
                    // instances stopped here are gone.
                    tracing::warn!(%unit, "a unit's lease ran out before it was renewed");
                    lose(shared, unit);
                    drop(shared.store.commit(vec![Op::ReleaseLease {
                        name: unit.lease(),
                        owner: self.owner.clone(),
                    }]));
                }
                Err(Error::Conflict(why)) => {
                    tracing::warn!(%unit, %why, "lost a unit");
                    lose(shared, unit);
                }
                // The store failed: the lease may still be this worker's,
                // and its fence keeps the work safe if it is not.
                Err(error) => tracing::warn!(%unit, %error, "cannot renew a unit's lease"),
            }
        }
    }

    /// Gives up the units above its share: partitions first, from the
    /// last, and the actors last of all (they move with all their
    /// mailboxes' work).
    async fn give_up(
        &self,
        shared: &Arc<Shared>,
        mut owned: Vec<(Unit, u64)>,
        share: usize,
        members: usize,
    ) -> Result<(), Error> {
        // Kept first: the actors, then partitions from the first.
        owned.sort_by_key(|&(unit, _)| match unit {
            Unit::Actors => 0,
            Unit::Partition(n) => n + 1,
        });
        let surplus: Vec<Unit> = owned[share..].iter().map(|&(unit, _)| unit).collect();
        for &unit in &surplus {
            lose(shared, unit);
        }
        let batch = surplus
            .iter()
            .map(|unit| Op::ReleaseLease {
                name: unit.lease(),
                owner: self.owner.clone(),
            })
            .collect();
        shared
            .store
            .commit(batch)
            .await
            .map_err(|_| StoreError::Closed)??;
        tracing::info!(given_up = surplus.len(), members, "rebalanced");
        Ok(())
    }

    /// Tries to take the units; another worker may be quicker.
    async fn take(&mut self, shared: &Arc<Shared>, units: Vec<Unit>) {
        let tickets: Vec<_> = units
            .into_iter()
            .map(|unit| {
                (
                    unit,
                    take_lease(shared, &unit.lease(), &self.owner, self.ttl),
                )
            })
            .collect();
        for (unit, ticket) in tickets {
            match granted(ticket).await {
                Ok(token) => {
                    shared.sched.ownership.gain(unit, token);
                    tracing::info!(%unit, token, "took a unit");
                    self.unrecovered = true;
                }
                Err(error) => tracing::debug!(%unit, %error, "unit not taken"),
            }
        }
    }
}

/// Stops executing the unit's work here.
fn lose(shared: &Shared, unit: Unit) {
    shared.sched.ownership.lose(unit);
    if let Unit::Partition(_) = unit {
        shared.sched.router.stop_where(
            |id| Unit::of_instance(id) == unit,
            "its partition moved to another worker",
        );
    }
}
