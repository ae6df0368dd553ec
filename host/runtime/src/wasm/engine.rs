//! The wasmtime side: one `Engine` configured for determinism, the limits
//! every guest runs under, the store each guest instance runs in, and
//! [`Guests`], which instantiates them from the pool. What the roles link
//! and export is `component`'s business.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Instance, InstancePre, ResourceTable};
use wasmtime::{
    Config, Enabled, InstanceAllocationStrategy, PoolConcurrencyLimitError,
    PoolingAllocationConfig, ResourceLimiter, Store, UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::{GuestLimit, Limits};
use super::sandbox::Sandbox;
use super::trap::{self, StderrTail};

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
            limits,
        }))
    }

    /// A key that differs between engines whose compiled code is not
    /// interchangeable (another wasmtime version, other settings).
    pub(crate) fn compatibility_key(&self) -> &str {
        &self.compatibility_key
    }

    /// The wasmtime engine, for building linkers.
    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }

    /// Compiles a component, and serializes the compilation for
    /// [`Self::deserialize`] (`None` if that fails: the component still
    /// runs, it is just not cached).
    pub(crate) fn compile(&self, bytes: &[u8]) -> wasmtime::Result<(Component, Option<Vec<u8>>)> {
        let component = Component::new(&self.engine, bytes)?;
        let compiled = component.serialize().ok();
        Ok((component, compiled))
    }

    /// A component from the compilation [`Self::compile`] serialized.
    pub(crate) fn deserialize(&self, compiled: &[u8]) -> wasmtime::Result<Component> {
        // SAFETY: `Component::deserialize` trusts its bytes to be code that
        // `Component::serialize` produced, since it maps them as executable.
        // These come only from our own store, written after `compile` and
        // keyed by the component's digest and this engine's compatibility
        // key (which wasmtime also checks in the bytes' header). The store is
        // trusted as the binary is: whoever can write it can also change the
        // code.
        #[allow(unsafe_code)]
        unsafe {
            Component::deserialize(&self.engine, compiled)
        }
    }

    /// The state of one guest instance, with its memory limit and CPU budget.
    fn guest<S: Send + 'static>(&self, sandbox: Sandbox, state: S, cpu: Duration) -> GuestData<S> {
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
    async fn instantiate<S: Send + 'static>(
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

/// What to do when every instance slot is taken: evict an idle instance,
/// if there is one. The scheduler above decides which.
pub(crate) type Relieve = Arc<dyn Fn() + Send + Sync>;

/// Makes guest instances for the roles: the engine, and the scheduler's
/// way of freeing a slot when the pool is full.
#[derive(Clone)]
pub(crate) struct Guests {
    wasm: Arc<WasmEngine>,
    relieve: Relieve,
}

impl Guests {
    pub(crate) fn new(wasm: Arc<WasmEngine>, relieve: Relieve) -> Self {
        Self { wasm, relieve }
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Arc<WasmEngine> {
        &self.wasm
    }

    /// The limits guests run under.
    pub(crate) fn limits(&self) -> &Limits {
        &self.wasm.limits
    }

    /// Instantiates a guest in `sandbox` with host state `state` and a CPU
    /// allowance of `cpu` between two waits; when the pool is full, frees a
    /// slot as the scheduler says and waits.
    pub(crate) async fn instantiate<S: Send + 'static>(
        &self,
        pre: &InstancePre<GuestData<S>>,
        sandbox: Sandbox,
        state: S,
        cpu: Duration,
    ) -> (Store<GuestData<S>>, wasmtime::Result<Instance>) {
        let guest = self.wasm.guest(sandbox, state, cpu);
        self.wasm.instantiate(pre, guest, &*self.relieve).await
    }
}
