//! The actor dispatcher: one operation at a time per actor, many actors
//! in parallel.
//!
//! The dispatcher takes due operations from the mailboxes and gives each
//! free actor a batch of its own, in arrival order. A batch runs against the
//! actor's committed state and commits in ONE transaction: the dequeued
//! operations, the new state, the replies and the effects. A crash before
//! that commit re-runs the batch on the old state, so every operation takes
//! effect exactly once. Atomic multi-actor requests claim all their actors
//! and commit every new state or none.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument;

use super::Shared;
use super::ownership::Unit;
use crate::history::{Failure, Outcome};
use crate::roles::actor::{Handler, IdleHandlers};
use crate::store::{
    ActorId, ActorMessage, ActorOperation, AtomicRequest, MessageKind, NewMessage, Op, ReplyTo,
};
use crate::wasm::{LoadedComponent, guest_log};

/// Most operations of one actor handled in one batch (one transaction).
const MAX_BATCH: usize = 64;
/// Operations read per dispatcher round.
const READ_AHEAD: usize = 4096;

/// Actors with a batch or atomic request in flight, and atomic requests in flight.
#[derive(Default)]
struct InFlight {
    actors: HashSet<ActorId>,
    atomic: HashSet<i64>,
}

fn lock(in_flight: &Mutex<InFlight>) -> std::sync::MutexGuard<'_, InFlight> {
    in_flight.lock().unwrap_or_else(|e| e.into_inner())
}

/// Hands due operations to free actors, forever.
pub(crate) async fn dispatch(shared: Arc<Shared>) {
    let in_flight: Arc<Mutex<InFlight>> = Arc::default();
    // The pool lives as long as this loop; the scheduler keeps it weakly,
    // to empty it when the instance pool is full.
    let code = &shared.code;
    let idle = Arc::new(IdleHandlers::new(
        code.guests.clone(),
        code.directory.clone(),
    ));
    shared.sched.keep_idle_actors(&idle);
    loop {
        let wake = shared.sched.actor_wake.notified();
        if !shared.sched.ownership.owns(Unit::Actors) {
            // Another host handles the actors; gaining them wakes this loop.
            let _ = tokio::time::timeout(Duration::from_secs(1), wake).await;
            continue;
        }
        // Snapshot before reading: an actor busy now may commit while we read,
        // and what we read for it would be stale.
        let (busy, atomic_busy) = {
            let f = lock(&in_flight);
            (f.actors.clone(), f.atomic.clone())
        };
        // Atomic requests first; the actors they wait for take no new batches.
        let mut claimed: HashSet<ActorId> = busy.clone();
        let requests = shared.store.atomic_requests(256).await;
        for request in requests.unwrap_or_else(|error| {
            tracing::error!(%error, "cannot read atomic actor requests");
            Vec::new()
        }) {
            if atomic_busy.contains(&request.id) {
                continue;
            }
            let targets: BTreeSet<ActorId> = request
                .operations
                .iter()
                .map(|op| op.target.clone())
                .collect();
            let free = targets.iter().all(|t| !claimed.contains(t));
            claimed.extend(targets.iter().cloned());
            if free {
                {
                    let mut f = lock(&in_flight);
                    f.actors.extend(targets.iter().cloned());
                    f.atomic.insert(request.id);
                }
                let (shared, in_flight, idle) = (shared.clone(), in_flight.clone(), idle.clone());
                tokio::spawn(async move {
                    let id = request.id;
                    run_atomic(&shared, &idle, request).await;
                    let mut f = lock(&in_flight);
                    f.atomic.remove(&id);
                    for target in &targets {
                        f.actors.remove(target);
                    }
                    drop(f);
                    shared.sched.actor_wake.notify_one();
                });
            }
        }
        let messages = shared
            .store
            .due_actor_messages(shared.now_ms(), READ_AHEAD)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot read actor mailboxes");
                Vec::new()
            });
        for (actor, batch) in group_by_actor(messages) {
            if claimed.contains(&actor) {
                continue;
            }
            lock(&in_flight).actors.insert(actor.clone());
            let (shared, in_flight, idle) = (shared.clone(), in_flight.clone(), idle.clone());
            tokio::spawn(async move {
                run_batch(&shared, &idle, &actor, batch).await;
                lock(&in_flight).actors.remove(&actor);
                shared.sched.actor_wake.notify_one();
            });
        }
        // Reminders become due by time, not by a commit: look again soon.
        let _ = tokio::time::timeout(Duration::from_millis(100), wake).await;
    }
}

/// Groups operations by actor, keeping arrival order within each.
fn group_by_actor(messages: Vec<ActorMessage>) -> Vec<(ActorId, Vec<ActorMessage>)> {
    let mut index: HashMap<ActorId, usize> = HashMap::new();
    let mut groups: Vec<(ActorId, Vec<ActorMessage>)> = Vec::new();
    for message in messages {
        let target = message.operation.target.clone();
        let slot = *index.entry(target.clone()).or_insert_with(|| {
            groups.push((target, Vec::new()));
            groups.len() - 1
        });
        if groups[slot].1.len() < MAX_BATCH {
            groups[slot].1.push(message);
        }
    }
    groups
}

/// The write that delivers an outcome to whoever is waiting for it.
fn reply(to: &ReplyTo, outcome: &Outcome) -> Option<Op> {
    match to {
        ReplyTo::Nobody => {
            if let Err(failure) = outcome {
                tracing::warn!(error = %failure.message, "signalled actor operation failed");
            }
            None
        }
        ReplyTo::Task(parent) => Some(Op::Send(NewMessage::task_result(
            parent,
            MessageKind::Actor,
            outcome,
        ))),
        ReplyTo::Client(request_id) => Some(Op::PutActorResult {
            request_id: request_id.clone(),
            outcome: serde_json::to_string(outcome).unwrap_or_default(),
        }),
    }
}

/// The component that implements an actor's kind, or why there is none.
async fn component_for(shared: &Arc<Shared>, kind: &str) -> Result<Arc<LoadedComponent>, Failure> {
    let registry = &shared.code.registry;
    if registry.actor(kind).is_none() {
        // Registered by another process a moment ago?
        shared.code.directory.refresh_names().await;
    }
    let digest = registry
        .actor(kind)
        .ok_or_else(|| Failure::new(format!("no actor kind {kind:?} is registered")))?;
    registry
        .load(&digest)
        .await
        .map_err(|e| Failure::new(e.to_string()))
}

/// Handles a batch of one actor's operations and commits it, in an `actor`
/// span that names the actor.
async fn run_batch(
    shared: &Arc<Shared>,
    idle: &IdleHandlers,
    actor: &ActorId,
    messages: Vec<ActorMessage>,
) {
    let span = guest_log::actor_span(actor);
    run_batch_in_span(shared, idle, actor, messages)
        .instrument(span)
        .await;
}

async fn run_batch_in_span(
    shared: &Arc<Shared>,
    idle: &IdleHandlers,
    actor: &ActorId,
    messages: Vec<ActorMessage>,
) {
    // Claimed before the state is read: a batch begun under one ownership
    // of the actors never commits under another.
    let Ok(tenure) = shared.sched.ownership.tenure(Unit::Actors) else {
        return;
    };
    let initial = match shared.store.actor(actor).await {
        Ok(record) => record.map(|r| r.state),
        Err(error) => {
            tracing::error!(%error, "cannot read actor state");
            return;
        }
    };
    let mut state = initial;
    let mut changed = false;
    let mut ops = Vec::new();
    let mut dequeued = Vec::new();
    let component = component_for(shared, &actor.kind).await;
    let mut handler: Option<Handler> = None;
    for message in &messages {
        dequeued.push(message.id);
        let outcome = match &component {
            Err(failure) => Err(failure.clone()),
            Ok(component) => {
                if handler.is_none() {
                    match idle.take_for_batch(component, actor).await {
                        Ok(new) => handler = Some(new),
                        Err(failure) => {
                            ops.extend(reply(&message.reply, &Err(failure)));
                            continue;
                        }
                    }
                }
                let current = handler.as_mut().expect("handler was just created");
                match current.handle(&message.operation, state.as_deref()).await {
                    Ok((new_state, output, effects)) => {
                        state = new_state;
                        changed = true;
                        ops.extend(effects);
                        Ok(output)
                    }
                    Err((failure, poisoned)) => {
                        if poisoned {
                            handler = None;
                        }
                        Err(failure)
                    }
                }
            }
        };
        ops.extend(reply(&message.reply, &outcome));
    }
    if let Some(handler) = handler {
        idle.put(handler);
    }
    let states = if changed {
        vec![(actor.clone(), state)]
    } else {
        Vec::new()
    };
    let mut batch = vec![Op::ApplyActors {
        dequeued,
        atomic: None,
        states,
        at: shared.now_ms(),
    }];
    batch.extend(ops);
    if let Err(error) = shared.commit_as_worker(batch, &tenure).await {
        tracing::warn!(%error, "actor batch not committed; it will run again");
    }
}

/// Runs an atomic multi-actor request: every new state commits, or none.
async fn run_atomic(shared: &Arc<Shared>, idle: &IdleHandlers, request: AtomicRequest) {
    let span = guest_log::atomic_span(request.id);
    run_atomic_in_span(shared, idle, request)
        .instrument(span)
        .await;
}

async fn run_atomic_in_span(shared: &Arc<Shared>, idle: &IdleHandlers, request: AtomicRequest) {
    let Ok(tenure) = shared.sched.ownership.tenure(Unit::Actors) else {
        return;
    };
    let outcome = apply_atomically(shared, idle, &request.operations).await;
    let mut batch = Vec::new();
    let result: Outcome = match outcome {
        Ok((states, outputs, effects)) => {
            batch.push(Op::ApplyActors {
                dequeued: Vec::new(),
                atomic: Some(request.id),
                states: states.into_iter().collect(),
                at: shared.now_ms(),
            });
            batch.extend(effects);
            Ok(format!("[{}]", outputs.join(",")))
        }
        Err(failure) => {
            batch.push(Op::ApplyActors {
                dequeued: Vec::new(),
                atomic: Some(request.id),
                states: Vec::new(),
                at: shared.now_ms(),
            });
            Err(failure)
        }
    };
    batch.extend(reply(&request.reply, &result));
    if let Err(error) = shared.commit_as_worker(batch, &tenure).await {
        tracing::warn!(%error, "atomic actor request not committed; it will run again");
    }
}

type AtomicResult = (BTreeMap<ActorId, Option<String>>, Vec<String>, Vec<Op>);

/// Applies the operations in order against the actors' current states. On
/// a failure the handlers are dropped (one may have trapped); on success
/// they go back to `idle`.
async fn apply_atomically(
    shared: &Arc<Shared>,
    idle: &IdleHandlers,
    operations: &[ActorOperation],
) -> Result<AtomicResult, Failure> {
    let mut states: BTreeMap<ActorId, Option<String>> = BTreeMap::new();
    let mut handlers: HashMap<String, Handler> = HashMap::new();
    let mut outputs = Vec::new();
    let mut effects = Vec::new();
    for (index, operation) in operations.iter().enumerate() {
        let target = &operation.target;
        let fail = |failure: Failure| {
            Failure::new(format!(
                "atomic operation {index} ({target} {}) failed, nothing was changed: {}",
                operation.operation, failure.message
            ))
        };
        if !states.contains_key(target) {
            let record = shared
                .store
                .actor(target)
                .await
                .map_err(|e| fail(Failure::new(e.to_string())))?;
            states.insert(target.clone(), record.map(|r| r.state));
        }
        if !handlers.contains_key(&target.kind) {
            let component = component_for(shared, &target.kind).await.map_err(fail)?;
            let handler = idle.take(&component, target).await.map_err(fail)?;
            handlers.insert(target.kind.clone(), handler);
        }
        let handler = handlers.get_mut(&target.kind).expect("inserted above");
        let state = states.get(target).cloned().flatten();
        let (new_state, output, more) = handler
            .handle(operation, state.as_deref())
            .instrument(guest_log::actor_span(target))
            .await
            .map_err(|(failure, _)| fail(failure))?;
        states.insert(target.clone(), new_state);
        outputs.push(output);
        effects.extend(more);
    }
    for handler in handlers.into_values() {
        idle.put(handler);
    }
    Ok((states, outputs, effects))
}
