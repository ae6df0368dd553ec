//! The actor dispatcher: one operation at a time per actor, in arrival
//! order, many actors in parallel.
//!
//! The dispatcher lists the free actors with due work, each with its first
//! page (one read for them all, passing over the actors it serves), and
//! gives each a task that serves its mailbox a page at a time: the
//! operations up to its next atomic turn go in one batch (`actor_batch`),
//! committed in ONE transaction with the new state, the replies and the
//! effects; then the next page. A crash before a commit re-runs the batch
//! on the old state, so every operation takes effect exactly once. Memory
//! holds a page per busy actor however long its mailbox grows.
//!
//! An atomic request has a turn in each of its actors' mailboxes. An actor
//! whose mailbox starts with such a turn stops there (its task ends, and
//! the actor is *parked* at the request) until every actor of the request
//! has reached its turn; the last to arrive runs the request for them all
//! and releases them. The store keeps any two requests' turns in one order
//! in every mailbox they share, so parked actors never wait in a circle,
//! and neither kind of work can hold the other back.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Shared;
use super::actor_batch::{run_atomic, run_batch};
use super::ownership::{Tenure, Unit};
use crate::roles::actor::IdleHandlers;
use crate::store::{ActorId, ActorMessage, AtomicRequest, DueActor};

/// Most operations of one actor handled in one batch (one transaction).
const MAX_BATCH: usize = 64;
/// Free actors the dispatcher looks for per round.
const DUE_ACTORS: usize = 1024;

/// What the dispatcher's tasks are doing.
#[derive(Default)]
struct InFlight {
    /// The ownership of the actors the parked actors were parked under.
    tenure: Option<Tenure>,
    /// Actors a task is serving (or an atomic request is running on).
    serving: HashSet<ActorId>,
    /// Actors whose task ended since the dispatcher last read the due
    /// actors: the page it read may hold what that task applied, so they
    /// wait for the next read.
    served_since_read: HashSet<ActorId>,
    /// Actors at their turn in an atomic request that waits for others.
    parked: HashMap<ActorId, i64>,
    /// For each such request, the actors at their turn so far.
    arrived: HashMap<i64, BTreeSet<ActorId>>,
}

impl InFlight {
    fn busy(&self, actor: &ActorId) -> bool {
        self.serving.contains(actor)
            || self.parked.contains_key(actor)
            || self.served_since_read.contains(actor)
    }

    /// `actor`'s task has ended.
    fn served(&mut self, actor: &ActorId) {
        self.serving.remove(actor);
        self.served_since_read.insert(actor.clone());
    }

    /// `actor` has reached its turn in `request`, as seen under `tenure`:
    /// parks it there, or, when it is the last of the request's actors to
    /// arrive, takes them all. Seen under an ownership that has ended, it
    /// is not parked: what it saw may be out of date.
    fn arrive(&mut self, actor: &ActorId, request: &AtomicRequest, tenure: &Tenure) -> bool {
        self.serving.remove(actor);
        if self.tenure.as_ref() != Some(tenure) {
            return false;
        }
        let targets: BTreeSet<&ActorId> = request.operations.iter().map(|o| &o.target).collect();
        let arrived = self.arrived.entry(request.id).or_default();
        arrived.insert(actor.clone());
        if targets.iter().any(|t| !arrived.contains(*t)) {
            self.parked.insert(actor.clone(), request.id);
            return false;
        }
        for target in self.arrived.remove(&request.id).unwrap_or_default() {
            self.parked.remove(&target);
            self.serving.insert(target);
        }
        true
    }

    /// Keeps the parked actors while the ownership of the actors is the
    /// one they were parked under; otherwise forgets them: another host may
    /// have served the actors meanwhile, and they are found at their turns
    /// anew.
    fn owned_under(&mut self, tenure: Option<Tenure>) {
        if self.tenure != tenure {
            self.parked.clear();
            self.arrived.clear();
            self.tenure = tenure;
        }
    }
}

fn lock(in_flight: &Mutex<InFlight>) -> std::sync::MutexGuard<'_, InFlight> {
    in_flight.lock().unwrap_or_else(|e| e.into_inner())
}

/// Gives every actor with due work a task of its own, forever.
pub(crate) async fn dispatch(shared: Arc<Shared>) {
    let in_flight: Arc<Mutex<InFlight>> = Arc::default();
    let idle = shared.code.actors.clone();
    loop {
        let wake = shared.sched.actor_wake.notified();
        let tenure = shared.sched.ownership.tenure(Unit::Actors).ok();
        let owned = tenure.is_some();
        lock(&in_flight).owned_under(tenure);
        if !owned {
            // Another host handles the actors; gaining them wakes this loop.
            let _ = tokio::time::timeout(Duration::from_secs(1), wake).await;
            continue;
        }
        // The busy actors' pages would be read only to be passed over.
        let busy: Vec<ActorId> = {
            let mut f = lock(&in_flight);
            f.served_since_read.clear();
            f.serving.iter().chain(f.parked.keys()).cloned().collect()
        };
        let due = shared
            .store
            .due_actors(shared.now_ms(), DUE_ACTORS, MAX_BATCH, &busy)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot read which actors have work");
                Vec::new()
            });
        for DueActor { actor, page } in due {
            {
                let mut f = lock(&in_flight);
                if f.busy(&actor) {
                    continue;
                }
                f.serving.insert(actor.clone());
            }
            let (shared, in_flight, idle) = (shared.clone(), in_flight.clone(), idle.clone());
            tokio::spawn(async move {
                serve(&shared, &idle, &in_flight, &actor, page).await;
                shared.sched.actor_wake.notify_one();
            });
        }
        // Reminders become due by time, not by a commit: look again soon.
        let _ = tokio::time::timeout(Duration::from_millis(100), wake).await;
    }
}

/// Serves one actor's mailbox a page at a time, from `first` (the page
/// the dispatcher read), until it is empty, stops at an atomic turn, or a
/// batch does not commit (the dispatcher comes back to it).
async fn serve(
    shared: &Arc<Shared>,
    idle: &IdleHandlers,
    in_flight: &Mutex<InFlight>,
    actor: &ActorId,
    first: Vec<ActorMessage>,
) {
    let Ok(tenure) = shared.sched.ownership.tenure(Unit::Actors) else {
        lock(in_flight).served(actor);
        return;
    };
    let mut first = Some(first);
    loop {
        let read = match first.take() {
            Some(page) => Ok(page),
            None => {
                let store = &shared.store;
                store
                    .due_actor_operations(actor, shared.now_ms(), MAX_BATCH)
                    .await
            }
        };
        let page = match read {
            Ok(page) => page,
            Err(error) => {
                tracing::error!(%error, %actor, "cannot read the actor's mailbox");
                break;
            }
        };
        let operations = page.iter().take_while(|m| m.atomic.is_none()).count();
        if operations > 0 {
            // A page that was not full held the whole mailbox: what arrives
            // after it wakes the dispatcher, which comes back to the actor,
            // so it is not worth reading an empty page to find out.
            let more = page.len() == MAX_BATCH;
            let mut page = page;
            page.truncate(operations);
            if run_batch(shared, idle, actor, page).await && more {
                continue;
            }
            break;
        }
        let Some(request) = page.first().and_then(|turn| turn.atomic) else {
            break;
        };
        match shared.store.atomic_request(request).await {
            Ok(Some(request)) => {
                if lock(in_flight).arrive(actor, &request, &tenure) {
                    let targets: BTreeSet<ActorId> = request
                        .operations
                        .iter()
                        .map(|o| o.target.clone())
                        .collect();
                    run_atomic(shared, idle, request).await;
                    let mut f = lock(in_flight);
                    for target in &targets {
                        f.served(target);
                    }
                }
                // Parked, or done: the dispatcher serves them again.
                return;
            }
            Ok(None) => {
                tracing::error!(request, %actor, "an atomic turn names no queued request");
                break;
            }
            Err(error) => {
                tracing::error!(%error, request, "cannot read the atomic request");
                break;
            }
        }
    }
    lock(in_flight).served(actor);
}
