//! Fan-out/fan-in: schedule one activity per work item, let them run in
//! parallel, then aggregate. A sub-orchestration does each batch, so the
//! example also shows parent and child instances.
//!
//! Build with: `cargo build -p fan-out --target wasm32-wasip2 --release`
//! Run with:   `reprise start fan_out --input '{"items":100,"batches":4}' --wait`

use reprise_sdk::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Job {
    /// Work items in all.
    items: u64,
    /// Sub-orchestrations they are split across.
    batches: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Batch {
    first: u64,
    last: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Summary {
    items: u64,
    sum_of_squares: u64,
}

/// Splits the work into batches, one sub-orchestration each, and sums their results.
fn fan_out(ctx: &Context, job: Job) -> Result<Summary> {
    let batches = job.batches.clamp(1, job.items.max(1));
    let per_batch = job.items.div_ceil(batches);
    let children: Vec<_> = (0..batches)
        .map(|b| Batch {
            first: b * per_batch + 1,
            last: ((b + 1) * per_batch).min(job.items),
        })
        .filter(|batch| batch.first <= batch.last)
        .map(|batch| ctx.schedule_orchestration::<_, u64>("square_batch", &batch))
        .collect();
    let sums = ctx.when_all(children)?;
    Ok(Summary {
        items: job.items,
        sum_of_squares: sums.iter().sum(),
    })
}

/// Squares every number of the batch in parallel activities (fan-out) and
/// adds them up once all are done (fan-in).
fn square_batch(ctx: &Context, batch: Batch) -> Result<u64> {
    let tasks = (batch.first..=batch.last)
        .map(|n| ctx.schedule_activity::<_, u64>("square", &n))
        .collect();
    Ok(ctx.when_all(tasks)?.iter().sum())
}

fn square(n: u64) -> Result<u64> {
    Ok(n * n)
}

reprise_sdk::app! {
    orchestrations: [fan_out, square_batch],
    activities: [square],
}
