//! Actor guest instances: one handles a batch of operations, and waits,
//! idle, for the next batch of its kind.
//!
//! An instance can serve any actor of its kind, one operation after
//! another, because an actor's state is passed into every call and taken
//! out of its result: what the guest keeps in its memory between calls is
//! no actor's state. Reusing instances spares the instantiation (about
//! 2 ms for a Python component, 0.2 ms for a JavaScript one) that would
//! otherwise come with every batch. An instance that trapped is dropped,
//! never reused; one that has handled [`OPERATIONS_PER_INSTANCE`]
//! operations is retired, which bounds what a guest can accumulate.
//!
//! Batches run their guests a few at a time ([`IdleHandlers::running`]):
//! actor operations only compute, so more at once would not finish sooner,
//! and a burst of messages to a thousand actors would otherwise make a
//! thousand instances, none of them reused.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::context::ActorState;
use super::{Actor, guest};
use crate::history::Failure;
use crate::roles::directory::SharedDirectory;
use crate::store::{ActorId, ActorOperation, Op};
use crate::wasm::bindings::exports::reprise::durable::actor_reads;
use crate::wasm::bindings::exports::reprise::durable::actors::Guest;
use crate::wasm::{GuestData, Guests, LoadedComponent, Prepared, trap};

/// Operations an instance handles before it is retired.
const OPERATIONS_PER_INSTANCE: u64 = 10_000;

/// Which component and kind an instance serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct IdleKey {
    digest: String,
    kind: String,
}

impl IdleKey {
    fn new(component: &LoadedComponent, id: &ActorId) -> Self {
        Self {
            digest: component.digest.clone(),
            kind: id.kind.clone(),
        }
    }
}

/// Instances between batches, and the permits of those running one.
pub(crate) struct IdleHandlers {
    /// What new instances are made with.
    guests: Guests,
    directory: SharedDirectory,
    idle: Mutex<HashMap<IdleKey, Vec<Handler>>>,
    /// Batches running a guest at once: two per core, at least four.
    running: Arc<Semaphore>,
    /// Idle instances kept per component and kind: as many as may run.
    keep: usize,
    /// Each component and kind's read-only operations, as its first
    /// instance listed them: later instances, and a call that only needs
    /// to know whether it is a read, do not ask the guest again.
    read_only: Mutex<HashMap<IdleKey, ReadOnly>>,
}

/// The operations of one kind that only read.
type ReadOnly = Arc<HashSet<String>>;

impl IdleHandlers {
    /// An empty pool whose instances are made with `guests` and look names
    /// up in `directory`.
    pub(crate) fn new(guests: Guests, directory: SharedDirectory) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let keep = (2 * cores).max(4);
        Self {
            guests,
            directory,
            idle: Mutex::default(),
            running: Arc::new(Semaphore::new(keep)),
            keep,
            read_only: Mutex::default(),
        }
    }
}

impl IdleHandlers {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IdleKey, Vec<Handler>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An instance for a batch of `id`'s operations, once fewer than
    /// [`Self::running`] batches run: an idle one, or a new one. The slot
    /// is given back with the handler ([`Self::put`]) or when it is dropped.
    pub(crate) async fn take_for_batch(
        &self,
        component: &LoadedComponent,
        id: &ActorId,
    ) -> Result<Handler, Failure> {
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let mut handler = self.take(component, id).await?;
        handler.running = Some(permit);
        Ok(handler)
    }

    /// An idle instance of `component` for `id`'s kind, or a new one, at
    /// once. Atomic requests take theirs this way: one holds instances of
    /// several kinds, and waiting for a running slot while holding one
    /// could wait forever.
    pub(crate) async fn take(
        &self,
        component: &LoadedComponent,
        id: &ActorId,
    ) -> Result<Handler, Failure> {
        let key = IdleKey::new(component, id);
        let idle = self.lock().get_mut(&key).and_then(Vec::pop);
        if let Some(handler) = idle {
            return Ok(handler);
        }
        let known = self.known_reads(&key);
        let handler = Handler::new(&self.guests, &self.directory, component, id, known).await?;
        self.reads().insert(key, handler.read_only.clone());
        Ok(handler)
    }

    fn reads(&self) -> std::sync::MutexGuard<'_, HashMap<IdleKey, ReadOnly>> {
        self.read_only.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn known_reads(&self, key: &IdleKey) -> Option<ReadOnly> {
        self.reads().get(key).cloned()
    }

    /// Whether `operation` only reads, if an instance of `component` has
    /// already told; `None` before any has.
    pub(crate) fn reads_only(
        &self,
        component: &LoadedComponent,
        operation: &ActorOperation,
    ) -> Option<bool> {
        let known = self.known_reads(&IdleKey::new(component, &operation.target))?;
        Some(known.contains(&operation.operation))
    }

    /// How many batches may run a guest at once.
    pub(crate) fn running_at_once(&self) -> usize {
        self.keep
    }

    /// Drops every idle instance, giving their slots back to the pool.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// Keeps a handler that did not trap for the next batch. Instances of
    /// an older component of the same kind go: its newest component
    /// handles the kind from now on.
    pub(crate) fn put(&self, mut handler: Handler) {
        handler.running = None;
        if handler.operations >= OPERATIONS_PER_INSTANCE {
            return;
        }
        let mut idle = self.lock();
        if !idle.contains_key(&handler.key) {
            // The first of a new component: the older ones' idle go.
            idle.retain(|key, _| key.kind != handler.key.kind);
        }
        let slot = idle.entry(handler.key.clone()).or_default();
        if slot.len() < self.keep {
            slot.push(handler);
        }
    }
}

/// A guest instance ready to handle operations for one kind.
pub(crate) struct Handler {
    store: wasmtime::Store<GuestData<ActorState>>,
    guest: Guest,
    /// Which component and kind it serves: where it goes back when idle.
    key: IdleKey,
    /// The operations of its kind that only read, as the guest declared
    /// them (none if it does not export `actor-reads`).
    read_only: ReadOnly,
    /// Operations handled, to retire it after [`OPERATIONS_PER_INSTANCE`].
    operations: u64,
    /// Its batch's running slot, if it runs one.
    running: Option<OwnedSemaphorePermit>,
}

impl Handler {
    async fn new(
        guests: &Guests,
        directory: &SharedDirectory,
        component: &LoadedComponent,
        id: &ActorId,
        known: Option<ReadOnly>,
    ) -> Result<Self, Failure> {
        let Some(Prepared { pre, indices }) = component.role::<Actor>() else {
            return Err(Failure::new(format!(
                "component {} implements no actors",
                component.digest
            )));
        };
        let (sandbox, state) = guest(directory, id).map_err(Failure::new)?;
        let cpu = guests.limits().cpu_per_episode;
        let (mut store, instance) = guests.instantiate(pre, sandbox, state, cpu).await;
        let instance = instance
            .map_err(|e| Failure::new(format!("cannot instantiate actor: {}", e.root_cause())))?;
        let guest = indices
            .load(&mut store, &instance)
            .map_err(|e| Failure::new(e.to_string()))?;
        let read_only = match (known, actor_reads::GuestIndices::new(pre)) {
            (Some(known), _) => known,
            // An optional export: components built before it have no reads.
            (None, Err(_)) => ReadOnly::default(),
            (None, Ok(indices)) => {
                let listed = async {
                    let reads = indices.load(&mut store, &instance)?;
                    reads.call_read_only_operations(&mut store, &id.kind).await
                };
                match listed.await {
                    Ok(names) => Arc::new(names.into_iter().collect()),
                    Err(error) => {
                        let why = trap::describe(&error, &store.data().stderr).message;
                        return Err(Failure::new(format!(
                            "actor kind {:?} cannot list its read-only operations: {why}",
                            id.kind
                        )));
                    }
                }
            }
        };
        Ok(Self {
            store,
            guest,
            key: IdleKey::new(component, id),
            read_only,
            operations: 0,
            running: None,
        })
    }

    /// Whether `operation` only reads, as its kind's guest declares.
    pub(crate) fn reads_only(&self, operation: &ActorOperation) -> bool {
        self.read_only.contains(&operation.operation)
    }

    /// Applies one operation to `state`. On success returns the new state,
    /// the output and the operation's effects. A trap poisons the instance:
    /// the caller must drop this handler.
    pub(crate) async fn handle(
        &mut self,
        operation: &ActorOperation,
        state: Option<&str>,
    ) -> Result<(Option<String>, String, Vec<Op>), (Failure, bool)> {
        self.operations += 1;
        let data = self.store.data_mut();
        data.stderr.clear();
        data.state.id = operation.target.clone();
        data.state.effects.clear();
        data.budget.restart();
        let limit = data.state.directory.limits().max_payload_bytes;
        let target = &operation.target;
        let result = self
            .guest
            .call_handle(
                &mut self.store,
                &target.kind,
                &target.key,
                &operation.operation,
                &operation.input,
                state.map(str::to_owned).as_ref(),
            )
            .await;
        match result {
            Ok(Ok(handled)) => {
                if handled.state.as_ref().is_some_and(|s| s.len() > limit)
                    || handled.output.len() > limit
                {
                    return Err((
                        Failure::new(format!(
                            "actor state or output exceeds the limit of {limit} bytes"
                        )),
                        false,
                    ));
                }
                let effects = std::mem::take(&mut self.store.data_mut().state.effects);
                if self.reads_only(operation) {
                    let changed = handled.state.as_deref() != state;
                    check_read(operation, changed, &effects).map_err(|f| (f, false))?;
                }
                Ok((handled.state, handled.output, effects))
            }
            Ok(Err(failure)) => Err((failure.into(), false)),
            Err(error) => Err((trap::describe(&error, &self.store.data().stderr), true)),
        }
    }
}

/// A read-only operation must give back the state it was given (the SDKs
/// return it as it came when the operation left it as it was) and have no
/// effects: it may run beside writes, so nothing it does may commit.
fn check_read(operation: &ActorOperation, changed: bool, effects: &[Op]) -> Result<(), Failure> {
    let what = format!(
        "read-only operation {:?} of actor {}",
        operation.operation, operation.target
    );
    if changed {
        return Err(Failure::new(format!(
            "{what} changed the actor's state; a read-only operation may only read it"
        )));
    }
    if !effects.is_empty() {
        return Err(Failure::new(format!(
            "{what} sent a signal or started an orchestration; a read-only operation may have no effects"
        )));
    }
    Ok(())
}
