//! `hot-actor`: one actor with a deep mailbox. 100,000 deposits (scaled)
//! are queued for one account while no worker runs; then the worker drains
//! them, and every second the report says how many are left, the rate
//! since the last look and this process's resident memory. A worker that
//! read a mailbox whole, or kept what it handled, would show memory
//! growing with the backlog; one that reads it a page at a time stays
//! flat.

use std::time::{Duration, Instant};

use reprise::Error;

use super::{Bench, BenchOptions, scaled};

/// This process's resident set, in MiB (0 where `/proc` cannot tell).
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

pub(super) async fn hot_actor(options: &BenchOptions) -> Result<Vec<String>, Error> {
    let operations = scaled(options, 100_000) as u64;
    let mut bench = Bench::built(options, "hot-actor", &["bank"], |builder| {
        builder.mailbox_capacity(operations + 1)
    })
    .await?;
    let mut lines = Vec::new();
    let queued = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    // 64 senders at once: their signals share commits (group commit).
    for sender in 0..64u64 {
        let runtime = bench.runtime.clone();
        senders.spawn(async move {
            for _ in (sender..operations).step_by(64) {
                runtime
                    .signal_actor("account", "hot", "deposit", "1", None)
                    .await?;
            }
            Ok::<_, Error>(())
        });
    }
    while let Some(sent) = senders.join_next().await {
        sent.map_err(|e| Error::Internal(e.to_string()))??;
    }
    let queueing = queued.elapsed().as_secs_f64();
    lines.push(format!(
        "{operations} deposits queued for one account in {queueing:.2} s ({:.0}/s); {} MiB resident before the worker starts",
        operations as f64 / queueing,
        rss_mib()
    ));

    bench.start_worker(64).await?;
    let started = Instant::now();
    let (mut last_left, mut last_at, mut peak) = (operations, started, 0);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let left = bench.runtime.actor_mailbox("account", "hot").await?;
        let rss = rss_mib();
        peak = peak.max(rss);
        let rate = (last_left - left) as f64 / last_at.elapsed().as_secs_f64();
        lines.push(format!(
            "  t={:>4.1} s: {left:>7} left, {rate:>7.0} operations/s, {rss} MiB resident",
            started.elapsed().as_secs_f64()
        ));
        (last_left, last_at) = (left, Instant::now());
        if left == 0 {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    bench.settle().await?;
    let state = bench.runtime.actor_state("account", "hot").await?.state;
    let balance: serde_json::Value =
        serde_json::from_str(&state).map_err(|e| Error::Internal(e.to_string()))?;
    if balance["balance"] != operations {
        return Err(Error::Internal(format!(
            "the account holds {} after {operations} deposits",
            balance["balance"]
        )));
    }
    lines.insert(
        1,
        format!(
            "drained in {elapsed:.2} s: {:.0} operations/s; peak {peak} MiB resident; balance {operations}, each deposit once",
            operations as f64 / elapsed
        ),
    );
    bench.stop_worker();
    Ok(lines)
}
