//! The worker: the loops that make a process execute instances, activities,
//! timers and actors, and the leases that decide which process executes
//! what (see [`super::ownership`]).
//!
//! A worker renews its leases (see `leases`) every third of their time to
//! live. A worker killed with SIGKILL leaves its leases to
//! run out, and other workers take them over then.
//!
//! A worker started with `Runtime::start_leased_worker` works alone: it
//! takes the database's `worker` lease and every unit's, or none. One
//! started with `Runtime::start_cluster_worker` shares the units with the
//! other cluster workers (see `cluster`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::leases::{WORKER_LEASE, granted, owner_name, release_all, take_lease};
use super::ownership::Unit;
use super::{Shared, activities, actors, forget, timers, watch};
use crate::error::Error;
use crate::store::CommitTicket;

/// Makes this process execute every unit of the database, unfenced:
/// see [`Runtime::start_worker`](crate::Runtime::start_worker).
pub(crate) fn start_alone(shared: &Arc<Shared>, activity_concurrency: usize) -> WorkerHandle {
    shared.sched.ownership.own_everything();
    start_loops(shared, activity_concurrency, None)
}

/// Makes this process execute every unit once it holds the worker lease
/// and every unit's: see
/// [`Runtime::start_leased_worker`](crate::Runtime::start_leased_worker).
pub(crate) async fn start_leased(
    shared: &Arc<Shared>,
    activity_concurrency: usize,
    ttl: Duration,
) -> Result<WorkerHandle, Error> {
    let owner = owner_name();
    let tokens = take_everything(shared, &owner, ttl).await?;
    tracing::info!(%owner, "took the worker lease");
    for &(unit, token) in &tokens {
        shared.sched.ownership.gain(unit, token);
    }
    let handle = start_loops(shared, activity_concurrency, Some(owner.clone()));
    let renewal = tokio::spawn(renew(Arc::downgrade(&handle.worker), owner, tokens, ttl));
    handle.worker.lock_tasks().push(renewal);
    Ok(handle)
}

/// Starts the worker's loops; `lease` is the owner name its leases are
/// taken under, if any.
pub(super) fn start_loops(
    shared: &Arc<Shared>,
    activity_concurrency: usize,
    lease: Option<String>,
) -> WorkerHandle {
    shared.sched.worker.store(true, Ordering::Relaxed);
    let (handover, handed_over) = tokio::sync::mpsc::unbounded_channel();
    *super::lock(&shared.sched.activity_handover) = Some(handover);
    let tasks = vec![
        tokio::spawn(activities::dispatch(
            shared.clone(),
            handed_over,
            activity_concurrency.max(1),
        )),
        tokio::spawn(timers::run(shared.clone())),
        tokio::spawn(actors::dispatch(shared.clone())),
        tokio::spawn(watch::watch(shared.clone())),
        tokio::spawn(forget::run(shared.clone())),
    ];
    WorkerHandle {
        worker: Arc::new(Worker {
            shared: shared.clone(),
            tasks: Mutex::new(tasks),
            lease,
        }),
    }
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
            let _ = release_all(shared, owner).await;
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
                drop(release_all(&worker.shared, &owner));
                return;
            }
        }
    }
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
        self.shared.sched.worker.store(false, Ordering::Relaxed);
        *super::lock(&self.shared.sched.activity_handover) = None;
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
        drop(self.release_all());
    }

    /// Stops the worker like [`WorkerHandle::abort`] and waits until its
    /// leases are given up, so other workers can take its work at once
    /// (before a process exits, say).
    pub async fn stop(&self) {
        self.worker.stop();
        if let Some(released) = self.release_all() {
            // If it is lost, the leases simply run out.
            let _ = released.await;
        }
    }

    fn release_all(&self) -> Option<CommitTicket> {
        let owner = self.worker.lease.as_ref()?;
        Some(release_all(&self.worker.shared, owner))
    }
}
