//! Durable timers: stored with their fire time, fired by one task that sleeps
//! until the earliest is due. After a restart they fire late, never never.

use std::sync::Arc;
use std::time::Duration;

use crate::history::Outcome;
use crate::runtime::Shared;
use crate::store::{MessageKind, NewMessage, Op};

/// How many timers are fired per batch.
const BATCH: usize = 256;
/// Longest sleep without looking again (timers set by other processes).
const MAX_SLEEP: Duration = Duration::from_millis(500);

pub(crate) async fn run(shared: Arc<Shared>) {
    let fired: Outcome = Ok("null".into());
    let payload = serde_json::to_string(&fired).unwrap_or_default();
    loop {
        let wake = shared.timer_wake.notified();
        let timers = shared
            .store
            .next_timers(BATCH)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot read timers");
                Vec::new()
            });
        let now = shared.now_ms();
        let (due, later): (Vec<_>, Vec<_>) = timers.into_iter().partition(|t| t.fire_at <= now);
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
        let sleep = later.first().map_or(MAX_SLEEP, |t| {
            Duration::from_millis(t.fire_at - now).min(MAX_SLEEP)
        });
        let _ = tokio::time::timeout(sleep, wake).await;
    }
}
