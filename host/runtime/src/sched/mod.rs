//! The scheduler: what runs when, and where, in this process.
//!
//! - `router`: which instances are hot here, and how wakes reach them;
//!   `driver`: the task that drives one instance through its executions.
//! - `activities`, `timers`, `actors`: the loops that dispatch activity
//!   attempts (under `flow` control), fire timers and serve actors'
//!   mailboxes (`actor_batch` runs and commits their work); `forget`:
//!   expired idempotency keys.
//! - `reaction`: what a commit, or a change another process wrote, sets in
//!   motion, carried out in one place ([`Shared::react`]).
//! - `watch`: the change feed, for what other processes write.
//! - `ownership`, `leases`, `worker`, `cluster`: which units of work this
//!   process executes, under which leases.
//! - `slots`: how guests share the engine's instance pool.
//! - `waiters`: clients waiting for instances to finish.
//!
//! Everything here shares one [`Shared`], split by concern: the code, the
//! scheduling state, the waiters and the settings.

mod activities;
mod actor_batch;
mod actors;
pub(crate) mod cluster;
mod driver;
pub(crate) mod flow;
mod forget;
mod leases;
pub(crate) mod ownership;
mod reaction;
mod router;
mod slots;
mod timers;
mod waiters;
mod watch;
pub(crate) mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{Notify, Semaphore};

pub(crate) use reaction::Reaction;
pub(crate) use waiters::FinishWaiters;

use crate::clock::Clock;
use crate::metrics::{Counters, Tally};
use crate::roles::SharedDirectory;
use crate::roles::activity::Activities;
use crate::roles::actor::{IdleHandlers, Reads};
use crate::store::{ActivityTask, Batch, Store, StoreError};
use crate::wasm::{Guests, Registry};
use ownership::{Ownership, Tenure};
use router::Router;

/// What every part of a runtime shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) code: Code,
    pub(crate) sched: Scheduler,
    pub(crate) waiters: Waiters,
    pub(crate) settings: Settings,
    /// What this process has done, for monitoring.
    pub(crate) counters: Counters,
}

/// The code guests run: components by digest and the names they provide,
/// native activities, and what guests are instantiated with.
pub(crate) struct Code {
    pub(crate) registry: Arc<Registry>,
    pub(crate) guests: Guests,
    pub(crate) activities: Arc<Activities>,
    /// What host calls may look up: the registry's names, the limits, the
    /// time.
    pub(crate) directory: SharedDirectory,
    /// Actor guest instances between batches and reads.
    pub(crate) actors: Arc<IdleHandlers>,
    /// Runs read-only actor operations outside the mailbox.
    pub(crate) reads: Arc<Reads>,
}

/// What decides which work runs here, and wakes it.
pub(crate) struct Scheduler {
    pub(crate) router: Arc<Router>,
    /// Instance slots hot orchestrations may hold (see `slots`).
    hot: Arc<Semaphore>,
    /// Set while this process runs the worker.
    worker: AtomicBool,
    /// The units of work this process executes, with their fencing tokens.
    pub(crate) ownership: Ownership,
    /// The loops that wait for work of their kind.
    pub(crate) activity_wake: Notify,
    pub(crate) timer_wake: Notify,
    pub(crate) actor_wake: Notify,
    /// Hands activity tasks from the commit that scheduled them straight to
    /// the worker's dispatcher, which then need not read them back.
    activity_handover: Mutex<Option<UnboundedSender<ActivityTask>>>,
    /// Set when this process gains a partition: the activity dispatcher
    /// then scans the whole table for the partition's orphaned tasks.
    pub(crate) activity_full_scan: AtomicBool,
    /// The actor dispatcher's idle instances, dropped when the pool runs
    /// out of slots. Weak: the pool lives as long as its dispatcher.
    idle_actors: Arc<Mutex<Weak<IdleHandlers>>>,
    /// The activities' limits, and the attempts waiting for a slot.
    pub(crate) flow: flow::FlowControl,
}

/// Clients waiting for something the worker does.
#[derive(Default)]
pub(crate) struct Waiters {
    /// Who waits for which instance to finish.
    pub(crate) finished: FinishWaiters,
    /// Notified when a client's actor call may have its outcome.
    pub(crate) actor_results: Notify,
}

/// How the runtime was configured to behave.
pub(crate) struct Settings {
    /// How long a waiting instance stays in memory.
    pub(crate) evict_after: Duration,
    /// How long a hot orchestration must have waited before it may be
    /// evicted to free a slot for another (see `slots`).
    pub(crate) evict_for_room_after: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    /// How long a request's idempotency key is remembered.
    pub(crate) idempotency_retention: Duration,
}

impl Scheduler {
    /// The scheduling state for a pool of `instance_slots`, and the way a
    /// full pool is relieved (idle actor instances dropped, the
    /// longest-idle orchestration evicted) for [`Guests`].
    pub(crate) fn new(
        instance_slots: u32,
        evict_for_room_after: Duration,
        flow: flow::FlowControl,
    ) -> (Self, crate::wasm::Relieve) {
        let router = Arc::new(Router::default());
        let idle_actors: Arc<Mutex<Weak<IdleHandlers>>> = Arc::default();
        let relieve = {
            let (router, idle_actors) = (router.clone(), idle_actors.clone());
            Arc::new(move || {
                drop_idle(&idle_actors);
                router.evict_idle(evict_for_room_after);
            })
        };
        let scheduler = Self {
            router,
            hot: slots::hot_slots(instance_slots),
            worker: AtomicBool::new(false),
            ownership: Ownership::default(),
            activity_wake: Notify::new(),
            timer_wake: Notify::new(),
            actor_wake: Notify::new(),
            activity_handover: Mutex::new(None),
            activity_full_scan: AtomicBool::new(false),
            idle_actors,
            flow,
        };
        (scheduler, relieve)
    }

    /// Whether this process runs the worker.
    pub(crate) fn is_worker(&self) -> bool {
        self.worker.load(Ordering::Relaxed)
    }

    /// Makes `idle` the pool that a full instance pool empties.
    pub(crate) fn keep_idle_actors(&self, idle: &Arc<IdleHandlers>) {
        *lock(&self.idle_actors) = Arc::downgrade(idle);
    }
}

/// Drops the idle actor instances, giving their slots back.
fn drop_idle(idle_actors: &Mutex<Weak<IdleHandlers>>) {
    if let Some(idle) = lock(idle_actors).upgrade() {
        idle.clear();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Now, by the runtime's clock (ms since the Unix epoch).
    pub(crate) fn now_ms(&self) -> u64 {
        self.settings.clock.now_ms()
    }

    /// Commits what the worker did for a unit of work during a tenure (an
    /// episode, an activity's result, an actor batch): like
    /// [`Shared::commit`], but fenced by the unit's lease as it was when
    /// the work began, so a worker that lost the lease while paused cannot
    /// apply anything once another has taken over.
    pub(crate) async fn commit_as_worker(
        self: &Arc<Self>,
        mut batch: Batch,
        tenure: &Tenure,
    ) -> Result<(), StoreError> {
        if let Some(fence) = tenure.fence() {
            batch.insert(0, fence);
        }
        self.commit(batch).await
    }

    /// Commits a batch, then carries out what it set in motion (see
    /// [`reaction::Plan`]).
    pub(crate) async fn commit(self: &Arc<Self>, batch: Batch) -> Result<(), StoreError> {
        let mut tally = Tally::default();
        let mut plan = reaction::Plan::default();
        for op in &batch {
            tally.count(op);
            plan.note(op);
        }
        let queued = std::time::Instant::now();
        let result = self
            .store
            .commit(batch)
            .await
            .map_err(|_| StoreError::Closed)
            .and_then(|committed| committed);
        match result {
            Ok(committed) => {
                self.counters.committed(&tally, queued.elapsed());
                self.react(plan.committed(committed)).await;
                Ok(())
            }
            Err(error) => {
                self.counters.commit_failed();
                Err(error)
            }
        }
    }
}
