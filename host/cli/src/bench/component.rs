//! `reprise bench component`: what one component costs, whatever language
//! it was written in. Its size; registering it on a fresh database
//! (validating, compiling, listing its exports); with `--orchestration`,
//! the first call in a fresh host, whose compiled code comes from the
//! store, and an orchestration episode (instantiate + run + drop) on a warm
//! host. Per-operation actor costs come from `reprise bench actors
//! --account-component`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use reprise::{Error, ReplayVerdict, Runtime};
use reprise_sqlite::SqliteStore;

use super::{BenchOptions, ScratchDir, percentile_median, percentiles, scaled};

pub(super) async fn component(options: &BenchOptions) -> Result<Vec<String>, Error> {
    if options.components.is_empty() {
        return Err(Error::InvalidInput(
            "the component workload measures the files given with --component".into(),
        ));
    }
    let mut lines = Vec::new();
    for path in &options.components {
        lines.extend(one(options, path).await?);
    }
    Ok(lines)
}

async fn one(options: &BenchOptions, path: &Path) -> Result<Vec<String>, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::InvalidInput(format!("cannot read {}: {e}", path.display())))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let dir =
        ScratchDir::new(&options.dir, "component").map_err(|e| Error::Internal(e.to_string()))?;
    let db = |n: usize| dir.0.join(format!("bench-{n}.db"));

    let mut registering = Vec::new();
    for round in 0..scaled(options, 3) {
        let runtime = open(options, &db(round)).await?;
        let started = Instant::now();
        runtime.register(&bytes).await?;
        registering.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let mut lines = vec![format!(
        "{name}: {:.2} MB; registering on a fresh database (validate, compile, list exports): median {:.0} ms of {}",
        bytes.len() as f64 / 1e6,
        percentile_median(registering.clone()),
        registering.len()
    )];
    let Some((orchestration, input)) = &options.orchestration else {
        return Ok(lines);
    };

    // A new host on a database that holds the compiled code: what the first
    // call after a restart costs.
    let mut first_calls = Vec::new();
    for _ in 0..scaled(options, 5) {
        let runtime = open(options, &db(0)).await?;
        let started = Instant::now();
        episode(&runtime, orchestration, input).await?;
        first_calls.push(started.elapsed().as_secs_f64() * 1e3);
        let stats = runtime.component_stats();
        if stats.compiled != 0 {
            return Err(Error::Internal(format!(
                "the first call compiled instead of loading the compiled code: {stats:?}"
            )));
        }
    }
    lines.push(format!(
        "first call of {orchestration} in a fresh host (compiled code from the store): median {:.1} ms of {}",
        percentile_median(first_calls.clone()),
        first_calls.len()
    ));

    let runtime = open(options, &db(0)).await?;
    episode(&runtime, orchestration, input).await?;
    let mut episodes = Vec::new();
    for _ in 0..scaled(options, 500) {
        let started = Instant::now();
        episode(&runtime, orchestration, input).await?;
        episodes.push(started.elapsed().as_secs_f64() * 1e6);
    }
    lines.push(format!(
        "episode of {orchestration} (instantiate + run to its first wait + drop): median {:.1} µs",
        percentile_median(episodes.clone())
    ));
    lines.push(format!("µs: {}", percentiles(episodes)));
    Ok(lines)
}

async fn open(options: &BenchOptions, db: &Path) -> Result<Runtime, Error> {
    let store = SqliteStore::open_with(db, options.durability)?;
    Runtime::builder(Arc::new(store)).build().await
}

/// One episode; a failure of the orchestration is a failure of the bench.
async fn episode(runtime: &Runtime, name: &str, input: &str) -> Result<(), Error> {
    match runtime.dry_run(name, input).await? {
        ReplayVerdict::Returned(Err(failure)) => Err(Error::InvalidInput(format!(
            "orchestration {name} failed: {}",
            failure.message
        ))),
        _ => Ok(()),
    }
}
