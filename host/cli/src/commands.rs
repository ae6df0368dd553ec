//! The commands of the `reprise` binary. Every command works on one database
//! file; `worker` (or `start --wait`) executes instances, the others read or
//! write requests that the worker picks up.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use reprise::store::{InstanceQuery, Status};
use reprise::view::{EventView, InstanceView};
use reprise::{ActivityGrants, Runtime, StartOptions, WorkerHandle};
use reprise_sqlite::Durability;

use crate::bench::{self, BenchOptions, Workload};
use crate::database::Database;
use crate::timeline;

/// Guest lines at `info` and up, the host's own at `warn` and up.
const DEFAULT_LOG: &str = "warn,reprise::guest=info";

/// Durable orchestrations and activities as WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "reprise", version)]
pub(crate) struct Args {
    /// The database: a SQLite file (created if missing), or a PostgreSQL
    /// server as `postgres://user@host:port/db`.
    #[arg(long, global = true, env = "REPRISE_DB", default_value = "reprise.db")]
    db: Database,
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Register components (.wasm) and the orchestrations and activities they export.
    Register {
        /// Component files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Start an orchestration.
    Start {
        /// Registered orchestration name.
        name: String,
        /// Input, JSON.
        #[arg(long, default_value = "null", allow_negative_numbers = true)]
        input: String,
        /// Instance id (random if not given).
        #[arg(long)]
        id: Option<String>,
        /// Wait for the result and print it; runs a worker in this process
        /// if none runs on the database.
        #[arg(long)]
        wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Execute instances, activities and timers until interrupted.
    Worker {
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// Run the worker and serve the HTTP API and the web dashboard until
    /// interrupted.
    Serve {
        /// The address to listen on. Beyond loopback a token is required.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The bearer token API requests must carry.
        #[arg(long, env = "REPRISE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// Wait for an instance to finish and print its output.
    Wait {
        /// Instance id.
        id: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Print an instance's status as JSON.
    Status {
        /// Instance id.
        id: String,
    },
    /// Print an instance's history as a timeline.
    History {
        /// Instance id.
        id: String,
        /// Print the raw events as JSON lines instead.
        #[arg(long)]
        json: bool,
    },
    /// Send an external event to an instance.
    RaiseEvent {
        /// Instance id.
        id: String,
        /// Event name.
        name: String,
        /// Event data, JSON.
        #[arg(default_value = "null", allow_negative_numbers = true)]
        data: String,
    },
    /// Stop an instance for good.
    Terminate {
        /// Instance id.
        id: String,
        /// Why.
        #[arg(long, default_value = "terminated by request")]
        reason: String,
    },
    /// Pause an instance.
    Suspend {
        /// Instance id.
        id: String,
    },
    /// Resume a suspended instance.
    Resume {
        /// Instance id.
        id: String,
    },
    /// Delete a finished instance and its history.
    Purge {
        /// Instance id.
        id: String,
    },
    /// List instances, newest first.
    List {
        /// Only instances with this status.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Run benchmarks, each on a fresh database, and print their numbers.
    /// With `--db postgres://…` each workload gets a fresh database on that
    /// server instead of a SQLite file.
    Bench {
        /// Workloads to run: seq3, fanout, actors, replay, instantiate (all
        /// of these when none is given), and component.
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
    },
    /// Signal or call actors, read their state.
    #[command(subcommand)]
    Actor(ActorCommand),
    /// Replay an instance's history against its code, or against new code
    /// before rolling it out.
    Replay {
        /// Instance id.
        id: String,
        /// The new component to check instead of the instance's own.
        #[arg(long)]
        component: Option<PathBuf>,
    },
}

/// How a worker runs: `reprise worker` and `reprise serve`.
#[derive(Debug, clap::Args)]
struct WorkerArgs {
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

impl WorkerArgs {
    /// What activities may reach.
    fn grants(&self) -> ActivityGrants {
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
    async fn start(
        &self,
        runtime: &Runtime,
        lease: Duration,
        db: &Database,
    ) -> anyhow::Result<WorkerHandle> {
        if self.cluster {
            return Ok(runtime
                .start_cluster_worker(self.concurrency, lease)
                .await?);
        }
        loop {
            match runtime.start_leased_worker(self.concurrency, lease).await {
                Ok(worker) => return Ok(worker),
                Err(reprise::Error::Conflict(_)) if self.wait_for_lease => {
                    tokio::time::sleep(lease / 4).await;
                }
                Err(reprise::Error::Conflict(why)) => {
                    bail!("another worker runs on {db}: {why}")
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))
}

#[derive(Debug, Subcommand)]
enum ActorCommand {
    /// Send an operation one-way.
    Signal {
        /// Actor kind.
        kind: String,
        /// Actor key.
        key: String,
        /// Operation name.
        operation: String,
        /// Input, JSON.
        #[arg(default_value = "null", allow_negative_numbers = true)]
        input: String,
        /// Deliver after this many milliseconds (a reminder).
        #[arg(long)]
        delay_ms: Option<u64>,
    },
    /// Call an operation and print its output; runs a worker in this
    /// process if none runs on the database.
    Call {
        /// Actor kind.
        kind: String,
        /// Actor key.
        key: String,
        /// Operation name.
        operation: String,
        /// Input, JSON.
        #[arg(default_value = "null", allow_negative_numbers = true)]
        input: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Print an actor's last committed state.
    State {
        /// Actor kind.
        kind: String,
        /// Actor key.
        key: String,
    },
    /// List the actors of a kind with their states.
    List {
        /// Actor kind.
        kind: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

/// Does `work` with a worker in this process, unless another process holds
/// the database's worker lease (then that one does the work, and this one
/// takes over if the lease runs out: its holder died); gives the lease up
/// afterwards, so a worker started next is not refused.
async fn with_worker<T>(
    runtime: &Runtime,
    lease: Duration,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let mut work = std::pin::pin!(work);
    let worker = loop {
        match runtime.start_leased_worker(64, lease).await {
            Ok(worker) => break worker,
            Err(reprise::Error::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
        tokio::select! {
            result = &mut work => return result,
            () = tokio::time::sleep(lease / 4) => {}
        }
    };
    let result = work.await;
    worker.stop().await;
    result
}

/// Resolves on Ctrl-C or SIGTERM (what `kill` and service managers send),
/// so a stopped worker gives its lease up instead of leaving it to run out.
async fn shutdown_signal() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

fn read_component(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

async fn actor_command(
    runtime: &Runtime,
    lease: Duration,
    command: ActorCommand,
) -> anyhow::Result<()> {
    match command {
        ActorCommand::Signal {
            kind,
            key,
            operation,
            input,
            delay_ms,
        } => {
            let delay = delay_ms.map(Duration::from_millis);
            runtime
                .signal_actor(&kind, &key, &operation, &input, delay)
                .await?;
        }
        ActorCommand::Call {
            kind,
            key,
            operation,
            input,
            timeout,
        } => {
            let timeout = Duration::from_secs(timeout);
            let call = runtime.call_actor(&kind, &key, &operation, &input, timeout);
            let output = with_worker(runtime, lease, async { Ok(call.await?) }).await?;
            println!("{output}");
        }
        ActorCommand::State { kind, key } => {
            println!("{}", runtime.actor_state(&kind, &key).await?.state)
        }
        ActorCommand::List { kind, limit } => {
            for actor in runtime.actors(&kind, limit).await? {
                println!("{}\t{}", actor.id.key, actor.state);
            }
        }
    }
    Ok(())
}

async fn run_bench(names: &[String], options: &BenchOptions) -> anyhow::Result<()> {
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
        for line in bench::run(workload, options).await? {
            println!("   {line}");
        }
    }
    Ok(())
}

/// Waits for the instance and prints its output; a failure is an error.
async fn print_result(runtime: &Runtime, id: &str, timeout: u64) -> anyhow::Result<()> {
    let record = runtime.wait(id, Duration::from_secs(timeout)).await?;
    if let Some(failure) = record.failure() {
        bail!("instance {id} failed: {}", failure.message);
    }
    let output = record.output.unwrap_or_default();
    if record.status != Status::Completed {
        bail!("instance {id} {}: {output}", record.status.as_str());
    }
    println!("{output}");
    Ok(())
}

pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Command::Bench {
        workloads,
        guests,
        dir,
        no_fsync,
        scale,
        hosts,
        account_component,
        components,
        orchestration,
        input,
    } = args.command
    {
        let options = BenchOptions {
            guests,
            dir,
            durability: if no_fsync {
                Durability::Normal
            } else {
                Durability::Full
            },
            postgres: match &args.db {
                Database::Postgres(url) => Some(url.clone()),
                Database::Sqlite(_) => None,
            },
            hosts: usize::from(hosts),
            scale,
            account_component,
            components,
            orchestration: orchestration.map(|name| (name, input)),
        };
        if options.hosts > 1 && options.postgres.is_none() {
            bail!("--hosts needs a PostgreSQL database (--db postgres://…)");
        }
        run_bench(&workloads, &options).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = args.db.open().await?;
    let mut builder = Runtime::builder(store);
    if let Command::Worker { worker } | Command::Serve { worker, .. } = &args.command {
        builder = builder.grants(worker.grants());
    }
    let runtime = builder.build().await?;
    let lease = Duration::from_millis(args.lease_ms);
    match args.command {
        Command::Register { files } => {
            for file in files {
                let bytes = read_component(&file)?;
                let info = runtime
                    .register(&bytes)
                    .await
                    .with_context(|| format!("cannot register {}", file.display()))?;
                println!("{}", serde_json::to_string(&info)?);
            }
        }
        Command::Start {
            name,
            input,
            id,
            wait,
            timeout,
        } => {
            let start = runtime.start(&name, &input, StartOptions { instance_id: id });
            if !wait {
                println!("{}", start.await?);
                return Ok(ExitCode::SUCCESS);
            }
            let run = async {
                let id = start.await?;
                print_result(&runtime, &id, timeout).await
            };
            with_worker(&runtime, lease, run).await?;
        }
        Command::Wait { id, timeout } => print_result(&runtime, &id, timeout).await?,
        Command::Worker { worker } => {
            let worker = worker.start(&runtime, lease, &args.db).await?;
            eprintln!("reprise worker running on {}; Ctrl-C to stop", args.db);
            shutdown_signal().await?;
            worker.stop().await;
        }
        Command::Serve {
            listen,
            token,
            worker,
        } => {
            let options = reprise_server::ServerOptions {
                token,
                ..Default::default()
            };
            reprise_server::check_exposure(&listen, &options).map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let worker = worker.start(&runtime, lease, &args.db).await?;
            eprintln!(
                "reprise serving http://{} on {}; Ctrl-C to stop",
                listener.local_addr()?,
                args.db
            );
            let router = reprise_server::router(runtime.clone(), &options);
            let stop = async {
                if let Err(error) = shutdown_signal().await {
                    tracing::error!(%error, "cannot wait for signals; stopping");
                }
            };
            reprise_server::serve(listener, router, stop).await?;
            worker.stop().await;
        }
        Command::Status { id } => {
            let record = runtime.status(&id).await?;
            let failure = record.failure();
            let view = InstanceView::new(&record, failure.as_ref());
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
        Command::History { id, json } => {
            let history = runtime.history(&id).await?;
            if json {
                for event in &history {
                    println!("{}", serde_json::to_string(&EventView::from(event))?);
                }
            } else {
                print!("{}", timeline::render(&history));
            }
        }
        Command::RaiseEvent { id, name, data } => runtime.raise_event(&id, &name, &data).await?,
        Command::Terminate { id, reason } => runtime.terminate(&id, &reason).await?,
        Command::Suspend { id } => runtime.suspend(&id).await?,
        Command::Resume { id } => runtime.resume(&id).await?,
        Command::Purge { id } => runtime.purge(&id).await?,
        Command::List { status, limit } => {
            let status = match status {
                Some(text) => Some(Status::parse(&text).with_context(|| {
                    format!("unknown status {text:?}: running, suspended, completed, failed or terminated")
                })?),
                None => None,
            };
            for record in runtime.list(&InstanceQuery::status(status, limit)).await? {
                println!("{}\t{}\t{}", record.id, record.status.as_str(), record.name);
            }
        }
        Command::Actor(command) => actor_command(&runtime, lease, command).await?,
        Command::Bench { .. } => unreachable!("handled before the database is opened"),
        Command::Replay { id, component } => {
            let bytes = component.as_deref().map(read_component).transpose()?;
            let verdict = runtime.replay_check(&id, bytes.as_deref()).await?;
            println!("replay of {id} is consistent: {verdict:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
