//! Running the worker: alone, under a lease, or sharing the database's
//! work with other processes (see `sched::worker` and `sched::cluster`).

use std::collections::BTreeMap;
use std::time::Duration;

use super::Runtime;
use crate::error::Error;
use crate::sched::{cluster, worker};

pub use worker::WorkerHandle;

impl Runtime {
    /// Makes this process execute instances: recovers those left running,
    /// then runs the activity and timer loops and watches for work written by
    /// other processes. Call once, inside a tokio runtime. Nothing stops a
    /// second process from doing the same on the database: a process that
    /// may have company should use [`Runtime::start_leased_worker`] or
    /// [`Runtime::start_cluster_worker`].
    pub fn start_worker(&self, activity_concurrency: usize) -> WorkerHandle {
        worker::start_alone(&self.shared, activity_concurrency)
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
        worker::start_leased(&self.shared, activity_concurrency, ttl).await
    }

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
        cluster::start(&self.shared, activity_concurrency, ttl).await
    }

    /// Which processes hold units of work now, with how many each: how the
    /// database's work is divided (a worker alone holds all of them).
    pub async fn unit_holders(&self) -> Result<BTreeMap<String, usize>, Error> {
        cluster::unit_holders(&self.shared).await
    }
}
