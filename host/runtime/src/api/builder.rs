//! Building a [`Runtime`]: its store, limits, clock, grants and native
//! activities, and the parts they make.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::Runtime;
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::history::Outcome;
use crate::metrics::Counters;
use crate::roles::SharedDirectory;
use crate::roles::activity::{Activities, NativeActivity, NativeCall, Natives};
use crate::roles::actor::{IdleHandlers, Reads};
use crate::roles::directory::{ActorReader, Catalog, MailboxBounds};
use crate::sched::flow::{ActivityLimits, FlowControl};
use crate::sched::{Code, Scheduler, Settings, Shared, Waiters};
use crate::store::Store;
use crate::wasm::sandbox::ActivityGrants;
use crate::wasm::{Components, Guests, Limits, Registry, WasmEngine};

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    store: Arc<dyn Store>,
    limits: Limits,
    natives: Natives,
    grants: ActivityGrants,
    evict_after: Duration,
    evict_for_room_after: Duration,
    clock: Arc<dyn Clock>,
    mailboxes: MailboxBounds,
    activity_limits: HashMap<String, ActivityLimits>,
    idempotency_retention: Duration,
}

impl std::fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("limits", &self.limits)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    pub(super) fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            limits: Limits::default(),
            natives: HashMap::new(),
            grants: ActivityGrants::default(),
            evict_after: Duration::from_secs(60),
            evict_for_room_after: Duration::from_secs(1),
            clock: Arc::new(SystemClock),
            mailboxes: MailboxBounds::default(),
            activity_limits: HashMap::new(),
            idempotency_retention: Duration::from_secs(24 * 3600),
        }
    }

    /// Limits for guests (memory, CPU, payload size).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where the runtime reads the time: the wall clock by default. A
    /// [`TestClock`](crate::clock::TestClock) lets a test move time
    /// forward, so a day-long timer fires when the test says so. Guests'
    /// CPU time limits and activity timeouts stay on real time.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// What activity components may reach. Nothing by default.
    pub fn grants(mut self, grants: ActivityGrants) -> Self {
        self.grants = grants;
        self
    }

    /// How long a waiting instance stays in memory before it is unloaded
    /// (and replayed when its next message arrives). Default: 60 s.
    pub fn evict_after(mut self, idle: Duration) -> Self {
        self.evict_after = idle;
        self
    }

    /// When every instance slot is taken (see [`Limits::instance_slots`]),
    /// the hot orchestration that has waited longest is evicted to make
    /// room, once it has waited this long (default 1 s). Until then the
    /// newcomer waits: an instance that has only just begun to wait is
    /// likely to be answered soon, and evicting it costs a replay.
    pub fn evict_for_room_after(mut self, idle: Duration) -> Self {
        self.evict_for_room_after = idle;
        self
    }

    /// How many operations an actor's mailbox may hold (default 10,000),
    /// for kinds without a bound of their own. A client's signal or call
    /// to a full mailbox is refused with [`Error::MailboxFull`]; an actor
    /// operation that sends to one fails and changes nothing; an
    /// orchestration that sends to one waits until there is room.
    pub fn mailbox_capacity(mut self, operations: u64) -> Self {
        self.mailboxes.default = operations;
        self
    }

    /// The mailbox bound of actors of kind `kind`, in place of
    /// [`mailbox_capacity`](Self::mailbox_capacity).
    pub fn mailbox_capacity_for(mut self, kind: &str, operations: u64) -> Self {
        self.mailboxes.per_kind.insert(kind.to_owned(), operations);
        self
    }

    /// Limits activity `name`: how many of its attempts run at once (on
    /// every host of the database: give each process the same limits),
    /// how many with the same key, how many start per period.
    pub fn activity_limits(mut self, name: &str, limits: ActivityLimits) -> Self {
        self.activity_limits.insert(name.to_owned(), limits);
        self
    }

    /// How long a request made with an idempotency key
    /// ([`Runtime::idempotent`]) is remembered: a repeat within it answers
    /// what the first answered; after it, the key is forgotten (by the
    /// worker) and may be used again. Default: a day.
    pub fn idempotency_retention(mut self, retention: Duration) -> Self {
        self.idempotency_retention = retention;
        self
    }

    /// Registers an activity implemented in Rust. It takes precedence over
    /// component activities of the same name.
    pub fn activity<F, Fut>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(NativeCall) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Outcome> + Send + 'static,
    {
        let f: NativeActivity = Arc::new(move |call| Box::pin(f(call)));
        self.natives.insert(name.to_owned(), f);
        self
    }

    /// Builds the runtime.
    pub async fn build(self) -> Result<Runtime, Error> {
        let internal = |e: wasmtime::Error| Error::Internal(e.to_string());
        let wasm = WasmEngine::new(self.limits).map_err(internal)?;
        let roles = crate::roles::linkers(&wasm).map_err(internal)?;
        let components = Components::new(wasm.clone(), roles);
        let registry = Arc::new(Registry::new(self.store.clone(), Arc::new(components)));
        registry.refresh().await?;
        let flow = FlowControl::new(self.activity_limits);
        let (sched, relieve) =
            Scheduler::new(self.limits.instance_slots, self.evict_for_room_after, flow);
        let activities = Arc::new(Activities {
            natives: self.natives,
            grants: self.grants,
        });
        let directory = Arc::new(Catalog {
            registry: registry.clone(),
            activities: activities.clone(),
            limits: self.limits,
            clock: self.clock.clone(),
            mailboxes: self.mailboxes,
            reader: OnceLock::new(),
        });
        let guests = Guests::new(wasm, relieve);
        let shared_directory: SharedDirectory = directory.clone();
        let actors = Arc::new(IdleHandlers::new(guests.clone(), shared_directory.clone()));
        sched.keep_idle_actors(&actors);
        let reads = Arc::new(Reads::new(
            self.store.clone(),
            registry.clone(),
            shared_directory.clone(),
            actors.clone(),
        ));
        let reader: Arc<dyn ActorReader> = reads.clone();
        let _ = directory.reader.set(Arc::downgrade(&reader));
        let code = Code {
            registry,
            guests,
            activities,
            directory: shared_directory,
            actors,
            reads,
        };
        let settings = Settings {
            evict_after: self.evict_after,
            evict_for_room_after: self.evict_for_room_after,
            clock: self.clock,
            idempotency_retention: self.idempotency_retention,
        };
        Ok(Runtime {
            shared: Arc::new(Shared {
                store: self.store,
                code,
                sched,
                waiters: Waiters::default(),
                settings,
                counters: Counters::default(),
            }),
        })
    }
}
