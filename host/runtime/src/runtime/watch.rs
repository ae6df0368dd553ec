//! Noticing what other processes write to the same database: a CLI that
//! starts, resumes or terminates instances, raises events or signals actors
//! beside a running worker.

use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use crate::clock::now_ms;
use crate::store::{Status, StoreError};

/// Recovers running instances at start, then keeps noticing what other
/// processes write to the same database: new and resumed instances, events,
/// terminations.
pub(super) async fn watch(shared: Arc<Shared>) {
    let mut last_version = None;
    let mut seen = Seen::default();
    loop {
        let version = shared.store.data_version().ok();
        if version.is_none() || version != last_version {
            last_version = version;
            if let Err(error) = rescan(&shared, &mut seen) {
                tracing::error!(%error, "cannot scan the store");
            }
            shared.activity_wake.notify_one();
            shared.timer_wake.notify_one();
            shared.actor_wake.notify_one();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How far the watcher has read.
#[derive(Debug, Default)]
struct Seen {
    /// Instances updated from this time on (ms) are looked at again.
    updated_since: u64,
    /// Last inbox message routed.
    message: i64,
}

/// A commit stamped at time t may become visible a little after t: look back
/// this far so none is missed.
const VISIBILITY_MARGIN_MS: u64 = 2_000;

fn rescan(shared: &Arc<Shared>, seen: &mut Seen) -> Result<(), StoreError> {
    let scan_started = now_ms();
    for (id, status) in shared.store.updated_since(seen.updated_since)? {
        match status {
            Status::Running => {
                if let Some(spawn) = shared.router.ensure(&id) {
                    shared.spawn(spawn);
                }
            }
            status if shared.router.is_hot(&id) => {
                shared.router.stop(&id, status.as_str());
                shared.finished.notify_waiters();
            }
            _ => {}
        }
    }
    seen.updated_since = scan_started.saturating_sub(VISIBILITY_MARGIN_MS);
    loop {
        let messages = shared.store.messages_after(seen.message, 1000)?;
        let Some(last) = messages.last() else { break };
        seen.message = last.id;
        // Hot instances ignore what they already have; cold ones wake up.
        for message in messages {
            if let Some(spawn) = shared.router.deliver(message) {
                shared.spawn(spawn);
            }
        }
    }
    Ok(())
}
