//! Waiting for results, and "what is it waiting for?": the latter gathered
//! from the store for [`WaitFacts::report`] to explain.

use std::time::Duration;

use super::Runtime;
use crate::error::Error;
use crate::history::Event;
use crate::store::{InstanceRecord, Resumable};
use crate::waiting::{Surroundings, WaitFacts, awaited_events};

/// How far into a queue (an actor's mailbox, the multi-actor requests) a
/// report looks for the awaited call: further back, it says no position.
const QUEUE_HORIZON: usize = 10_000;

impl Runtime {
    /// Waits until the instance has finished (completed, failed or
    /// terminated), or `timeout` passes.
    pub async fn wait(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<InstanceRecord, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let subscription = self.shared.waiters.finished.subscribe(instance_id);
        loop {
            let finished = subscription.notified();
            let record = self.status(instance_id).await?;
            if record.status.is_final() {
                return Ok(record);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout(format!(
                    "instance {instance_id} is still {} after {timeout:?}",
                    record.status.as_str()
                )));
            }
            // A worker hears of every instance that finishes, in this
            // process or (through the change feed) another: it looks again
            // only when told, or rarely as a safety net. A client without
            // a worker is told nothing and must look now and then.
            let look_again = if self.shared.sched.is_worker() {
                Duration::from_secs(10)
            } else {
                Duration::from_millis(50)
            };
            let _ = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + look_again),
                finished,
            )
            .await;
        }
    }

    /// What an instance awaits right now, worked out from the store (no
    /// live guest needed): the tasks its last episode blocked on, with the
    /// state of each.
    pub async fn waiting(&self, instance_id: &str) -> Result<WaitFacts, Error> {
        let store = &self.shared.store;
        let Resumable {
            record,
            history,
            inbox,
        } = store
            .resumable(instance_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no instance {instance_id}")))?;
        let mut around = Surroundings {
            outstanding: store.outstanding(instance_id, record.execution).await?,
            ..Surroundings::default()
        };
        for (_, event) in awaited_events(&record, &history) {
            match event.map(|e| &e.event) {
                Some(Event::ChildScheduled { instance_id, .. }) => {
                    if let Some(child) = store.instance(instance_id).await? {
                        around.children.insert(child.id, child.status);
                    }
                }
                Some(Event::ActorCalled { operation }) => {
                    let target = &operation.target;
                    if !around.queues.contains_key(target) {
                        let queue = store.actor_queue(target, QUEUE_HORIZON).await?;
                        around.queues.insert(target.clone(), queue);
                    }
                }
                Some(Event::ActorsCalledAtomically { .. }) if around.atomic.is_empty() => {
                    around.atomic = store.atomic_requests(QUEUE_HORIZON).await?;
                }
                _ => {}
            }
        }
        Ok(WaitFacts {
            record,
            history,
            inbox,
            around,
            now: self.shared.now_ms(),
        })
    }
}
