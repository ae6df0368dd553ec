//! The commands of the `reprise` binary, one module each (the four that
//! steer an instance share one, as do the actor commands): its `Args`, whose
//! doc comments are its help, and its `execute`. Every command works on one
//! database; `worker` and `serve` (and `start --wait` or `actor call` when no
//! other process runs a worker) execute instances, the others read or write
//! requests that the worker picks up.

pub(crate) mod actor;
pub(crate) mod archive;
pub(crate) mod bench;
pub(crate) mod history;
mod lease;
pub(crate) mod list;
pub(crate) mod raise_event;
pub(crate) mod register;
pub(crate) mod repair;
pub(crate) mod replay;
pub(crate) mod serve;
pub(crate) mod start;
pub(crate) mod status;
pub(crate) mod steer;
pub(crate) mod upgrade;
pub(crate) mod wait;
pub(crate) mod worker;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use reprise::{ActivityGrants, ActivityLimits, Runtime};

use crate::database::Database;

/// Guest lines at `info` and up, the host's own at `warn` and up.
const DEFAULT_LOG: &str = "warn,reprise::guest=info";

/// The flags every command takes, before or after its name.
#[derive(Debug, clap::Args)]
pub(crate) struct GlobalArgs {
    /// The database: a SQLite file (created if missing), or a PostgreSQL
    /// server as `postgres://user@host:port/db`.
    #[arg(long, global = true, env = "REPRISE_DB", default_value = "reprise.db")]
    pub(crate) db: Database,
    /// What to log to stderr: a level (`info`) or per-target levels
    /// (`warn,reprise::guest=debug`). Guest log lines are `reprise::guest`;
    /// by default they show from `info` up, the host's from `warn` up.
    #[arg(
        long,
        global = true,
        env = "REPRISE_LOG",
        default_value = DEFAULT_LOG
    )]
    pub(crate) log_level: String,
    /// How long a worker's lease on the database lasts without renewal (it
    /// is renewed every third of it): after a crash, another worker can
    /// start once it has run out.
    #[arg(
        long,
        global = true,
        env = "REPRISE_LEASE_MS",
        default_value_t = 10_000
    )]
    lease_ms: u64,
    /// How many operations an actor's mailbox may hold: a signal or call
    /// to a full one is refused, and may be sent again later. The process
    /// that sends checks it, so give every process of a database the same.
    #[arg(
        long,
        global = true,
        env = "REPRISE_MAILBOX_CAPACITY",
        default_value_t = 10_000
    )]
    mailbox_capacity: u64,
    /// The mailbox bound of one actor kind, as `KIND=N`, in place of
    /// `--mailbox-capacity`; repeat it for several kinds.
    #[arg(long, global = true, value_name = "KIND=N", value_parser = kind_capacity)]
    mailbox_capacity_for: Vec<(String, u64)>,
    /// Limits an activity, as `NAME:LIMITS` with LIMITS any of
    /// `concurrency=N` (attempts at once, on every host), `rate=N/PERIOD`
    /// (starts per period: 100/1s, 10/500ms, 60/1m) and `key=/POINTER,
    /// per-key=N` (attempts at once per key taken from the input); repeat
    /// it for several activities. Give every process of a database the
    /// same.
    #[arg(long, global = true, value_name = "NAME:LIMITS", value_parser = activity_limits)]
    activity_limit: Vec<(String, ActivityLimits)>,
    /// How long, in seconds, a request made with an idempotency key is
    /// remembered (a repeat within it answers what the first answered).
    #[arg(
        long,
        global = true,
        env = "REPRISE_IDEMPOTENCY_RETENTION_SECS",
        default_value_t = 86_400
    )]
    idempotency_retention_secs: u64,
}

/// An activity's `NAME:LIMITS`.
fn activity_limits(text: &str) -> Result<(String, ActivityLimits), String> {
    let (name, limits) = text.split_once(':').ok_or_else(|| {
        format!("{text:?} is not NAME:LIMITS (charge:concurrency=10,rate=100/1s)")
    })?;
    if name.is_empty() {
        return Err(format!("{text:?} names no activity"));
    }
    Ok((name.to_owned(), limits.parse()?))
}

/// A `KIND=N` mailbox bound.
fn kind_capacity(text: &str) -> Result<(String, u64), String> {
    let (kind, n) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not KIND=N"))?;
    let n = n
        .parse()
        .map_err(|_| format!("{n:?} is not a number of operations"))?;
    Ok((kind.to_owned(), n))
}

impl GlobalArgs {
    /// How long a worker's lease lasts without renewal (`--lease-ms`).
    fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    /// A runtime on the database, for a command that does not run a
    /// worker's activities: they are granted nothing.
    async fn runtime(&self) -> anyhow::Result<Runtime> {
        self.runtime_granting(ActivityGrants::default()).await
    }

    /// A runtime on the database whose activities may reach what `grants`
    /// allows.
    async fn runtime_granting(&self, grants: ActivityGrants) -> anyhow::Result<Runtime> {
        let store = self.db.open().await?;
        let mut builder = Runtime::builder(store)
            .grants(grants)
            .mailbox_capacity(self.mailbox_capacity)
            .idempotency_retention(Duration::from_secs(self.idempotency_retention_secs));
        for (kind, capacity) in &self.mailbox_capacity_for {
            builder = builder.mailbox_capacity_for(kind, *capacity);
        }
        for (name, limits) in &self.activity_limit {
            builder = builder.activity_limits(name, limits.clone());
        }
        Ok(builder.build().await?)
    }
}

/// A component file's bytes; a file that cannot be read is named.
fn read_component(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
