//! Waiting for instances to finish, one instance at a time: a finished
//! instance wakes those who wait for it, and no one else. A thousand
//! clients long-polling for a thousand different results cost a map entry
//! each while they wait, and one status read each when their instance
//! finishes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Who waits for which instance.
#[derive(Default)]
pub(crate) struct FinishWaiters {
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
}

impl FinishWaiters {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts waiting for `instance_id`; wake-ups reach the returned
    /// subscription from now on (see [`Subscription::notified`]).
    pub(crate) fn subscribe(&self, instance_id: &str) -> Subscription<'_> {
        let notify = self
            .lock()
            .entry(instance_id.to_owned())
            .or_default()
            .clone();
        Subscription {
            waiters: self,
            instance_id: instance_id.to_owned(),
            notify,
        }
    }

    /// `instance_id` finished (or changed in a way its waiters should see).
    pub(crate) fn finished(&self, instance_id: &str) {
        if let Some(notify) = self.lock().get(instance_id) {
            notify.notify_waiters();
        }
    }

    /// Wakes every waiter, to look again (after the change feed was lost).
    pub(crate) fn wake_all(&self) {
        for notify in self.lock().values() {
            notify.notify_waiters();
        }
    }
}

/// One caller's interest in one instance; dropping it ends the interest.
pub(crate) struct Subscription<'a> {
    waiters: &'a FinishWaiters,
    instance_id: String,
    notify: Arc<Notify>,
}

impl Subscription<'_> {
    /// Resolves at the next wake-up for the instance. Take it before
    /// reading the instance's status: a wake-up between the read and the
    /// await is then not lost.
    pub(crate) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut waiting = self.waiters.lock();
        // The map's reference and ours: no one else waits for it.
        if Arc::strong_count(&self.notify) == 2 {
            waiting.remove(&self.instance_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_finished_instance_wakes_its_waiters_only_and_leaves_no_entry() {
        let waiters = FinishWaiters::default();
        let (a, a_too, b) = (
            waiters.subscribe("a"),
            waiters.subscribe("a"),
            waiters.subscribe("b"),
        );
        let (woken_a, woken_a_too, woken_b) = (a.notified(), a_too.notified(), b.notified());
        waiters.finished("a");
        let short = Duration::from_millis(20);
        assert!(tokio::time::timeout(short, woken_a).await.is_ok());
        assert!(tokio::time::timeout(short, woken_a_too).await.is_ok());
        assert!(tokio::time::timeout(short, woken_b).await.is_err());
        drop((a, a_too));
        assert_eq!(waiters.lock().len(), 1, "only b is still waited for");
        drop(b);
        assert!(waiters.lock().is_empty());
    }
}
