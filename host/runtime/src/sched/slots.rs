//! Instance slots: how guests share the engine's preallocated pool.
//!
//! A hot orchestration holds a slot while it waits; an activity attempt or
//! an actor batch holds one while it runs. Hot orchestrations may take all
//! but a reserve, so running work never queues behind waiting work. When an
//! orchestration finds no slot, the one that has waited longest is evicted
//! (it replays from history on its next message), but only once it has
//! waited a while: an instance that has just started waiting is likely to
//! be answered soon, and evicting it would only cost a replay. Until then
//! (`RuntimeBuilder::evict_for_room_after`) the newcomer waits for a slot to
//! come free.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Shared;

/// How often a guest waiting for a slot looks again.
const RETRY: Duration = Duration::from_millis(5);

/// Slots hot orchestrations may hold: all but a reserve for running work.
pub(super) fn hot_slots(instance_slots: u32) -> Arc<Semaphore> {
    let slots = instance_slots.max(2) as usize;
    let reserve = (slots / 4).clamp(1, 512);
    Arc::new(Semaphore::new(slots - reserve))
}

impl Shared {
    /// A slot for a hot orchestration, held until the permit is dropped.
    pub(crate) async fn hot_slot(&self) -> OwnedSemaphorePermit {
        let hot = &self.sched.hot;
        loop {
            if let Ok(permit) = hot.clone().try_acquire_owned() {
                return permit;
            }
            let min_idle = self.settings.evict_for_room_after;
            self.sched.router.evict_idle(min_idle);
            let wait = tokio::time::timeout(RETRY, hot.clone().acquire_owned());
            if let Ok(Ok(permit)) = wait.await {
                return permit;
            }
        }
    }
}
