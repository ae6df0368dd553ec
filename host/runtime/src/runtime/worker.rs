//! The worker: the loops that make a process execute instances, activities,
//! timers and actors, and the lease that lets only one process at a time do
//! so on a database.
//!
//! The lease is a row in the store, not a lock file: it names its owner and
//! a fencing token, and it expires. A worker renews it every third of its
//! time to live; one that cannot (its store failed, or another took the
//! lease over after it stalled) stops. A worker killed with SIGKILL leaves
//! its lease to run out, and the next worker takes it over then.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{Runtime, Shared, random_id, watch};
use crate::error::Error;
use crate::store::{Committed, Op, StoreError};

/// The lease every worker of a database competes for.
pub(super) const WORKER_LEASE: &str = "worker";

impl Runtime {
    /// Makes this process execute instances: recovers those left running,
    /// then runs the activity and timer loops and watches for work written by
    /// other processes. Call once, inside a tokio runtime. Nothing stops a
    /// second process from doing the same on the database: a process that
    /// may have company should use [`Runtime::start_leased_worker`].
    pub fn start_worker(&self, activity_concurrency: usize) -> WorkerHandle {
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
                lease: None,
            }),
        }
    }

    /// Like [`Runtime::start_worker`], once this process holds the
    /// database's worker lease for `ttl`; fails with [`Error::Conflict`]
    /// (naming the holder) while another process holds it. The lease is
    /// renewed every third of `ttl`; if it is lost, the worker stops. After a
    /// crash, the next worker can start once `ttl` has passed.
    pub async fn start_leased_worker(
        &self,
        activity_concurrency: usize,
        ttl: Duration,
    ) -> Result<WorkerHandle, Error> {
        let owner = format!("process {} ({})", std::process::id(), random_id());
        let token = take_lease(&self.shared, &owner, ttl).await?;
        tracing::info!(%owner, token, "took the worker lease");
        self.shared.fence.store(token, Ordering::Relaxed);
        let mut handle = self.start_worker(activity_concurrency);
        let worker = Arc::get_mut(&mut handle.worker).expect("the handle was just made");
        worker.lease = Some(owner.clone());
        let renewal = tokio::spawn(renew(Arc::downgrade(&handle.worker), owner, token, ttl));
        handle.worker.lock_tasks().push(renewal);
        Ok(handle)
    }
}

/// Takes (or renews) the worker lease; returns its fencing token.
async fn take_lease(shared: &Shared, owner: &str, ttl: Duration) -> Result<u64, Error> {
    let now = shared.now_ms();
    let until = now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    let ticket = shared.store.commit(vec![Op::TakeLease {
        name: WORKER_LEASE.into(),
        owner: owner.to_owned(),
        now,
        until,
    }]);
    let Committed { lease, .. } = ticket.await.map_err(|_| StoreError::Closed)??;
    lease.ok_or_else(|| Error::Internal("the store granted the lease without a token".into()))
}

/// Renews the lease every third of `ttl` while the worker lives; stops the
/// worker if the lease is lost or changed hands.
async fn renew(worker: std::sync::Weak<Worker>, owner: String, token: u64, ttl: Duration) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let Some(worker) = worker.upgrade() else {
            return;
        };
        match take_lease(&worker.shared, &owner, ttl).await {
            Ok(renewed) if renewed == token => {}
            outcome => {
                let retaken = outcome.is_ok();
                let why = outcome.map_or_else(|e| e.to_string(), |t| format!("new token {t}"));
                tracing::error!(%why, "lost the worker lease; stopping the worker");
                worker.stop();
                if retaken {
                    // Taken afresh after running out: another worker may have
                    // worked meanwhile. Give it back rather than sit on it.
                    drop(worker.shared.store.commit(vec![Op::ReleaseLease {
                        name: WORKER_LEASE.into(),
                        owner: owner.clone(),
                    }]));
                }
                return;
            }
        }
    }
}

/// A running worker, shared by its handle and its lease renewal.
struct Worker {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The owner name of the lease it holds, if it took one.
    lease: Option<String>,
}

impl Worker {
    fn lock_tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stop(&self) {
        // The fence stays: episodes still finishing commit under the old
        // token, which the store refuses once another worker takes over.
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
    worker: Arc<Worker>,
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
    /// running here finish their current episode. A lease it holds is given
    /// up when the store gets to it; [`WorkerHandle::stop`] waits for that.
    pub fn abort(&self) {
        self.worker.stop();
        drop(self.release());
    }

    /// Stops the worker like [`WorkerHandle::abort`] and waits until its
    /// lease is given up, so another worker can start at once (before a
    /// process exits, say).
    pub async fn stop(&self) {
        self.worker.stop();
        if let Some(released) = self.release() {
            // If it is lost, the lease simply runs out.
            let _ = released.await;
        }
    }

    fn release(&self) -> Option<crate::store::CommitTicket> {
        let owner = self.worker.lease.as_ref()?;
        Some(self.worker.shared.store.commit(vec![Op::ReleaseLease {
            name: WORKER_LEASE.into(),
            owner: owner.clone(),
        }]))
    }
}
