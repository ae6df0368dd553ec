//! Noticing what other processes write to the same database (a CLI that
//! starts, resumes or terminates instances, raises events or signals actors
//! beside a running worker), by following the store's change feed.

use std::sync::Arc;
use std::time::Duration;

use super::{Shared, reaction};
use crate::store::{Change, FeedPosition, InstanceQuery, Status, StoreError};

/// How often the feed is read.
const POLL: Duration = Duration::from_millis(100);

/// How often the feed is read when the store signals changes: a safety net.
const POLL_WITH_SIGNAL: Duration = Duration::from_secs(1);

/// Changes read at a time.
const PAGE: usize = 1_000;

/// Recovers running instances at start, then follows the change feed.
pub(super) async fn watch(shared: Arc<Shared>) {
    let mut position = None;
    let signal = shared.store.changes_signal();
    loop {
        if let Err(error) = follow(&shared, &mut position).await {
            tracing::error!(%error, "cannot read the change feed");
        }
        match &signal {
            // A notification that came while reading is kept: no wake-up is lost.
            Some(signal) => {
                let _ = tokio::time::timeout(POLL_WITH_SIGNAL, signal.notified()).await;
            }
            None => tokio::time::sleep(POLL).await,
        }
    }
}

/// Reads the feed from `position` to its end and acts on each change; with
/// no position yet (at start, or after falling behind the feed), recovers
/// from the store's state instead.
async fn follow(
    shared: &Arc<Shared>,
    position: &mut Option<FeedPosition>,
) -> Result<(), StoreError> {
    loop {
        let Some(after) = *position else {
            // The head first: what is committed while recovering comes after it.
            let head = shared.store.feed_head().await?;
            recover(shared).await?;
            *position = Some(head);
            return Ok(());
        };
        let changes = shared.store.changes(after, PAGE).await?;
        if changes.gap {
            tracing::warn!("fell behind the change feed; rescanning");
            *position = None;
            continue;
        }
        if changes.next == after {
            return Ok(());
        }
        for change in changes.changes {
            act_on(shared, change).await;
        }
        *position = Some(changes.next);
    }
}

/// Starts every running instance and wakes every loop: what follows a start
/// or a gap in the feed.
pub(super) async fn recover(shared: &Arc<Shared>) -> Result<(), StoreError> {
    shared.code.registry.refresh().await?;
    let running = shared
        .store
        .instances(&InstanceQuery::status(Some(Status::Running), usize::MAX))
        .await?;
    shared.react(reaction::of_recovery(running)).await;
    Ok(())
}

async fn act_on(shared: &Arc<Shared>, change: Change) {
    shared.react(reaction::of_change(change)).await;
}
