//! The wasmtime side: one `Engine` configured for determinism, the linkers
//! for both roles, compiled components, and the limits every guest runs under.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Instance, InstancePre, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, InstanceAllocationStrategy, PoolConcurrencyLimitError,
    PoolingAllocationConfig, ResourceLimiter, Store, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::activity::ActivityState;
use crate::actors::ActorState;
use crate::orchestration::OrchestrationState;
use crate::sandbox::Sandbox;
use crate::trap::{self, StderrTail};
use crate::wit::exports::reprise::durable::{activities, actors, orchestrator};
use crate::wit::reprise::durable::{activity_context, actor_context, orchestration_context};

/// Resource limits for guests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory a guest instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall time an orchestration may compute between two waits (one
    /// episode), and a guest activity per attempt when it sets no timeout.
    pub cpu_per_episode: Duration,
    /// Time limit of an activity attempt that sets none.
    pub activity_timeout: Duration,
    /// Largest JSON payload accepted anywhere: inputs, outputs, events.
    pub max_payload_bytes: usize,
    /// Guest instances that can live at once: hot orchestrations, running
    /// activity attempts and actor batches. Each has a preallocated slot
    /// (a reservation of `memory_bytes` of address space plus a guard
    /// region, committed only as the guest touches it). When all are taken,
    /// the hot orchestration that has waited longest is evicted to make room
    /// and replays from history on its next message.
    pub instance_slots: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            cpu_per_episode: Duration::from_secs(10),
            activity_timeout: Duration::from_secs(300),
            max_payload_bytes: 1 << 20,
            instance_slots: 4096,
        }
    }
}

/// Why bytes are not a component this host can run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComponentError {
    /// Not a WebAssembly component at all, or one that does not validate.
    #[error("not a valid component: {0}")]
    Invalid(String),
    /// It exports a role's interface but imports something the host cannot provide.
    #[error("component cannot run as {role}: {why}")]
    Unlinkable {
        /// The role, e.g. "an orchestration".
        role: &'static str,
        /// wasmtime's explanation, on one line.
        why: String,
    },
    /// It exports none of the Reprise interfaces.
    #[error(
        "component is for another world: it exports none of {ORCHESTRATOR}, {ACTIVITIES}, {ACTORS}"
    )]
    OtherWorld,
    /// It failed while listing what it exports.
    #[error("component cannot list its {what}: {why}")]
    Listing {
        /// "orchestrations", "activities" or "actor kinds".
        what: &'static str,
        /// The trap or instantiation error, on one line.
        why: String,
    },
    /// No component with this digest is stored.
    #[error("no component with digest {0}")]
    Missing(String),
    /// The store failed to read it.
    #[error("cannot read component {digest}: {source}")]
    Unreadable {
        /// The digest.
        digest: String,
        /// Why.
        #[source]
        source: crate::store::StoreError,
    },
}

impl ComponentError {
    /// A failure to list names, from wasmtime's error.
    pub(crate) fn listing(what: &'static str, error: &wasmtime::Error) -> Self {
        ComponentError::Listing {
            what,
            why: one_line(error),
        }
    }
}

/// Why a guest was stopped by the host rather than by its own doing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuestLimit {
    /// It computed too long without waiting.
    #[error("guest exceeded its CPU deadline of {0:?}")]
    Deadline(Duration),
    /// It tried to grow its memory past the limit.
    #[error("guest exceeded its memory limit of {0} bytes")]
    Memory(usize),
}

/// Computing time since the guest last waited, counted in epoch ticks during
/// which the guest was running, so time spent suspended or waiting for a
/// busy CPU does not count against it.
#[derive(Debug)]
pub(crate) struct CpuBudget {
    limit: Duration,
    ticks: u64,
}

impl CpuBudget {
    fn new(limit: Duration) -> Self {
        Self { limit, ticks: 0 }
    }

    /// Starts a new episode's allowance.
    pub(crate) fn restart(&mut self) {
        self.ticks = 0;
    }

    /// Counts one tick of running; true once the allowance is spent.
    fn tick(&mut self) -> bool {
        self.ticks += 1;
        u128::from(self.ticks) * EPOCH_TICK.as_millis() > self.limit.as_millis()
    }
}

/// Memory limiter that says why it refused.
#[derive(Debug)]
struct MemoryLimit(usize);

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.0 {
            return Err(GuestLimit::Memory(self.0).into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The state every guest store carries, whatever its role.
pub(crate) struct GuestData<S> {
    wasi: WasiCtx,
    /// The end of what the guest wrote to stderr, to explain a trap.
    pub(crate) stderr: StderrTail,
    table: ResourceTable,
    limiter: MemoryLimit,
    pub(crate) budget: CpuBudget,
    pub(crate) state: S,
}

impl<S: Send> WasiView for GuestData<S> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A component compiled and checked, ready to instantiate in either role it supports.
pub(crate) struct LoadedComponent {
    pub(crate) digest: String,
    pub(crate) orchestration: Option<(
        InstancePre<GuestData<OrchestrationState>>,
        orchestrator::GuestIndices,
    )>,
    pub(crate) activity: Option<(
        InstancePre<GuestData<ActivityState>>,
        activities::GuestIndices,
    )>,
    pub(crate) actor: Option<(InstancePre<GuestData<ActorState>>, actors::GuestIndices)>,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("digest", &self.digest)
            .field("orchestration", &self.orchestration.is_some())
            .field("activity", &self.activity.is_some())
            .field("actor", &self.actor.is_some())
            .finish()
    }
}

const ORCHESTRATOR: &str = "reprise:durable/orchestrator@0.1.0";
const ACTIVITIES: &str = "reprise:durable/activities@0.1.0";
const ACTORS: &str = "reprise:durable/actors@0.1.0";
/// The host interfaces of the three roles. An `app` component imports all
/// three; each role's linker provides its own and traps on the others.
const CONTEXTS: [&str; 3] = [
    "reprise:durable/orchestration-context@0.1.0",
    "reprise:durable/activity-context@0.1.0",
    "reprise:durable/actor-context@0.1.0",
];

/// Prepares the component for one role if it exports that role's interface,
/// with the indices of that interface's exports; `own` is the index in
/// [`CONTEXTS`] of the role's host interface.
fn prepare<T: 'static, I>(
    base: &Linker<T>,
    component: &Component,
    (export, own, role): (&str, usize, &'static str),
    indices: impl FnOnce(&InstancePre<T>) -> wasmtime::Result<I>,
) -> Result<Option<(InstancePre<T>, I)>, ComponentError> {
    let unlinkable = |e: wasmtime::Error| ComponentError::Unlinkable {
        role,
        why: one_line(&e),
    };
    if component.get_export_index(None, export).is_none() {
        return Ok(None);
    }
    let mut linker = base.clone();
    for (index, context) in CONTEXTS.into_iter().enumerate() {
        if index != own {
            trap_interface(
                &mut linker,
                component,
                context,
                "this host interface belongs to another role",
            )
            .map_err(unlinkable)?;
        }
    }
    let pre = linker.instantiate_pre(component).map_err(unlinkable)?;
    let indices = indices(&pre).map_err(unlinkable)?;
    Ok(Some((pre, indices)))
}

/// Defines every function of an interface the component imports as a trap
/// with `why`: for the other role's context in an `app` component.
fn trap_interface<T: 'static>(
    linker: &mut Linker<T>,
    component: &Component,
    interface: &str,
    why: &'static str,
) -> wasmtime::Result<()> {
    let engine = component.engine();
    for (name, item) in component.component_type().imports(engine) {
        if name != interface {
            continue;
        }
        if let ComponentItem::ComponentInstance(instance) = item.ty {
            let mut definitions = linker.instance(name)?;
            for (function, _) in instance.exports(engine) {
                definitions.func_new(function, move |_, _, _, _| Err(wasmtime::Error::msg(why)))?;
            }
        }
    }
    Ok(())
}

/// An error chain on one line: parser errors span several.
pub(crate) fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Slots for `limits.instance_slots` component instances. A component holds
/// several core instances (its module and the adapter shims the component
/// tooling adds) and a table for each; a memory and a fiber stack are
/// needed once per component instance.
fn pool_config(limits: &Limits) -> PoolingAllocationConfig {
    let slots = limits.instance_slots.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(8))
        .total_tables(slots.saturating_mul(8))
        .total_memories(slots)
        .total_stacks(slots)
        .max_memory_size(limits.memory_bytes)
        // Reset the pages a guest touched with memset rather than madvise,
        // which would flush the TLB of every core running this process.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto);
    pool
}

/// The engine and linkers shared by all guests of a runtime.
pub(crate) struct WasmEngine {
    engine: wasmtime::Engine,
    /// Which compiled code this engine can run (see [`Self::compatibility_key`]).
    compatibility_key: String,
    orchestration_linker: Linker<GuestData<OrchestrationState>>,
    activity_linker: Linker<GuestData<ActivityState>>,
    actor_linker: Linker<GuestData<ActorState>>,
    pub(crate) limits: Limits,
}

/// wasmtime's compatibility hash of the engine, as hex: it covers the
/// wasmtime version, the compiler settings and the engine's configuration.
fn compatibility_key(engine: &wasmtime::Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0 // Never asked for: the digest is read instead.
        }
    }
    let mut hasher = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}

/// How often the epoch advances: the granularity of CPU deadlines and of
/// yielding to other tasks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

impl WasmEngine {
    pub(crate) fn new(limits: Limits) -> wasmtime::Result<Arc<Self>> {
        let mut config = Config::new();
        // Same history, same result on any machine: no NaN bit patterns or
        // relaxed-SIMD results that differ by CPU.
        config.cranelift_nan_canonicalization(true);
        config.relaxed_simd_deterministic(true);
        config.epoch_interruption(true);
        config.wasm_backtrace_max_frames(std::num::NonZeroUsize::new(trap::CAPTURED_FRAMES));
        // Linear memories, tables, instance records and fiber stacks come
        // from preallocated slots: instantiating and dropping a guest then
        // costs no mmap/munmap (and no TLB shootdowns across cores).
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(&limits)));
        config.memory_reservation(limits.memory_bytes as u64);
        let engine = wasmtime::Engine::new(&config)?;

        let mut orchestration_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut orchestration_linker)?;
        orchestration_context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut orchestration_linker,
            |data| data,
        )?;
        let mut activity_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut activity_linker)?;
        activity_context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut activity_linker,
            |data| data,
        )?;

        let mut actor_linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut actor_linker)?;
        actor_context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut actor_linker,
            |data| data,
        )?;

        // The ticker holds only a weak handle so it ends with the engine.
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("reprise-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;

        Ok(Arc::new(Self {
            compatibility_key: compatibility_key(&engine),
            engine,
            orchestration_linker,
            activity_linker,
            actor_linker,
            limits,
        }))
    }

    /// A key that differs between engines whose compiled code is not
    /// interchangeable (another wasmtime version, other settings).
    pub(crate) fn compatibility_key(&self) -> &str {
        &self.compatibility_key
    }

    /// Compiles and checks a component (see [`Self::prepare_roles`]), and
    /// serializes the compilation for [`Self::load_compiled`] (`None` if
    /// that fails: the component still runs, it is just not cached).
    pub(crate) fn load(
        &self,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(LoadedComponent, Option<Vec<u8>>), ComponentError> {
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| ComponentError::Invalid(one_line(&e)))?;
        let compiled = component.serialize().ok();
        Ok((self.prepare_roles(digest, &component)?, compiled))
    }

    /// A component from the compilation [`Self::load`] serialized.
    pub(crate) fn load_compiled(
        &self,
        digest: &str,
        compiled: &[u8],
    ) -> Result<LoadedComponent, ComponentError> {
        // SAFETY: `Component::deserialize` trusts its bytes to be code that
        // `Component::serialize` produced, since it maps them as executable.
        // These come only from our own store, written by `load` and keyed by
        // the component's digest and this engine's compatibility key (which
        // wasmtime also checks in the bytes' header). The store is trusted as
        // the binary is: whoever can write it can also change the code.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(&self.engine, compiled) }
            .map_err(|e| ComponentError::Invalid(one_line(&e)))?;
        self.prepare_roles(digest, &component)
    }

    /// Checks a compiled component for each role. It must export the
    /// orchestrator, activities or actors interface of `reprise:durable`, and
    /// import nothing the host cannot provide.
    fn prepare_roles(
        &self,
        digest: &str,
        component: &Component,
    ) -> Result<LoadedComponent, ComponentError> {
        let orchestration = prepare(
            &self.orchestration_linker,
            component,
            (ORCHESTRATOR, 0, "an orchestration"),
            orchestrator::GuestIndices::new,
        )?;
        let activity = prepare(
            &self.activity_linker,
            component,
            (ACTIVITIES, 1, "activities"),
            activities::GuestIndices::new,
        )?;
        let actor = prepare(
            &self.actor_linker,
            component,
            (ACTORS, 2, "actors"),
            actors::GuestIndices::new,
        )?;
        if orchestration.is_none() && activity.is_none() && actor.is_none() {
            return Err(ComponentError::OtherWorld);
        }
        Ok(LoadedComponent {
            digest: digest.to_owned(),
            orchestration,
            activity,
            actor,
        })
    }

    /// The state of one guest instance, with its memory limit and CPU budget.
    pub(crate) fn guest<S: Send + 'static>(
        &self,
        sandbox: Sandbox,
        state: S,
        cpu: Duration,
    ) -> GuestData<S> {
        GuestData {
            wasi: sandbox.wasi,
            stderr: sandbox.stderr,
            table: ResourceTable::new(),
            limiter: MemoryLimit(self.limits.memory_bytes),
            budget: CpuBudget::new(cpu),
            state,
        }
    }

    fn store<S: Send + 'static>(&self, data: GuestData<S>) -> Store<GuestData<S>> {
        let mut store = Store::new(&self.engine, data);
        store.limiter(|data| &mut data.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let budget = &mut ctx.data_mut().budget;
            if budget.tick() {
                return Err(GuestLimit::Deadline(budget.limit).into());
            }
            // Let other instances run on this thread between ticks.
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Instantiates a guest in a store of its own. When every instance slot
    /// is taken it calls `relieve` (which evicts an idle instance, if there
    /// is one) and tries again once a slot is free: pool pressure delays a
    /// guest, it never fails one.
    pub(crate) async fn instantiate<S: Send + 'static>(
        &self,
        pre: &InstancePre<GuestData<S>>,
        mut data: GuestData<S>,
        relieve: &(dyn Fn() + Sync),
    ) -> (Store<GuestData<S>>, wasmtime::Result<Instance>) {
        loop {
            let mut store = self.store(data);
            match pre.instantiate_async(&mut store).await {
                Err(error) if error.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                    // A partly instantiated component may hold slots in this
                    // store: start again from a fresh one.
                    data = store.into_data();
                    relieve();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                result => return (store, result),
            }
        }
    }
}
