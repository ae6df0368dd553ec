//! Durable timers: stored with their fire time, fired by one task that sleeps
//! until the earliest is due. After a restart they fire late, never never.

use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use crate::history::Outcome;
use crate::store::{MessageKind, NewMessage, Op, TimerRecord};

/// How many timers are fired per batch.
const BATCH: usize = 256;
/// Longest sleep without looking again (timers set by other processes).
const MAX_SLEEP: Duration = Duration::from_millis(500);
/// How late another worker's timer must be before this one fires it.
const OVERDUE_MS: u64 = 5_000;

pub(crate) async fn run(shared: Arc<Shared>) {
    let fired: Outcome = Ok("null".into());
    let payload = serde_json::to_string(&fired).unwrap_or_default();
    loop {
        let wake = shared.sched.timer_wake.notified();
        let timers = shared
            .store
            .next_timers(BATCH)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot read timers");
                Vec::new()
            });
        let now = shared.now_ms();
        // Each worker fires its own partitions' timers, where the message
        // reaches the instance without a detour. Firing is idempotent (a
        // timer's row is deleted once), so a timer its owner has left
        // overdue for long (a worker that died, before its units move) is
        // fired by whichever worker sees it.
        let fires_at = |t: &TimerRecord| {
            if shared.sched.ownership.owns_instance(&t.instance_id) {
                t.fire_at
            } else {
                t.fire_at.saturating_add(OVERDUE_MS)
            }
        };
        let (due, later): (Vec<_>, Vec<_>) = timers.into_iter().partition(|t| fires_at(t) <= now);
        if !due.is_empty() {
            let batch = due
                .into_iter()
                .map(|timer| Op::FireTimer {
                    message: NewMessage {
                        instance_id: timer.instance_id.clone(),
                        execution: Some(timer.execution),
                        task: Some(timer.task),
                        kind: MessageKind::Timer,
                        name: None,
                        payload: payload.clone(),
                    },
                    timer,
                })
                .collect();
            if let Err(error) = shared.commit(batch).await {
                tracing::error!(%error, "cannot fire timers");
                tokio::time::sleep(MAX_SLEEP).await;
            }
            continue;
        }
        let sleep = later.iter().map(fires_at).min().map_or(MAX_SLEEP, |at| {
            Duration::from_millis(at.saturating_sub(now)).min(MAX_SLEEP)
        });
        let _ = tokio::time::timeout(sleep, wake).await;
    }
}
