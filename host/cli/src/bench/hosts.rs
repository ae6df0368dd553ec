//! `reprise bench --hosts N`: the workloads on PostgreSQL with N worker
//! processes sharing the database. The bench process is one cluster
//! worker; it starts N − 1 more (`reprise worker --cluster`, this same
//! binary) on the workload's fresh database and waits until each holds its
//! share of the units before it measures. The other hosts' warnings and
//! errors go to this one's stderr.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reprise::{Error, Runtime, WorkerHandle};

/// The lease every bench host takes: the default. Renewals queue behind
/// the work in each host's writer, so a lease much shorter than that
/// queue's worst delay on a busy machine would be lost and taken over again
/// and again, moving work between hosts for nothing.
const LEASE: Duration = Duration::from_secs(10);

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
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Internal(format!("cannot start a worker process: {e}")))?;
        others.0.push(child);
    }
    let worker = runtime
        .start_cluster_worker(activity_concurrency, LEASE)
        .await?;
    // Measured once the shares have settled, not while units still move.
    let units = reprise::PARTITIONS as usize + 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = runtime.unit_holders().await?;
        let fair = held.len() == hosts
            && held.values().sum::<usize>() == units
            && held.values().all(|&n| n >= units / hosts);
        if fair {
            return Ok((worker, others));
        }
        if Instant::now() > deadline {
            return Err(Error::Internal(format!(
                "the {hosts} hosts did not share the work within a minute: {held:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
