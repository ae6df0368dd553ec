//! The `upgrade` workload: what an upgrade plan costs. Thousands of
//! approvals wait for their manager; the plan replays every one's history
//! against the next version, once while the worker idles and once while
//! it runs new approvals beside it.

use std::time::Instant;

use reprise::store::{InstanceQuery, Status};
use reprise::{Error, Runtime, StartOptions};

use super::{Bench, BenchOptions, scaled};

/// Starts `count` approvals and waits until every one waits for an answer.
async fn waiting_approvals(runtime: &Runtime, count: usize) -> Result<(), Error> {
    let mut starts = tokio::task::JoinSet::new();
    for n in 0..count {
        let runtime = runtime.clone();
        starts.spawn(async move {
            let options = StartOptions {
                instance_id: Some(format!("approval-{n:05}")),
                ..StartOptions::default()
            };
            let input = r#"{"item":"desk","amount":300,"timeout_secs":86400}"#;
            runtime.start("approval", input, options).await
        });
    }
    while let Some(started) = starts.join_next().await {
        started.map_err(|e| Error::Internal(e.to_string()))??;
    }
    let query = InstanceQuery {
        status: Some(Status::Running),
        name: Some("approval".into()),
        ..InstanceQuery::default()
    };
    loop {
        let listed = runtime.list(&query).await?;
        let waiting = listed
            .iter()
            .filter(|r| r.waiting.as_ref().is_some_and(|w| w.tasks.len() == 2))
            .count();
        if waiting == count {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub(super) async fn upgrade(options: &BenchOptions) -> Result<Vec<String>, Error> {
    let mut bench = Bench::new(options, "upgrade", &["approval"]).await?;
    bench.start_worker(256).await?;
    let count = scaled(options, 10_000);
    waiting_approvals(&bench.runtime, count).await?;
    let path = options.guests.join("upgrades_v2.wasm");
    let v2 = std::fs::read(&path)
        .map_err(|e| Error::InvalidInput(format!("cannot read {}: {e}", path.display())))?;
    let mut lines = Vec::new();
    for round in ["idle worker", "worker busy with new approvals"] {
        let beside = if round == "idle worker" {
            None
        } else {
            let runtime = bench.runtime.clone();
            let more = count / 10;
            Some(tokio::spawn(async move {
                let started = Instant::now();
                let mut ids = Vec::with_capacity(more);
                for n in 0..more {
                    let options = StartOptions {
                        instance_id: Some(format!("beside-{n:05}")),
                        ..StartOptions::default()
                    };
                    let input = r#"{"item":"lamp","amount":20,"timeout_secs":86400}"#;
                    ids.push(runtime.start("approval", input, options).await?);
                }
                Ok::<_, Error>((more, started.elapsed().as_secs_f64()))
            }))
        };
        let started = Instant::now();
        let plan = bench.runtime.upgrade_plan(&v2).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let totals = plan.totals();
        lines.push(format!(
            "upgrade plan over {} live approvals ({round}): {elapsed:.2} s = {:.0} instances/s ({} compatible, {} diverge, {} fail)",
            plan.instances.len(),
            plan.instances.len() as f64 / elapsed,
            totals.compatible,
            totals.diverges,
            totals.fails
        ));
        if let Some(beside) = beside {
            let (started, seconds) = beside.await.map_err(|e| Error::Internal(e.to_string()))??;
            lines.push(format!(
                "meanwhile {started} new approvals started in {seconds:.2} s = {:.0}/s",
                started as f64 / seconds
            ));
        }
    }
    bench.stop_worker();
    Ok(lines)
}
