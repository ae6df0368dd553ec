//! The worker: the loops that make a process execute instances, activities,
//! timers and actors, and the leases that decide which process executes
//! what (see [`crate::ownership`]).
//!
//! A lease is a row in the store, not a lock file: it names its owner and
//! a fencing token, and it expires. A worker renews its leases every third
//! of their time to live. A worker killed with SIGKILL leaves its leases to
//! run out, and other workers take them over then.
//!
//! A worker started with [`Runtime::start_leased_worker`] works alone: it
//! takes the database's `worker` lease and every unit's, or none. One
//! started with [`Runtime::start_cluster_worker`] shares the units with the
//! other cluster workers (see `cluster`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{Runtime, Shared, random_id, watch};
use crate::error::Error;
use crate::ownership::Unit;
use crate::store::{CommitTicket, Committed, Op, StoreError};

/// The lease of a worker that works alone on its database.
pub(super) const WORKER_LEASE: &str = "worker";

impl Runtime {
    /// Makes this process execute instances: recovers those left running,
    /// then runs the activity and timer loops and watches for work written by
    /// other processes. Call once, inside a tokio runtime. Nothing stops a
    /// second process from doing the same on the database: a process that
    /// may have company should use [`Runtime::start_leased_worker`] or
    /// [`Runtime::start_cluster_worker`].
    pub fn start_worker(&self, activity_concurrency: usize) -> WorkerHandle {
        self.shared.ownership.own_everything();
        self.start_loops(activity_concurrency, None)
    }

    /// Like [`Runtime::start_worker`], once this process holds the
    /// database's worker lease and every unit's lease for `ttl`; fails with
    /// [`Error::Conflict`] (naming a holder) while another process holds
    /// any. The leases are renewed every third of `ttl`; if one is lost, the
    /// worker stops. After a crash, the next worker can start once `ttl` has
    /// passed.
    pub async fn start_leased_worker(
        &self,
        activity_concurrency: usize,
        ttl: Duration,
    ) -> Result<WorkerHandle, Error> {
        let owner = owner_name();
        let tokens = take_everything(&self.shared, &owner, ttl).await?;
        tracing::info!(%owner, "took the worker lease");
        for &(unit, token) in &tokens {
            self.shared.ownership.gain(unit, token);
        }
        let handle = self.start_loops(activity_concurrency, Some(owner.clone()));
        let renewal = tokio::spawn(renew(Arc::downgrade(&handle.worker), owner, tokens, ttl));
        handle.worker.lock_tasks().push(renewal);
        Ok(handle)
    }

    /// Starts the worker's loops; `lease` is the owner name its leases are
    /// taken under, if any.
    pub(super) fn start_loops(
        &self,
        activity_concurrency: usize,
        lease: Option<String>,
    ) -> WorkerHandle {
        let shared = self.shared.clone();
        shared.worker.store(true, Ordering::Relaxed);
        let (handover, handed_over) = tokio::sync::mpsc::unbounded_channel();
        *shared
            .activity_handover
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(handover);
        let tasks = vec![
            tokio::spawn(crate::activity::dispatch(
                shared.clone(),
                handed_over,
                activity_concurrency.max(1),
            )),
            tokio::spawn(crate::timers::run(shared.clone())),
            tokio::spawn(crate::actors::dispatch(shared.clone())),
            tokio::spawn(watch::watch(shared)),
        ];
        WorkerHandle {
            worker: Arc::new(Worker {
                shared: self.shared.clone(),
                tasks: Mutex::new(tasks),
                lease,
            }),
        }
    }
}

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

/// Takes (or renews) the worker lease and then every unit's lease, each
/// in a batch of its own, queued together so they share a transaction. If
/// any is refused, gives back what it took: all or nothing.
async fn take_everything(
    shared: &Shared,
    owner: &str,
    ttl: Duration,
) -> Result<Vec<(Unit, u64)>, Error> {
    granted(take_lease(shared, WORKER_LEASE, owner, ttl)).await?;
    let tickets: Vec<_> = Unit::all()
        .map(|unit| (unit, take_lease(shared, &unit.lease(), owner, ttl)))
        .collect();
    let mut tokens = Vec::new();
    let mut refused = None;
    for (unit, ticket) in tickets {
        match granted(ticket).await {
            Ok(token) => tokens.push((unit, token)),
            Err(error) => refused = Some(error),
        }
    }
    match refused {
        None => Ok(tokens),
        Some(error) => {
            let _ = release(shared, owner).await;
            Err(error)
        }
    }
}

/// Renews the leases every third of `ttl` while the worker lives; stops the
/// worker if one is lost or changed hands.
async fn renew(
    worker: std::sync::Weak<Worker>,
    owner: String,
    tokens: Vec<(Unit, u64)>,
    ttl: Duration,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let Some(worker) = worker.upgrade() else {
            return;
        };
        match take_everything(&worker.shared, &owner, ttl).await {
            Ok(renewed) if renewed == tokens => {}
            outcome => {
                let why = match outcome {
                    Ok(_) => "a lease changed hands while it had run out".to_owned(),
                    Err(error) => error.to_string(),
                };
                tracing::error!(%why, "lost the worker lease; stopping the worker");
                worker.stop();
                // Taken afresh after running out: another worker may have
                // worked meanwhile. Give them back rather than sit on them.
                drop(release(&worker.shared, &owner));
                return;
            }
        }
    }
}

/// Queues the giving up of every lease `owner` may hold: the worker lease,
/// its cluster membership and every unit's.
pub(super) fn release(shared: &Shared, owner: &str) -> CommitTicket {
    let names = [WORKER_LEASE.to_owned(), super::cluster::member_lease(owner)]
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

/// A running worker, shared by its handle and its lease renewal.
pub(super) struct Worker {
    pub(super) shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The owner name of the leases it holds, if it took any.
    lease: Option<String>,
}

impl Worker {
    pub(super) fn lock_tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn stop(&self) {
        // The fences stay: episodes still finishing commit under the old
        // tokens, which the store refuses once another worker takes over.
        self.shared.worker.store(false, Ordering::Relaxed);
        *self
            .shared
            .activity_handover
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        for task in self.lock_tasks().iter() {
            task.abort();
        }
    }
}

/// The worker's background tasks; dropping the handle does not stop them.
pub struct WorkerHandle {
    pub(super) worker: Arc<Worker>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("tasks", &self.worker.lock_tasks().len())
            .field("lease", &self.worker.lease)
            .finish()
    }
}

impl WorkerHandle {
    /// Stops the worker: its loops end and this process starts no more
    /// instances (the runtime stays usable as a client). Instances already
    /// running here finish their current episode. Leases it holds are given
    /// up when the store gets to it; [`WorkerHandle::stop`] waits for that.
    pub fn abort(&self) {
        self.worker.stop();
        drop(self.release());
    }

    /// Stops the worker like [`WorkerHandle::abort`] and waits until its
    /// leases are given up, so other workers can take its work at once
    /// (before a process exits, say).
    pub async fn stop(&self) {
        self.worker.stop();
        if let Some(released) = self.release() {
            // If it is lost, the leases simply run out.
            let _ = released.await;
        }
    }

    fn release(&self) -> Option<CommitTicket> {
        let owner = self.worker.lease.as_ref()?;
        Some(release(&self.worker.shared, owner))
    }
}
