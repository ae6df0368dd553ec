//! The embeddable runtime: register components, start and steer instances,
//! and run the worker that executes them.
//!
//! A [`Runtime`] without a worker is a client: it writes requests to the
//! store for whichever process runs the worker. [`Runtime::start_worker`]
//! makes this process execute orchestrations, activities, timers and actors.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedSender;

mod actors;
mod cluster;
mod finished;
mod slots;
mod waiting;
mod watch;
mod worker;

pub use worker::WorkerHandle;

use crate::activity::{NativeActivity, NativeCall, Natives};
use crate::actors::IdleHandlers;
use crate::clock::{Clock, SystemClock};
use crate::component::{Components, LoadedComponent};
use crate::directory::{Directory, check_json};
use crate::engine::{Limits, WasmEngine};
use crate::error::Error;
use crate::history::{Event, HistoryEvent, Outcome};
use crate::metrics::{Counters, Tally};
use crate::names::{self, NameKind};
use crate::orchestration::Seed;
use crate::orchestration::{self, ReplayVerdict};
use crate::ownership::{Ownership, Tenure};
use crate::registry::{ComponentStats, Registry};
pub(crate) use crate::router::Wake;
use crate::router::{Router, Spawn};
use crate::sandbox::ActivityGrants;
use crate::store::{
    ActivityTask, Batch, Committed, InstanceQuery, InstanceRecord, MessageKind, NewMessage, Op,
    Resumable, Role, Status, Store, StoreError,
};
use finished::FinishWaiters;

/// What every part of a runtime shares.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) wasm: Arc<WasmEngine>,
    pub(crate) registry: Registry,
    pub(crate) router: Router,
    /// Instance slots hot orchestrations may hold (see `slots`).
    hot: Arc<tokio::sync::Semaphore>,
    pub(crate) natives: Natives,
    pub(crate) grants: ActivityGrants,
    pub(crate) evict_after: Duration,
    /// How long a hot orchestration must have waited before it may be
    /// evicted to free a slot for another (see `slots`).
    pub(crate) evict_for_room_after: Duration,
    clock: Arc<dyn Clock>,
    pub(crate) activity_wake: Notify,
    /// Hands activity tasks from the commit that scheduled them straight to
    /// the worker's dispatcher, which then need not read them back.
    activity_handover: Mutex<Option<UnboundedSender<ActivityTask>>>,
    pub(crate) timer_wake: Notify,
    pub(crate) actor_wake: Notify,
    /// Who waits for which instance to finish.
    pub(crate) finished: FinishWaiters,
    /// Notified when a client's actor call may have its outcome.
    pub(crate) actor_results: Notify,
    /// The actor dispatcher's idle instances (see `actors::handler`),
    /// dropped when the pool runs out of slots.
    idle_actors: Mutex<Weak<IdleHandlers>>,
    worker: AtomicBool,
    /// The units of work this process executes, with their fencing tokens.
    pub(crate) ownership: Ownership,
    /// Set when this process gains a partition: the activity dispatcher
    /// then scans the whole table for the partition's orphaned tasks.
    pub(crate) activity_full_scan: AtomicBool,
    /// What this process has done, for monitoring.
    pub(crate) counters: Counters,
}

impl Shared {
    /// Now, by the runtime's clock (ms since the Unix epoch).
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Makes `idle` the pool that a full instance pool empties.
    pub(crate) fn keep_idle_actors(&self, idle: &Arc<IdleHandlers>) {
        *self.idle_actors.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(idle);
    }

    /// Drops the idle actor instances, giving their slots back.
    pub(crate) fn drop_idle_actors(&self) {
        let idle = self.idle_actors.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(idle) = idle.upgrade() {
            idle.clear();
        }
    }

    /// Whether this process runs the worker.
    pub(crate) fn is_worker(&self) -> bool {
        self.worker.load(Ordering::Relaxed)
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

    /// Commits a batch, then sets in motion what it made possible: routes its
    /// messages, starts created instances, wakes the activity and timer loops
    /// and those waiting for an instance it finished or purged.
    pub(crate) async fn commit(self: &Arc<Self>, batch: Batch) -> Result<(), StoreError> {
        let mut actor_results = false;
        let mut finished = Vec::new();
        let mut wake_activities = false;
        let mut wake_timers = false;
        let mut wake_actors = false;
        let mut created = Vec::new();
        let mut tally = Tally::default();
        for op in &batch {
            tally.count(op);
            match op {
                Op::RetryActivity { .. } => wake_activities = true,
                Op::ScheduleTimer(_) => wake_timers = true,
                Op::EnqueueActor { .. } | Op::EnqueueAtomic { .. } => wake_actors = true,
                Op::PutActorResult { .. } => actor_results = true,
                Op::SetStatus {
                    instance_id,
                    status,
                    ..
                } if status.is_final() => finished.push(instance_id.clone()),
                Op::Purge { instance_id } => finished.push(instance_id.clone()),
                Op::CreateInstance { record, started } => created.push(Seed {
                    record: record.clone(),
                    history: vec![started.clone()],
                }),
                _ => {}
            }
        }
        let queued = std::time::Instant::now();
        let result = self
            .store
            .commit(batch)
            .await
            .map_err(|_| StoreError::Closed)
            .and_then(|committed| committed);
        let Committed {
            messages,
            activities,
            ..
        } = match result {
            Ok(committed) => {
                self.counters.committed(&tally, queued.elapsed());
                committed
            }
            Err(error) => {
                self.counters.commit_failed();
                return Err(error);
            }
        };
        if actor_results {
            self.actor_results.notify_waiters();
        }
        for instance_id in &finished {
            self.finished.finished(instance_id);
        }
        if self.worker.load(Ordering::Relaxed) {
            for message in messages {
                if self.ownership.owns_instance(&message.instance_id)
                    && let Some(spawn) = self.router.deliver(message)
                {
                    self.spawn(spawn);
                }
            }
            for seed in created {
                if self.ownership.owns_instance(&seed.record.id)
                    && let Some(spawn) = self.router.ensure(&seed.record.id)
                {
                    self.spawn_seeded(spawn, Some(seed));
                }
            }
            if !activities.is_empty()
                && let Some(handover) = &*self
                    .activity_handover
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
            {
                for task in activities {
                    // If the dispatcher has stopped, a scan finds the task.
                    let _ = handover.send(task);
                }
            }
            if wake_activities {
                self.activity_wake.notify_one();
            }
            if wake_timers {
                self.timer_wake.notify_one();
            }
            if wake_actors {
                self.actor_wake.notify_one();
            }
        }
        Ok(())
    }

    pub(crate) fn spawn(self: &Arc<Self>, spawn: Spawn) {
        self.spawn_seeded(spawn, None);
    }

    /// Starts an instance task; `seed` is what a commit of this process just
    /// created, so the task need not read it back.
    fn spawn_seeded(self: &Arc<Self>, (id, inbox, generation): Spawn, seed: Option<Seed>) {
        tokio::spawn(orchestration::drive(
            self.clone(),
            id,
            inbox,
            generation,
            seed,
        ));
    }
}

#[async_trait::async_trait]
impl Directory for Shared {
    async fn refresh_names(&self) {
        if let Err(error) = self.registry.refresh().await {
            tracing::warn!(%error, "cannot read the registered names");
        }
    }

    fn limits(&self) -> &Limits {
        &self.wasm.limits
    }

    fn now_ms(&self) -> u64 {
        Shared::now_ms(self)
    }

    fn orchestration(&self, name: &str) -> Option<String> {
        self.registry.orchestration(name)
    }

    fn activity(&self, name: &str, preferred: &str) -> Option<String> {
        if self.natives.contains_key(name) {
            return Some(String::new());
        }
        self.registry.activity(name, preferred)
    }

    fn has_actor_kind(&self, kind: &str) -> bool {
        self.registry.actor(kind).is_some()
    }
}

/// What registering a component found in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComponentInfo {
    /// sha256 of the bytes, hex.
    pub digest: String,
    /// Orchestrations it exports.
    pub orchestrations: Vec<String>,
    /// Activities it exports.
    pub activities: Vec<String>,
    /// Actor kinds it implements.
    pub actors: Vec<String>,
}

/// Options for [`Runtime::start`].
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The instance id; a random one when `None`.
    pub instance_id: Option<String>,
}

/// Builds a [`Runtime`].
pub struct RuntimeBuilder {
    store: Arc<dyn Store>,
    limits: Limits,
    natives: Natives,
    grants: ActivityGrants,
    evict_after: Duration,
    evict_for_room_after: Duration,
    clock: Arc<dyn Clock>,
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
        let wasm = WasmEngine::new(self.limits).map_err(|e| Error::Internal(e.to_string()))?;
        let components =
            Components::new(wasm.clone()).map_err(|e| Error::Internal(e.to_string()))?;
        let registry = Registry::new(self.store.clone(), Arc::new(components));
        registry.refresh().await?;
        Ok(Runtime {
            shared: Arc::new(Shared {
                store: self.store,
                wasm,
                registry,
                router: Router::default(),
                hot: slots::hot_slots(self.limits.instance_slots),
                natives: self.natives,
                grants: self.grants,
                evict_after: self.evict_after,
                evict_for_room_after: self.evict_for_room_after,
                clock: self.clock,
                activity_wake: Notify::new(),
                activity_handover: Mutex::new(None),
                timer_wake: Notify::new(),
                actor_wake: Notify::new(),
                finished: FinishWaiters::default(),
                actor_results: Notify::new(),
                idle_actors: Mutex::new(Weak::new()),
                worker: AtomicBool::new(false),
                ownership: Ownership::default(),
                activity_full_scan: AtomicBool::new(false),
                counters: Counters::default(),
            }),
        })
    }
}

/// A Reprise host: the entry point of the library.
#[derive(Clone)]
pub struct Runtime {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// A payload must be JSON and within the size limit.
impl Runtime {
    /// Starts building a runtime on a store.
    pub fn builder(store: Arc<dyn Store>) -> RuntimeBuilder {
        RuntimeBuilder {
            store,
            limits: Limits::default(),
            natives: HashMap::new(),
            grants: ActivityGrants::default(),
            evict_after: Duration::from_secs(60),
            evict_for_room_after: Duration::from_secs(1),
            clock: Arc::new(SystemClock),
        }
    }

    fn check_payload(&self, what: &str, text: &str) -> Result<(), Error> {
        check_json(what, text, self.shared.wasm.limits.max_payload_bytes)
    }

    /// Compiles and checks a component on a blocking thread (a large guest
    /// takes seconds): its digest, the component, its serialized code.
    async fn compile(
        &self,
        bytes: &[u8],
    ) -> Result<(String, Arc<LoadedComponent>, Option<Vec<u8>>), Error> {
        let digest = hex::encode(Sha256::digest(bytes));
        let components = self.shared.registry.components().clone();
        let (key, bytes) = (digest.clone(), bytes.to_vec());
        let (loaded, compiled) = tokio::task::spawn_blocking(move || components.load(&key, &bytes))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        Ok((digest, Arc::new(loaded), compiled))
    }

    /// Validates a component and registers the names it exports. Registering
    /// the same bytes again is harmless; new instances take the newest.
    pub async fn register(&self, bytes: &[u8]) -> Result<ComponentInfo, Error> {
        let (digest, loaded, compiled) = self.compile(bytes).await?;
        let info = ComponentInfo {
            digest: digest.clone(),
            orchestrations: orchestration::names(&self.shared, &loaded)
                .await
                .map_err(Error::InvalidComponent)?,
            activities: crate::activity::names(&self.shared, &loaded)
                .await
                .map_err(Error::InvalidComponent)?,
            actors: crate::actors::kinds(&self.shared, &loaded)
                .await
                .map_err(Error::InvalidComponent)?,
        };
        let names = info
            .orchestrations
            .iter()
            .map(|n| (Role::Orchestration, n.clone()))
            .chain(info.activities.iter().map(|n| (Role::Activity, n.clone())))
            .chain(info.actors.iter().map(|n| (Role::Actor, n.clone())))
            .collect();
        let mut batch = vec![Op::RegisterComponent {
            digest: digest.clone(),
            bytes: bytes.to_vec(),
            names,
        }];
        if let Some(compiled) = compiled {
            batch.push(Op::CacheCompiled {
                digest: digest.clone(),
                engine: self.shared.wasm.compatibility_key().to_owned(),
                bytes: compiled,
            });
        }
        self.shared.commit(batch).await?;
        self.shared.registry.insert_compiled(loaded);
        self.shared.registry.refresh().await?;
        Ok(info)
    }

    /// The registered components, oldest first, with the names each is
    /// registered for (a name registered again to a newer component is
    /// listed with both; the newest takes new instances).
    pub async fn components(&self) -> Result<Vec<ComponentInfo>, Error> {
        let mut components: Vec<ComponentInfo> = Vec::new();
        for registration in self.shared.store.registrations().await? {
            let index = match components
                .iter()
                .position(|c| c.digest == registration.digest)
            {
                Some(index) => index,
                None => {
                    components.push(ComponentInfo {
                        digest: registration.digest.clone(),
                        orchestrations: Vec::new(),
                        activities: Vec::new(),
                        actors: Vec::new(),
                    });
                    components.len() - 1
                }
            };
            let component = &mut components[index];
            let names = match registration.role {
                Role::Orchestration => &mut component.orchestrations,
                Role::Activity => &mut component.activities,
                Role::Actor => &mut component.actors,
            };
            if !names.contains(&registration.name) {
                names.push(registration.name);
            }
        }
        Ok(components)
    }

    /// The limits guests and payloads run under.
    pub fn limits(&self) -> &Limits {
        &self.shared.wasm.limits
    }

    /// Starts an orchestration by registered name; returns the instance id.
    pub async fn start(
        &self,
        name: &str,
        input: &str,
        options: StartOptions,
    ) -> Result<String, Error> {
        self.check_payload("input", input)?;
        let digest = self.orchestration_digest(name).await?;
        let id = options.instance_id.unwrap_or_else(random_id);
        names::check(NameKind::InstanceId, &id)?;
        let at = self.shared.now_ms();
        let create = Op::create_instance(id.clone(), name, digest, input, None, at);
        self.shared.commit(vec![create]).await?;
        Ok(id)
    }

    /// Sends an external event to an instance. It waits in the instance's
    /// inbox until the orchestration asks for it. Unknown or finished
    /// instances are an error, never a silent drop.
    pub async fn raise_event(
        &self,
        instance_id: &str,
        name: &str,
        data: &str,
    ) -> Result<(), Error> {
        names::check(NameKind::InstanceId, instance_id)?;
        names::check(NameKind::EventName, name)?;
        self.check_payload("event data", data)?;
        self.shared
            .commit(vec![Op::Send(NewMessage {
                instance_id: instance_id.to_owned(),
                execution: None,
                task: None,
                kind: MessageKind::Event,
                name: Some(name.to_owned()),
                payload: data.to_owned(),
            })])
            .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        instance_id: &str,
        from: &[Status],
        to: Status,
        output: Option<String>,
    ) -> Result<(), Error> {
        let record = self.status(instance_id).await?;
        if !from.contains(&record.status) {
            return Err(Error::Conflict(format!(
                "instance {instance_id} is {}",
                record.status.as_str()
            )));
        }
        let mut batch = Vec::new();
        if record.status == Status::Running {
            batch.push(Op::ExpectRunning {
                instance_id: instance_id.to_owned(),
                execution: record.execution,
            });
        }
        batch.push(Op::SetStatus {
            instance_id: instance_id.to_owned(),
            status: to,
            output: output.or(record.output),
        });
        self.shared.commit(batch).await?;
        Ok(())
    }

    /// Stops an instance for good.
    pub async fn terminate(&self, instance_id: &str, reason: &str) -> Result<(), Error> {
        let reason = serde_json::to_string(reason).unwrap_or_default();
        self.set_status(
            instance_id,
            &[Status::Running, Status::Suspended],
            Status::Terminated,
            Some(reason),
        )
        .await?;
        self.shared.router.stop(instance_id, "terminated");
        Ok(())
    }

    /// Pauses an instance; messages keep arriving and wait for [`Runtime::resume`].
    pub async fn suspend(&self, instance_id: &str) -> Result<(), Error> {
        self.set_status(instance_id, &[Status::Running], Status::Suspended, None)
            .await?;
        self.shared.router.stop(instance_id, "suspended");
        Ok(())
    }

    /// Resumes a suspended instance (replaying it from history).
    pub async fn resume(&self, instance_id: &str) -> Result<(), Error> {
        self.set_status(instance_id, &[Status::Suspended], Status::Running, None)
            .await?;
        if self.shared.worker.load(Ordering::Relaxed)
            && self.shared.ownership.owns_instance(instance_id)
            && let Some(spawn) = self.shared.router.ensure(instance_id)
        {
            self.shared.spawn(spawn);
        }
        Ok(())
    }

    /// Deletes a finished instance with its history.
    pub async fn purge(&self, instance_id: &str) -> Result<(), Error> {
        self.shared
            .commit(vec![Op::Purge {
                instance_id: instance_id.to_owned(),
            }])
            .await?;
        Ok(())
    }

    /// An instance's status, output and custom status.
    pub async fn status(&self, instance_id: &str) -> Result<InstanceRecord, Error> {
        self.shared
            .store
            .instance(instance_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no instance {instance_id}")))
    }

    /// The current execution's history.
    pub async fn history(&self, instance_id: &str) -> Result<Vec<HistoryEvent>, Error> {
        let record = self.status(instance_id).await?;
        Ok(self
            .shared
            .store
            .history(instance_id, record.execution)
            .await?)
    }

    /// What this runtime has done since it started, and the store's depths
    /// now (instances by status, queued work).
    pub async fn metrics(&self) -> Result<crate::metrics::Metrics, Error> {
        let store = self.shared.store.counts().await?;
        let hot = self.shared.router.hot_count() as u64;
        Ok(self.shared.counters.snapshot(store, hot))
    }

    /// The instances `query` asks for, newest first.
    pub async fn list(&self, query: &InstanceQuery) -> Result<Vec<InstanceRecord>, Error> {
        Ok(self.shared.store.instances(query).await?)
    }

    /// Waits until the instance has finished (completed, failed or
    /// terminated), or `timeout` passes.
    pub async fn wait(
        &self,
        instance_id: &str,
        timeout: Duration,
    ) -> Result<InstanceRecord, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let subscription = self.shared.finished.subscribe(instance_id);
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
            let look_again = if self.shared.is_worker() {
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

    /// Replays an instance's history against its component, or against
    /// `bytes` (new code to be rolled out), and reports whether the code
    /// makes the same calls and (if finished) returns the same result.
    pub async fn replay_check(
        &self,
        instance_id: &str,
        bytes: Option<&[u8]>,
    ) -> Result<ReplayVerdict, Error> {
        let Resumable {
            record, history, ..
        } = self
            .shared
            .store
            .resumable(instance_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no instance {instance_id}")))?;
        let component = match bytes {
            Some(bytes) => self.compile(bytes).await?.1,
            None => self
                .shared
                .registry
                .load(&record.digest)
                .await
                .map_err(Error::InvalidComponent)?,
        };
        let recorded_end = history.last().map(|e| e.event.clone());
        let verdict = orchestration::replay_only(&self.shared, &component, &record, history)
            .await
            .map_err(Error::Nondeterminism)?;
        let expected = match recorded_end {
            Some(Event::Completed { output }) => Some(Ok(output)),
            Some(Event::Failed { failure }) => Some(Err(failure)),
            _ => None,
        };
        match (&verdict, expected) {
            (ReplayVerdict::Returned(got), Some(want)) if *got != want => {
                Err(Error::Nondeterminism(format!(
                    "replay of instance {instance_id} returned {got:?} but history recorded {want:?}"
                )))
            }
            (ReplayVerdict::Waiting, Some(_)) => Err(Error::Nondeterminism(format!(
                "replay of instance {instance_id} waits for more than its finished history holds"
            ))),
            _ => Ok(verdict),
        }
    }

    /// How this process came by its components: compiled, or loaded from
    /// the compiled code in the store.
    pub fn component_stats(&self) -> ComponentStats {
        self.shared.registry.stats()
    }

    /// Runs orchestration `name` on `input` from its start, with the newest
    /// registered component, in its sandbox, recording and writing nothing:
    /// what would its first episode do? `Waiting` when it would wait for a
    /// task. What `reprise bench instantiate` measures.
    pub async fn dry_run(&self, name: &str, input: &str) -> Result<ReplayVerdict, Error> {
        self.check_payload("input", input)?;
        let digest = self.orchestration_digest(name).await?;
        let component = self.shared.registry.load(&digest).await?;
        let (record, started) = InstanceRecord::starting(
            "dry-run".into(),
            name,
            digest,
            input,
            None,
            self.shared.now_ms(),
        );
        orchestration::replay_only(&self.shared, &component, &record, vec![started])
            .await
            .map_err(Error::Nondeterminism)
    }
}

impl Runtime {
    /// The component of the newest registration of orchestration `name`;
    /// the names are read again first if it is not known (another process
    /// may have registered it a moment ago).
    async fn orchestration_digest(&self, name: &str) -> Result<String, Error> {
        if let Some(digest) = self.shared.orchestration(name) {
            return Ok(digest);
        }
        self.shared.registry.refresh().await?;
        self.shared.orchestration(name).ok_or_else(|| {
            Error::NotFound(format!("no orchestration named {name:?} is registered"))
        })
    }
}

pub(crate) fn random_id() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
