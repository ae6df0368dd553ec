//! The database's worker lease: one process at a time runs a worker (or,
//! with `--cluster`, each holds the leases of its share). Every command that
//! runs a worker without `--cluster` takes the lease here: `worker` and
//! `serve` for as long as they run, `start --wait` and `actor call` while
//! they wait for their answer.

use std::convert::Infallible;

use anyhow::bail;
use reprise::{Runtime, WorkerHandle};

use super::GlobalArgs;

/// The activities an in-process worker runs at once: the default of
/// `reprise worker --concurrency`.
const IN_PROCESS_CONCURRENCY: usize = 64;

/// What to do while another process holds the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WhileHeld {
    /// Fail, naming the holder.
    Refuse,
    /// Try again every quarter of the lease, until the holder gives it up
    /// or it runs out (the holder died).
    Wait,
}

/// How taking the lease ended.
enum Taken<T> {
    /// This process holds the lease and runs the worker.
    Worker(WorkerHandle),
    /// What the command did meanwhile finished first: no worker was needed.
    Finished(T),
}

/// Takes the lease and starts a worker running `concurrency` activities
/// at once. While another process holds the lease, `while_held` decides;
/// when waiting, `meanwhile` makes progress between attempts, and if it
/// finishes first its result is returned and no worker is started.
async fn take<T>(
    runtime: &Runtime,
    global: &GlobalArgs,
    concurrency: usize,
    while_held: WhileHeld,
    meanwhile: impl Future<Output = T>,
) -> anyhow::Result<Taken<T>> {
    let lease = global.lease();
    let mut meanwhile = std::pin::pin!(meanwhile);
    loop {
        match runtime.start_leased_worker(concurrency, lease).await {
            Ok(worker) => return Ok(Taken::Worker(worker)),
            Err(reprise::Error::Conflict(why)) if while_held == WhileHeld::Refuse => {
                bail!("another worker runs on {}: {why}", global.db)
            }
            Err(reprise::Error::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
        tokio::select! {
            finished = &mut meanwhile => return Ok(Taken::Finished(finished)),
            () = tokio::time::sleep(lease / 4) => {}
        }
    }
}

/// Takes the lease and starts a worker running `concurrency` activities at
/// once, for as long as the caller keeps it.
pub(super) async fn start_worker(
    runtime: &Runtime,
    global: &GlobalArgs,
    concurrency: usize,
    while_held: WhileHeld,
) -> anyhow::Result<WorkerHandle> {
    let never = std::future::pending::<Infallible>();
    match take(runtime, global, concurrency, while_held, never).await? {
        Taken::Worker(worker) => Ok(worker),
        Taken::Finished(never) => match never {},
    }
}

/// Does `work` with a worker in this process, unless another process holds
/// the lease (then that one does the work, and this one takes over if the
/// lease runs out: its holder died); gives the lease up afterwards, so a
/// worker started next is not refused.
pub(super) async fn with_worker<T>(
    runtime: &Runtime,
    global: &GlobalArgs,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let mut work = std::pin::pin!(work);
    let concurrency = IN_PROCESS_CONCURRENCY;
    match take(runtime, global, concurrency, WhileHeld::Wait, work.as_mut()).await? {
        Taken::Finished(result) => result,
        Taken::Worker(worker) => {
            let result = work.await;
            worker.stop().await;
            result
        }
    }
}
