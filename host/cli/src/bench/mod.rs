//! The benchmark harness behind `reprise bench`: each workload runs on a
//! fresh database and prints throughput and latency percentiles.
//!
//! Numbers come from a release build; debug builds compile and instantiate
//! guests an order of magnitude slower.

mod component;
mod hosts;
mod hot_actor;
mod upgrade;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reprise::store::{InstanceQuery, Status};
use reprise::{Error, ReplayVerdict, Runtime, RuntimeBuilder, StartOptions, WorkerHandle};
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;
use reprise_sqlite::{Durability, SqliteStore};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// Many concurrent orchestrations, each calling 3 activities in sequence.
    Seq3,
    /// One orchestration fanning out to 1,000 activities and back in.
    Fanout,
    /// Bank transfers among 1,000 accounts, actor to actor.
    Actors,
    /// Cold replay of 1,000-event histories.
    Replay,
    /// Instantiate + run + drop of an orchestration episode.
    Instantiate,
    /// What given components cost: loading, and an episode.
    Component,
    /// An upgrade plan over 10,000 live approvals.
    Upgrade,
    /// One actor with 100,000 operations queued, drained: throughput and
    /// memory over time.
    HotActor,
}

impl Workload {
    /// The workloads `reprise bench` runs when none is named, in order.
    pub(crate) const DEFAULT: [Workload; 5] = [
        Workload::Seq3,
        Workload::Fanout,
        Workload::Actors,
        Workload::Replay,
        Workload::Instantiate,
    ];

    /// The workload's name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Seq3 => "seq3",
            Workload::Fanout => "fanout",
            Workload::Actors => "actors",
            Workload::Replay => "replay",
            Workload::Instantiate => "instantiate",
            Workload::Component => "component",
            Workload::Upgrade => "upgrade",
            Workload::HotActor => "hot-actor",
        }
    }

    /// The workload called `name` on the command line.
    pub(crate) fn named(name: &str) -> Option<Workload> {
        Self::DEFAULT
            .into_iter()
            .chain([Workload::Component, Workload::Upgrade, Workload::HotActor])
            .find(|workload| workload.name() == name)
    }
}

/// How to run the benchmarks.
#[derive(Debug, Clone)]
pub(crate) struct BenchOptions {
    /// Where the example components (`hello_sequence.wasm`, `fan_out.wasm`,
    /// `bank.wasm`) are.
    pub(crate) guests: PathBuf,
    /// A directory for the fresh databases (on the disk to measure).
    pub(crate) dir: PathBuf,
    /// fsync at every commit (the default) or not.
    pub(crate) durability: Durability,
    /// A PostgreSQL server to run on (a fresh database per workload)
    /// instead of SQLite files in `dir`.
    pub(crate) postgres: Option<String>,
    /// Worker processes sharing the database (PostgreSQL only): this one
    /// and `hosts − 1` more.
    pub(crate) hosts: usize,
    /// Scales the number of instances, operations and repetitions.
    pub(crate) scale: f64,
    /// The `actors` workload's account actor, when not the Rust one in
    /// `bank.wasm` (e.g. the Python or JavaScript account).
    pub(crate) account_component: Option<PathBuf>,
    /// The components the `component` workload measures.
    pub(crate) components: Vec<PathBuf>,
    /// An orchestration of theirs, and its input, for the `component`
    /// workload's episodes.
    pub(crate) orchestration: Option<(String, String)>,
}

/// Latency percentiles of a sample.
fn percentiles(mut samples: Vec<f64>) -> String {
    if samples.is_empty() {
        return "no samples".into();
    }
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.3} p90 {:.3} p99 {:.3} max {:.3}",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    )
}

struct Bench {
    runtime: Runtime,
    store: BenchStore,
    worker: Option<WorkerHandle>,
    /// Worker processes besides this one (`--hosts`).
    others: Option<hosts::OtherHosts>,
    hosts: usize,
    _dir: ScratchDir,
}

/// The fresh database a workload runs on.
enum BenchStore {
    Sqlite(Arc<SqliteStore>),
    /// The store, and the database it is on, dropped after the workload.
    Postgres {
        store: Arc<PostgresStore>,
        database: TestDatabase,
    },
}

impl BenchStore {
    async fn open(options: &BenchOptions, dir: &ScratchDir) -> Result<Self, Error> {
        Ok(match &options.postgres {
            Some(server) => {
                let database = TestDatabase::create_on(server).await;
                let store = PostgresStore::connect(&database.url()).await?;
                BenchStore::Postgres {
                    store: Arc::new(store),
                    database,
                }
            }
            None => BenchStore::Sqlite(Arc::new(SqliteStore::open_with(
                dir.0.join("bench.db"),
                options.durability,
            )?)),
        })
    }

    fn store(&self) -> Arc<dyn reprise::store::Store> {
        match self {
            BenchStore::Sqlite(store) => store.clone(),
            BenchStore::Postgres { store, .. } => store.clone(),
        }
    }

    /// Transactions committed so far.
    fn transactions(&self) -> u64 {
        match self {
            BenchStore::Sqlite(store) => store.commit_stats().transactions,
            BenchStore::Postgres { store, .. } => store.commit_stats().transactions,
        }
    }
}

impl Drop for Bench {
    /// Stops the worker's loops, which would otherwise go on polling while
    /// the next workload is measured.
    fn drop(&mut self) {
        self.stop_worker();
    }
}

/// A directory of its own for each workload's database, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(parent: &Path, name: &str) -> std::io::Result<Self> {
        let path = parent.join(format!("reprise-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Bench {
    async fn new(options: &BenchOptions, name: &str, components: &[&str]) -> Result<Self, Error> {
        Self::built(options, name, components, |builder| builder).await
    }

    /// [`Bench::new`], with the runtime's builder adjusted first.
    async fn built(
        options: &BenchOptions,
        name: &str,
        components: &[&str],
        adjust: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
    ) -> Result<Self, Error> {
        let dir =
            ScratchDir::new(&options.dir, name).map_err(|e| Error::Internal(e.to_string()))?;
        let store = BenchStore::open(options, &dir).await?;
        let runtime = adjust(Runtime::builder(store.store())).build().await?;
        let bench = Self {
            runtime,
            store,
            worker: None,
            others: None,
            hosts: options.hosts,
            _dir: dir,
        };
        for component in components {
            bench
                .register_file(&options.guests.join(format!("{component}.wasm")))
                .await?;
        }
        Ok(bench)
    }

    async fn register_file(&self, path: &Path) -> Result<(), Error> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::InvalidInput(format!("cannot read {}: {e}", path.display())))?;
        self.runtime.register(&bytes).await?;
        Ok(())
    }

    /// Starts the worker: this process alone, or one of `--hosts`.
    async fn start_worker(&mut self, activity_concurrency: usize) -> Result<(), Error> {
        let BenchStore::Postgres { database, .. } = &self.store else {
            self.worker = Some(self.runtime.start_worker(activity_concurrency));
            return Ok(());
        };
        if self.hosts <= 1 {
            self.worker = Some(self.runtime.start_worker(activity_concurrency));
            return Ok(());
        }
        let (worker, others) = hosts::start(
            &self.runtime,
            &database.url(),
            self.hosts,
            activity_concurrency,
        )
        .await?;
        self.worker = Some(worker);
        self.others = Some(others);
        Ok(())
    }

    fn stop_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
        self.others = None;
    }

    /// Waits until no instance runs and no actor operation is queued.
    async fn settle(&self) -> Result<(), Error> {
        loop {
            if self
                .runtime
                .list(&InstanceQuery::status(Some(Status::Running), 1))
                .await?
                .is_empty()
                && self.runtime.actor_backlog().await? == 0
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn transactions(&self) -> u64 {
        self.store.transactions()
    }
}

fn scaled(options: &BenchOptions, n: usize) -> usize {
    ((n as f64 * options.scale).round() as usize).max(1)
}

/// Runs one workload and returns its report lines.
pub(crate) async fn run(workload: Workload, options: &BenchOptions) -> Result<Vec<String>, Error> {
    match workload {
        Workload::Seq3 => seq3(options).await,
        Workload::Fanout => fanout(options).await,
        Workload::Actors => actors(options).await,
        Workload::Replay => replay(options).await,
        Workload::Instantiate => instantiate(options).await,
        Workload::Component => component::component(options).await,
        Workload::Upgrade => upgrade::upgrade(options).await,
        Workload::HotActor => hot_actor::hot_actor(options).await,
    }
}

/// Rounds of `seq3` on one runtime: the first pays for cold instance slots
/// and page faults, the median is the steady state.
const SEQ3_ROUNDS: usize = 3;

async fn seq3(options: &BenchOptions) -> Result<Vec<String>, Error> {
    let mut bench = Bench::new(options, "seq3", &["hello_sequence"]).await?;
    bench.start_worker(256).await?;
    let n = scaled(options, 2000);
    let mut rates = Vec::new();
    let mut latencies = Vec::new();
    let before = bench.transactions();
    for _ in 0..SEQ3_ROUNDS {
        let started = Instant::now();
        // Submitted concurrently, as many clients would: group commit folds them.
        let mut submissions = tokio::task::JoinSet::new();
        for _ in 0..n {
            let runtime = bench.runtime.clone();
            submissions.spawn(async move {
                runtime
                    .start(
                        "hello_sequence",
                        r#"["a","b","c"]"#,
                        StartOptions::default(),
                    )
                    .await
            });
        }
        let mut ids = Vec::with_capacity(n);
        while let Some(id) = submissions.join_next().await {
            ids.push(id.map_err(|e| Error::Internal(e.to_string()))??);
        }
        bench.settle().await?;
        rates.push(n as f64 / started.elapsed().as_secs_f64());
        latencies.extend(completed_latencies(&bench.runtime, &ids).await?);
    }
    let rounds = rates
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(" · ");
    let median = percentile_median(rates);
    let transactions = bench.transactions() - before;
    let total = (n * SEQ3_ROUNDS) as f64;
    Ok(vec![
        format!(
            "{SEQ3_ROUNDS} rounds of {n} orchestrations x 3 activities: median {median:.0} orchestrations/s, {:.0} activities/s [rounds: {rounds}]",
            3.0 * median
        ),
        format!("start-to-done latency ms: {}", percentiles(latencies)),
        format!(
            "{transactions} transactions, {:.2} per orchestration",
            transactions as f64 / total
        ),
    ])
}

/// Start-to-done latency of finished instances, from their records.
async fn completed_latencies(runtime: &Runtime, ids: &[String]) -> Result<Vec<f64>, Error> {
    let mut latencies = Vec::with_capacity(ids.len());
    for id in ids {
        let record = runtime.status(id).await?;
        if record.status != Status::Completed {
            return Err(Error::Internal(format!(
                "instance {id} ended {:?}: {:?}",
                record.status, record.output
            )));
        }
        latencies.push(record.updated_at.saturating_sub(record.created_at) as f64);
    }
    Ok(latencies)
}

async fn fanout(options: &BenchOptions) -> Result<Vec<String>, Error> {
    let mut bench = Bench::new(options, "fanout", &["fan_out"]).await?;
    bench.start_worker(256).await?;
    let items = scaled(options, 1000);
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let input = format!(r#"{{"items":{items},"batches":1}}"#);
        let id = bench
            .runtime
            .start("fan_out", &input, StartOptions::default())
            .await?;
        let record = bench.runtime.wait(&id, Duration::from_secs(600)).await?;
        if record.status != Status::Completed {
            return Err(Error::Internal(format!(
                "fan-out ended {:?}",
                record.output
            )));
        }
        times.push(started.elapsed().as_secs_f64());
    }
    let median = percentile_median(times.clone());
    Ok(vec![
        format!(
            "one orchestration fanning out to {items} activities and back: median {:.3} s of 3 runs, {:.0} activities/s",
            median,
            items as f64 / median
        ),
        format!("runs s: {}", percentiles(times)),
    ])
}

fn percentile_median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

async fn actors(options: &BenchOptions) -> Result<Vec<String>, Error> {
    let mut bench = Bench::new(options, "actors", &["bank"]).await?;
    let handled_by = match &options.account_component {
        Some(path) => {
            bench.register_file(path).await?;
            path.display().to_string()
        }
        None => "bank.wasm (Rust)".to_owned(),
    };
    bench.start_worker(64).await?;
    let accounts = 1000u64;
    for n in 0..accounts {
        bench
            .runtime
            .signal_actor("account", &format!("a{n}"), "deposit", "1000000", None)
            .await?;
    }
    bench.settle().await?;
    let transfers = scaled(options, 20_000) as u64;
    let before = bench.transactions();
    let started = Instant::now();
    let mut seed = 7u64;
    let mut submissions = tokio::task::JoinSet::new();
    for _ in 0..transfers {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let from = (seed >> 33) % accounts;
        let to = (from + 1 + (seed >> 13) % (accounts - 1)) % accounts;
        let input = format!(r#"{{"to":"a{to}","amount":1}}"#);
        let runtime = bench.runtime.clone();
        submissions.spawn(async move {
            runtime
                .signal_actor("account", &format!("a{from}"), "transfer_to", &input, None)
                .await
        });
    }
    while let Some(sent) = submissions.join_next().await {
        sent.map_err(|e| Error::Internal(e.to_string()))??;
    }
    bench.settle().await?;
    let elapsed = started.elapsed().as_secs_f64();
    // Each transfer is two operations: the withdrawal and the deposit it signals.
    let operations = 2 * transfers;
    Ok(vec![
        format!(
            "{transfers} actor-to-actor transfers among {accounts} accounts = {operations} operations in {elapsed:.2} s: {:.0} actor operations/s",
            operations as f64 / elapsed
        ),
        format!("accounts handled by {handled_by}"),
        format!(
            "{} transactions, {:.1} operations per transaction",
            bench.transactions() - before,
            operations as f64 / (bench.transactions() - before).max(1) as f64
        ),
    ])
}

async fn replay(options: &BenchOptions) -> Result<Vec<String>, Error> {
    let mut bench = Bench::new(options, "replay", &["hello_sequence"]).await?;
    bench.start_worker(256).await?;
    let cities: Vec<String> = (0..500).map(|n| format!("city-{n}")).collect();
    let input = serde_json::to_string(&cities).unwrap_or_default();
    let id = bench
        .runtime
        .start("hello_sequence", &input, StartOptions::default())
        .await?;
    bench.runtime.wait(&id, Duration::from_secs(600)).await?;
    bench.stop_worker();
    let events = bench.runtime.history(&id).await?.len();
    let mut times = Vec::new();
    for _ in 0..scaled(options, 200) {
        let started = Instant::now();
        match bench.runtime.replay_check(&id, None).await? {
            ReplayVerdict::Returned(Ok(_)) => {}
            other => return Err(Error::Internal(format!("replay ended {other:?}"))),
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let median = percentile_median(times.clone());
    Ok(vec![
        format!(
            "cold replay of a {events}-event history (read + instantiate + replay): median {median:.2} ms = {:.0} events/s",
            events as f64 / (median / 1e3)
        ),
        format!("replay ms: {}", percentiles(times)),
    ])
}

async fn instantiate(options: &BenchOptions) -> Result<Vec<String>, Error> {
    let bench = Bench::new(options, "instantiate", &["hello_sequence"]).await?;
    let mut times = Vec::new();
    for _ in 0..scaled(options, 2000) {
        let started = Instant::now();
        bench.runtime.dry_run("hello_sequence", "[]").await?;
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let median = percentile_median(times.clone());
    Ok(vec![
        format!("instantiate + run + drop of one orchestration episode: median {median:.1} µs"),
        format!("µs: {}", percentiles(times)),
    ])
}
