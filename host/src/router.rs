//! Which instances are hot in this process, and how messages reach them.
//!
//! Every message is committed before it is routed, so routing is only an
//! optimisation: a message that finds no hot instance starts one, which
//! reads its inbox from the store.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::store::Message;

/// What an instance task can be told.
#[derive(Debug)]
pub(crate) enum Signal {
    /// A committed inbox message.
    Message(Message),
    /// Stop now (terminated or suspended); state is already committed.
    Stop(String),
}

struct Slot {
    sender: UnboundedSender<Signal>,
    generation: u64,
}

#[derive(Default)]
pub(crate) struct Router {
    slots: Mutex<HashMap<String, Slot>>,
    next_generation: Mutex<u64>,
}

/// A new instance task to spawn: its id, inbox and generation.
pub(crate) type Spawn = (String, UnboundedReceiver<Signal>, u64);

impl Router {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_slot(&self, slots: &mut HashMap<String, Slot>, id: &str) -> Spawn {
        let mut next = self
            .next_generation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *next += 1;
        let (sender, receiver) = unbounded_channel();
        slots.insert(
            id.to_owned(),
            Slot {
                sender,
                generation: *next,
            },
        );
        (id.to_owned(), receiver, *next)
    }

    /// Hands the message to the hot instance, or returns the task to spawn.
    pub(crate) fn deliver(&self, message: Message) -> Option<Spawn> {
        let mut slots = self.slots();
        let id = message.instance_id.clone();
        if let Some(slot) = slots.get(&id)
            && slot.sender.send(Signal::Message(message)).is_ok()
        {
            return None;
        }
        Some(self.new_slot(&mut slots, &id))
    }

    /// Returns the task to spawn if the instance is not hot.
    pub(crate) fn ensure(&self, id: &str) -> Option<Spawn> {
        let mut slots = self.slots();
        match slots.get(id) {
            Some(slot) if !slot.sender.is_closed() => None,
            _ => Some(self.new_slot(&mut slots, id)),
        }
    }

    /// Tells a hot instance to stop.
    pub(crate) fn stop(&self, id: &str, why: &str) {
        if let Some(slot) = self.slots().get(id) {
            let _ = slot.sender.send(Signal::Stop(why.to_owned()));
        }
    }

    pub(crate) fn is_hot(&self, id: &str) -> bool {
        self.slots().contains_key(id)
    }

    /// Called by an instance task as it ends.
    pub(crate) fn release(&self, id: &str, generation: u64) {
        let mut slots = self.slots();
        if slots.get(id).is_some_and(|s| s.generation == generation) {
            slots.remove(id);
        }
    }

    /// Unloads an idle instance unless a message is already waiting for it.
    /// Holding the lock means no message can slip in between.
    pub(crate) fn try_evict(
        &self,
        id: &str,
        generation: u64,
        inbox: &UnboundedReceiver<Signal>,
    ) -> bool {
        let mut slots = self.slots();
        if !inbox.is_empty() {
            return false;
        }
        if slots.get(id).is_some_and(|s| s.generation == generation) {
            slots.remove(id);
        }
        true
    }
}
