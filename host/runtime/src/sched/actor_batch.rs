//! Running actor work and committing it: a batch of one actor's
//! operations, or an atomic request over several actors.
//!
//! A batch runs against the actor's committed state and commits in ONE
//! transaction: the handled operations, the new state, the replies and
//! the effects. An atomic request claims all its actors and commits every
//! new state or none.
//!
//! When the commit is refused because an operation sent to a full mailbox,
//! the work runs again from the committed state with that mailbox marked
//! full: an operation that sends to a full mailbox fails (its new state and
//! its other sends are dropped, its caller told why) and the others go on.
//! Each run marks one more mailbox, so this ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tracing::Instrument;

use super::Shared;
use super::ownership::{Tenure, Unit};
use crate::history::{Failure, Outcome};
use crate::roles::actor::{self, Handler, IdleHandlers};
use crate::store::{
    ActorId, ActorMessage, ActorOperation, AtomicRequest, MessageKind, NewMessage, Op, ReplyTo,
    StoreError,
};
use crate::wasm::{LoadedComponent, guest_log};

/// Mailboxes found full, with their bounds.
type Full = HashMap<ActorId, u64>;

/// Why sends in `effects` cannot be made, if one goes to a full mailbox.
fn refused_send(effects: &[Op], full: &Full) -> Option<Failure> {
    effects.iter().find_map(|op| {
        let targets: Vec<&ActorId> = match op {
            Op::EnqueueActor { operation, .. } => vec![&operation.target],
            Op::EnqueueAtomic { operations, .. } => operations.iter().map(|o| &o.target).collect(),
            _ => Vec::new(),
        };
        targets.into_iter().find_map(|target| {
            full.get(target).map(|capacity| {
                Failure::new(format!(
                    "cannot send to actor {target}: its mailbox is full (it holds {capacity} operations, its bound); nothing of this operation was applied"
                ))
            })
        })
    })
}

/// Commits `batch` fenced by `tenure`. `Err((actor, bound))` when a
/// mailbox it sends to is full (the work should run again); otherwise
/// whether it committed.
async fn commit(
    shared: &Arc<Shared>,
    tenure: &Tenure,
    batch: Vec<Op>,
    what: &str,
) -> Result<bool, (ActorId, u64)> {
    match shared.commit_as_worker(batch, tenure).await {
        Ok(_) => Ok(true),
        Err(StoreError::MailboxFull { actor, capacity }) => Err((actor, capacity)),
        Err(error) => {
            tracing::warn!(%error, "{what} not committed; it will run again");
            Ok(false)
        }
    }
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
    let code = &shared.code;
    actor::component_for(&code.registry, &code.directory, kind).await
}

/// Handles a batch of one actor's operations (in arrival order, no atomic
/// turn among them) and commits it, in an `actor` span that names the
/// actor. Whether it committed.
pub(crate) async fn run_batch(
    shared: &Arc<Shared>,
    idle: &IdleHandlers,
    actor: &ActorId,
    messages: Vec<ActorMessage>,
) -> bool {
    let span = guest_log::actor_span(actor);
    async {
        // Claimed before the state is read: a batch begun under one
        // ownership of the actors never commits under another.
        let Ok(tenure) = shared.sched.ownership.tenure(Unit::Actors) else {
            return false;
        };
        let mut full = Full::new();
        loop {
            let Some(batch) = handle_batch(shared, idle, actor, &messages, &full).await else {
                return false;
            };
            match commit(shared, &tenure, batch, "actor batch").await {
                Ok(committed) => return committed,
                Err((target, capacity)) => full.insert(target, capacity),
            };
        }
    }
    .instrument(span)
    .await
}

/// Runs the batch's operations against the actor's committed state: what
/// to commit, or `None` if the state cannot be read.
async fn handle_batch(
    shared: &Arc<Shared>,
    idle: &IdleHandlers,
    actor: &ActorId,
    messages: &[ActorMessage],
    full: &Full,
) -> Option<Vec<Op>> {
    let mut state = match shared.store.actor(actor).await {
        Ok(record) => record.map(|r| r.state),
        Err(error) => {
            tracing::error!(%error, "cannot read actor state");
            return None;
        }
    };
    let mut changed = false;
    let mut ops = Vec::new();
    let component = component_for(shared, &actor.kind).await;
    let mut handler: Option<Handler> = None;
    for message in messages {
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
                    Ok((new_state, output, effects)) => match refused_send(&effects, full) {
                        Some(refused) => Err(refused),
                        None => {
                            state = new_state;
                            changed = true;
                            ops.extend(effects);
                            Ok(output)
                        }
                    },
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
        dequeued: messages.iter().map(|m| m.id).collect(),
        atomic: None,
        states,
        at: shared.now_ms(),
    }];
    batch.extend(ops);
    Some(batch)
}

/// Runs an atomic multi-actor request, whose actors are all at its turn:
/// every new state commits, or none.
pub(crate) async fn run_atomic(shared: &Arc<Shared>, idle: &IdleHandlers, request: AtomicRequest) {
    let span = guest_log::atomic_span(request.id);
    async {
        let Ok(tenure) = shared.sched.ownership.tenure(Unit::Actors) else {
            return;
        };
        let mut full = Full::new();
        loop {
            let outcome = apply_atomically(shared, idle, &request.operations, &full).await;
            let (states, effects, result): (Vec<_>, Vec<Op>, Outcome) = match outcome {
                Ok((states, outputs, effects)) => (
                    states.into_iter().collect(),
                    effects,
                    Ok(format!("[{}]", outputs.join(","))),
                ),
                Err(failure) => (Vec::new(), Vec::new(), Err(failure)),
            };
            let mut batch = vec![Op::ApplyActors {
                dequeued: Vec::new(),
                atomic: Some(request.id),
                states,
                at: shared.now_ms(),
            }];
            batch.extend(effects);
            batch.extend(reply(&request.reply, &result));
            match commit(shared, &tenure, batch, "atomic actor request").await {
                Ok(_) => return,
                Err((target, capacity)) => full.insert(target, capacity),
            };
        }
    }
    .instrument(span)
    .await
}

type AtomicResult = (BTreeMap<ActorId, Option<String>>, Vec<String>, Vec<Op>);

/// Applies the operations in order against the actors' current states. On
/// a failure the handlers are dropped (one may have trapped); on success
/// they go back to `idle`.
async fn apply_atomically(
    shared: &Arc<Shared>,
    idle: &IdleHandlers,
    operations: &[ActorOperation],
    full: &Full,
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
        if let Some(refused) = refused_send(&more, full) {
            return Err(fail(refused));
        }
        states.insert(target.clone(), new_state);
        outputs.push(output);
        effects.extend(more);
    }
    for handler in handlers.into_values() {
        idle.put(handler);
    }
    Ok((states, outputs, effects))
}
