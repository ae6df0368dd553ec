//! `reprise worker`: execute instances until interrupted. Its options
//! (`WorkerOptions`) are also `reprise serve`'s.

use std::path::PathBuf;

use reprise::{ActivityGrants, Runtime, WorkerHandle};

use super::GlobalArgs;
use super::lease::{self, WhileHeld};

/// Execute instances, activities and timers until interrupted.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    worker: WorkerOptions,
}

impl Args {
    /// Runs the worker until Ctrl-C or SIGTERM, then stops it.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime_granting(self.worker.grants()).await?;
        let worker = self.worker.start(&runtime, global).await?;
        eprintln!("reprise worker running on {}; Ctrl-C to stop", global.db);
        shutdown_signal().await?;
        worker.stop().await;
        Ok(())
    }
}

/// How a worker runs: `reprise worker` and `reprise serve`.
#[derive(Debug, clap::Args)]
pub(super) struct WorkerOptions {
    /// Activities run at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Let activities open network connections.
    #[arg(long)]
    allow_network: bool,
    /// An environment variable for activities, KEY=VALUE (repeatable).
    #[arg(long = "env", value_parser = parse_pair)]
    envs: Vec<(String, String)>,
    /// A host directory for activities, HOST=GUEST (repeatable).
    #[arg(long = "dir", value_parser = parse_pair)]
    dirs: Vec<(String, String)>,
    /// While another worker holds the database's lease, wait for it
    /// (until it stops, or its lease runs out after a crash) instead of
    /// failing.
    #[arg(long)]
    wait_for_lease: bool,
    /// Share the database's work with the other workers started with
    /// `--cluster`: each executes the instances of a fair share of the
    /// partitions (one of them the actors), and they take over the share
    /// of a worker that stops or dies once its leases run out.
    #[arg(long, conflicts_with = "wait_for_lease")]
    cluster: bool,
}

impl WorkerOptions {
    /// What activities may reach.
    pub(super) fn grants(&self) -> ActivityGrants {
        ActivityGrants {
            network: self.allow_network,
            env: self.envs.clone(),
            dirs: self
                .dirs
                .iter()
                .map(|(host, guest)| (PathBuf::from(host), guest.clone()))
                .collect(),
        }
    }

    /// Joins the cluster, or takes the database's worker lease (waiting
    /// for it if asked), and starts the worker.
    pub(super) async fn start(
        &self,
        runtime: &Runtime,
        global: &GlobalArgs,
    ) -> anyhow::Result<WorkerHandle> {
        if self.cluster {
            return Ok(runtime
                .start_cluster_worker(self.concurrency, global.lease())
                .await?);
        }
        let while_held = if self.wait_for_lease {
            WhileHeld::Wait
        } else {
            WhileHeld::Refuse
        };
        lease::start_worker(runtime, global, self.concurrency, while_held).await
    }
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

/// Resolves on Ctrl-C or SIGTERM (what `kill` and service managers send),
/// so a stopped worker gives its lease up instead of leaving it to run out.
pub(super) async fn shutdown_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
