//! Which instances are hot in this process, and how messages reach them.
//!
//! Every message is committed before it is routed, so routing is only an
//! optimisation: a message that finds no hot instance starts one, which
//! reads its inbox from the store. The one exception is an activity result
//! passed straight to its hot instance ([`Router::deliver_result`]): it lives
//! only in memory until the instance commits it, and its task stays in the
//! store until then, so a crash runs the activity again rather than losing it.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::roles::activity::ActivityResult;
use crate::roles::orchestration::Wake;
use crate::store::Message;

/// The way to one hot instance: its task's channel, and whether it waits.
struct Route {
    sender: UnboundedSender<Wake>,
    generation: u64,
    /// Set while the instance waits for a message: the number of its entry
    /// in the idle queue.
    idle: Option<u64>,
}

#[derive(Default)]
struct Table {
    routes: HashMap<String, Route>,
    /// Instances in the order they began to wait, oldest first, with the
    /// number their route held then and when. An entry whose number no longer
    /// matches is stale (the instance woke up or went away) and is skipped.
    idle: VecDeque<(String, u64, Instant)>,
    next_generation: u64,
    next_idle: u64,
}

#[derive(Default)]
pub(crate) struct Router {
    table: Mutex<Table>,
}

/// A new instance task to spawn: its id, inbox and generation.
pub(crate) type Spawn = (String, UnboundedReceiver<Wake>, u64);

impl Router {
    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Instances hot in this process: running an episode or waiting in memory.
    pub(crate) fn hot_count(&self) -> usize {
        self.table().routes.len()
    }

    /// Hands the message to the hot instance, or returns the task to spawn.
    pub(crate) fn deliver(&self, message: Message) -> Option<Spawn> {
        let mut table = self.table();
        let id = message.instance_id.clone();
        if let Some(route) = table.routes.get(&id)
            && route.sender.send(Wake::Message(message)).is_ok()
        {
            return None;
        }
        Some(table.new_route(&id))
    }

    /// Passes an activity result to its instance if it is hot here; gives
    /// it back otherwise, to be committed.
    pub(crate) fn deliver_result(&self, result: ActivityResult) -> Result<(), ActivityResult> {
        let table = self.table();
        let Some(route) = table.routes.get(&result.instance_id) else {
            return Err(result);
        };
        if let Err(refused) = route.sender.send(Wake::Result(result))
            && let Wake::Result(result) = refused.0
        {
            return Err(result);
        }
        Ok(())
    }

    /// Returns the task to spawn if the instance is not hot.
    pub(crate) fn ensure(&self, id: &str) -> Option<Spawn> {
        let mut table = self.table();
        match table.routes.get(id) {
            Some(route) if !route.sender.is_closed() => None,
            _ => Some(table.new_route(id)),
        }
    }

    /// Tells a hot instance to stop.
    pub(crate) fn stop(&self, id: &str, why: &str) {
        if let Some(route) = self.table().routes.get(id) {
            let _ = route.sender.send(Wake::Stop(why.to_owned()));
        }
    }

    /// Tells a hot instance that it moved to new code.
    pub(crate) fn reload(&self, id: &str) {
        if let Some(route) = self.table().routes.get(id) {
            let _ = route.sender.send(Wake::Reload);
        }
    }

    /// Tells every hot instance whose id `pick` chooses to stop.
    pub(crate) fn stop_where(&self, pick: impl Fn(&str) -> bool, why: &str) {
        for (id, route) in &self.table().routes {
            if pick(id) {
                let _ = route.sender.send(Wake::Stop(why.to_owned()));
            }
        }
    }

    #[cfg(test)]
    fn is_hot(&self, id: &str) -> bool {
        self.table().routes.contains_key(id)
    }

    /// Called by an instance task as it ends.
    pub(crate) fn release(&self, id: &str, generation: u64) {
        self.table().remove(id, generation);
    }

    /// Called by an instance as it starts waiting for a message: it may be
    /// evicted from now on to free its instance slot.
    pub(crate) fn idle(&self, id: &str, generation: u64) {
        let mut table = self.table();
        let number = table.next_idle;
        let Some(route) = table.current(id, generation) else {
            return;
        };
        route.idle = Some(number);
        table.next_idle += 1;
        table
            .idle
            .push_back((id.to_owned(), number, Instant::now()));
        // Stale entries pile up as instances wake and wait again.
        if table.idle.len() > 2 * table.routes.len() + 64 {
            let Table { routes, idle, .. } = &mut *table;
            idle.retain(|(id, number, _)| routes.get(id).is_some_and(|s| s.idle == Some(*number)));
        }
    }

    /// Called by an instance as a message wakes it.
    pub(crate) fn busy(&self, id: &str, generation: u64) {
        if let Some(route) = self.table().current(id, generation) {
            route.idle = None;
        }
    }

    /// Asks the longest-idle instance to unload if it has waited at least
    /// `min_idle`; does nothing if none has.
    pub(crate) fn evict_idle(&self, min_idle: Duration) {
        let mut table = self.table();
        let Table { routes, idle, .. } = &mut *table;
        while let Some((id, number, since)) = idle.front() {
            let Some(route) = routes.get_mut(id).filter(|s| s.idle == Some(*number)) else {
                idle.pop_front();
                continue;
            };
            if since.elapsed() < min_idle {
                return;
            }
            route.idle = None;
            let evicted = route.sender.send(Wake::Evict).is_ok();
            idle.pop_front();
            if evicted {
                return;
            }
        }
    }

    /// Unloads an idle instance unless a message is already waiting for it.
    /// Holding the lock means no message can slip in between.
    pub(crate) fn try_evict(
        &self,
        id: &str,
        generation: u64,
        inbox: &UnboundedReceiver<Wake>,
    ) -> bool {
        let mut table = self.table();
        if !inbox.is_empty() {
            return false;
        }
        table.remove(id, generation);
        true
    }
}

impl Table {
    /// The instance's route, if it still belongs to this generation of its task.
    fn current(&mut self, id: &str, generation: u64) -> Option<&mut Route> {
        self.routes
            .get_mut(id)
            .filter(|s| s.generation == generation)
    }

    fn remove(&mut self, id: &str, generation: u64) {
        if self.current(id, generation).is_some() {
            self.routes.remove(id);
        }
    }

    fn new_route(&mut self, id: &str) -> Spawn {
        self.next_generation += 1;
        let (sender, receiver) = unbounded_channel();
        self.routes.insert(
            id.to_owned(),
            Route {
                sender,
                generation: self.next_generation,
                idle: None,
            },
        );
        (id.to_owned(), receiver, self.next_generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MessageKind;

    fn event(instance_id: &str, id: i64) -> Message {
        Message {
            id,
            instance_id: instance_id.into(),
            execution: None,
            task: None,
            kind: MessageKind::Event,
            name: Some("e".into()),
            payload: "null".into(),
        }
    }

    fn result(instance_id: &str) -> ActivityResult {
        ActivityResult {
            task_id: 1,
            instance_id: instance_id.into(),
            execution: 0,
            task: 1,
            outcome: Ok("1".into()),
        }
    }

    /// The message that starts a task is not in its inbox: the task reads
    /// it from the store, where it was committed before it was routed.
    #[test]
    fn the_first_message_starts_a_task_and_later_ones_reach_its_inbox() {
        let router = Router::default();
        let (id, mut inbox, _) = router.deliver(event("a", 1)).expect("a task to spawn");
        assert_eq!(id, "a");
        assert!(router.deliver(event("a", 2)).is_none());
        assert!(router.ensure("a").is_none(), "already hot");
        let ids: Vec<i64> = std::iter::from_fn(|| inbox.try_recv().ok())
            .map(|wake| match wake {
                Wake::Message(message) => message.id,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(ids, [2]);
    }

    #[test]
    fn a_result_for_an_instance_that_is_not_hot_comes_back_to_be_committed() {
        let router = Router::default();
        assert!(router.deliver_result(result("cold")).is_err());
        let (_, inbox, _) = router.ensure("hot").expect("a task to spawn");
        assert!(router.deliver_result(result("hot")).is_ok());
        drop(inbox);
        // Its task has ended: the result must not vanish into a closed inbox.
        assert!(router.deliver_result(result("hot")).is_err());
    }

    #[test]
    fn an_old_task_ending_does_not_release_its_successor() {
        let router = Router::default();
        let (_, first_inbox, first) = router.ensure("a").unwrap();
        drop(first_inbox);
        let (_, _second_inbox, second) = router.ensure("a").expect("a closed inbox is replaced");
        assert_ne!(first, second);
        router.release("a", first);
        assert!(router.is_hot("a"), "the old generation released nothing");
        router.release("a", second);
        assert!(!router.is_hot("a"));
    }

    #[test]
    fn eviction_asks_the_longest_idle_instance_and_spares_busy_ones() {
        let router = Router::default();
        let (_, mut old, old_generation) = router.ensure("old").unwrap();
        let (_, mut young, young_generation) = router.ensure("young").unwrap();
        router.idle("old", old_generation);
        router.idle("young", young_generation);
        router.evict_idle(Duration::from_secs(3600));
        assert!(old.try_recv().is_err(), "nobody has waited an hour");
        router.evict_idle(Duration::ZERO);
        assert!(matches!(old.try_recv(), Ok(Wake::Evict)));
        assert!(young.try_recv().is_err(), "one eviction per call");
        router.busy("young", young_generation);
        router.evict_idle(Duration::ZERO);
        assert!(young.try_recv().is_err(), "a busy instance is not evicted");
    }

    #[test]
    fn an_instance_with_a_message_waiting_is_not_evicted() {
        let router = Router::default();
        let (_, inbox, generation) = router.ensure("a").unwrap();
        assert!(router.deliver(event("a", 1)).is_none());
        assert!(!router.try_evict("a", generation, &inbox));
        assert!(router.is_hot("a"));
    }
}
