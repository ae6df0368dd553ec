//! `reprise bench --hosts N`: the workloads on PostgreSQL with N worker
//! processes sharing the database. The bench process is one cluster
//! worker; it starts N − 1 more (`reprise worker --cluster`, this same
//! binary) on the workload's fresh database and waits until each holds a
//! share of the units before it measures.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reprise::store::Store;
use reprise::{Error, Runtime, WorkerHandle};

/// The lease every bench host takes: a host's share moves within a third
/// of it when hosts come and go.
const LEASE: Duration = Duration::from_secs(3);

/// The other worker processes of a workload, killed when dropped.
pub(super) struct OtherHosts(Vec<Child>);

impl Drop for OtherHosts {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `hosts − 1` worker processes on `url` and a cluster worker in
/// this process, and waits until all `hosts` hold units.
pub(super) async fn start(
    runtime: &Runtime,
    store: &dyn Store,
    url: &str,
    hosts: usize,
    activity_concurrency: usize,
) -> Result<(WorkerHandle, OtherHosts), Error> {
    let exe = std::env::current_exe().map_err(|e| Error::Internal(e.to_string()))?;
    let mut others = OtherHosts(Vec::new());
    for _ in 1..hosts {
        let child = Command::new(&exe)
            .args(["--db", url, "--lease-ms"])
            .arg(LEASE.as_millis().to_string())
            .args(["worker", "--cluster", "--concurrency"])
            .arg(activity_concurrency.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Internal(format!("cannot start a worker process: {e}")))?;
        others.0.push(child);
    }
    let worker = runtime
        .start_cluster_worker(activity_concurrency, LEASE)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while holders(store).await? < hosts {
        if Instant::now() > deadline {
            return Err(Error::Internal(format!(
                "the {hosts} hosts did not share the work within 30 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((worker, others))
}

/// How many processes hold units now.
async fn holders(store: &dyn Store) -> Result<usize, Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut owners: Vec<String> = store
        .leases()
        .await?
        .into_iter()
        .filter(|l| (l.name.starts_with("partition/") || l.name == "actors") && l.is_held(now))
        .map(|l| l.owner)
        .collect();
    owners.sort();
    owners.dedup();
    Ok(owners.len())
}
