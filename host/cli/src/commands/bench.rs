//! `reprise bench`: the command over the benchmark harness (`crate::bench`),
//! which owns the workloads.

use std::path::PathBuf;

use anyhow::{Context, bail};
use reprise_sqlite::Durability;

use super::GlobalArgs;
use crate::bench::{self as harness, BenchOptions, Workload};
use crate::database::Database;

/// Run benchmarks, each on a fresh database, and print their numbers.
/// With `--db postgres://…` each workload gets a fresh database on that
/// server instead of a SQLite file.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Workloads to run: seq3, fanout, actors, replay, instantiate (all
    /// of these when none is given), component, and upgrade (an upgrade
    /// plan over live approvals; needs `upgrades_v2.wasm`, a test guest).
    workloads: Vec<String>,
    /// Where the example components are built.
    #[arg(long, default_value = "target/wasm32-wasip2/release")]
    guests: PathBuf,
    /// Where the fresh databases go (put it on the disk to measure).
    #[arg(long, default_value = "target")]
    dir: PathBuf,
    /// Commit without fsync (survives a process crash, not power loss).
    #[arg(long)]
    no_fsync: bool,
    /// Scale the number of instances and operations (1.0 is the default size).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Worker processes sharing the database, this one included
    /// (PostgreSQL only): the others are `reprise worker --cluster`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=16))]
    hosts: u16,
    /// The `actors` workload's `account` actor from this component
    /// instead of `bank.wasm` (the Python or JavaScript account, say).
    #[arg(long)]
    account_component: Option<PathBuf>,
    /// A component for the `component` workload to measure (repeatable).
    #[arg(long = "component")]
    components: Vec<PathBuf>,
    /// An orchestration of the components, whose first episode the
    /// `component` workload times.
    #[arg(long)]
    orchestration: Option<String>,
    /// The orchestration's input, JSON.
    #[arg(long, default_value = "null", requires = "orchestration")]
    input: String,
}

impl Args {
    /// Runs the workloads in order, printing each one's report; `--db`
    /// is not opened, it only says where the fresh databases go.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let options = BenchOptions {
            guests: self.guests,
            dir: self.dir,
            durability: if self.no_fsync {
                Durability::Normal
            } else {
                Durability::Full
            },
            postgres: match &global.db {
                Database::Postgres(url) => Some(url.clone()),
                Database::Sqlite(_) => None,
            },
            hosts: usize::from(self.hosts),
            scale: self.scale,
            account_component: self.account_component,
            components: self.components,
            orchestration: self.orchestration.map(|name| (name, self.input)),
        };
        if options.hosts > 1 && options.postgres.is_none() {
            bail!("--hosts needs a PostgreSQL database (--db postgres://…)");
        }
        run(&self.workloads, &options).await
    }
}

/// Runs the workloads `names` (the default ones when none is named).
async fn run(names: &[String], options: &BenchOptions) -> anyhow::Result<()> {
    let workloads = if names.is_empty() {
        Workload::DEFAULT.to_vec()
    } else {
        names
            .iter()
            .map(|name| {
                Workload::named(name).with_context(|| {
                    format!(
                        "unknown workload {name:?}: seq3, fanout, actors, replay, instantiate or component"
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let fsync = if options.durability == Durability::Full {
        "on"
    } else {
        "off"
    };
    let store = match &options.postgres {
        // The server's own settings decide; scripts/postgres keeps them on.
        Some(_) => "PostgreSQL".to_owned(),
        None => format!("SQLite, fsync {fsync}"),
    };
    println!("reprise bench: {store}, scale {}", options.scale);
    for workload in workloads {
        println!("== {}", workload.name());
        for line in harness::run(workload, options).await? {
            println!("   {line}");
        }
    }
    Ok(())
}
