//! The "what is it waiting for?" side of the client API: gathers from the
//! store what [`WaitFacts::report`] explains.

use super::Runtime;
use crate::error::Error;
use crate::history::Event;
use crate::store::Resumable;
use crate::waiting::{Surroundings, WaitFacts, awaited_events};

/// How far into a queue (an actor's mailbox, the multi-actor requests) a
/// report looks for the awaited call: further back, it says no position.
const QUEUE_HORIZON: usize = 10_000;

impl Runtime {
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
