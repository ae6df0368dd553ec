//! The embeddable runtime: register components, start and steer instances,
//! call actors, wait for results, and run the worker that executes them.
//!
//! A [`Runtime`] without a worker is a client: it writes requests to the
//! store for whichever process runs the worker. [`Runtime::start_worker`]
//! makes this process execute orchestrations, activities, timers and actors.
//!
//! One file per concern: `builder` (configuration), `components`
//! (registering and checking code), `catalog` (what is registered and how
//! many instances run each component), `upgrades` (moving live instances to
//! new code), `fork` and `rewind` (repairs, with `reissue` for the tasks
//! they issue again), `instances` (starting and steering), `actors`,
//! `waiting` (results and what blocks them), `worker`, `archive` (export
//! and import).

use std::sync::Arc;

mod actors;
mod archive;
mod builder;
mod catalog;
mod components;
mod fork;
mod idempotent;
mod instances;
mod reissue;
mod rewind;
mod upgrades;
mod waiting;
mod worker;

pub use builder::RuntimeBuilder;
pub use catalog::{Names, RegisteredComponent, StatusTally};
pub use components::ComponentInfo;
pub use fork::{Fork, ForkOptions};
pub use idempotent::Idempotent;
pub use instances::StartOptions;
pub use rewind::{RewindOptions, Rewound};
pub use upgrades::{
    Compatibility, KeptInstance, PlanTotals, PlannedInstance, UpgradePlan, UpgradeReport,
};
pub use worker::WorkerHandle;

use crate::error::Error;
use crate::roles::directory::check_json;
use crate::sched::Shared;
use crate::store::Store;
use crate::wasm::Limits;

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

impl Runtime {
    /// Starts building a runtime on a store.
    pub fn builder(store: Arc<dyn Store>) -> RuntimeBuilder {
        RuntimeBuilder::new(store)
    }

    /// The limits guests and payloads run under.
    pub fn limits(&self) -> &Limits {
        self.shared.code.guests.limits()
    }

    /// A payload must be JSON and within the size limit.
    fn check_payload(&self, what: &str, text: &str) -> Result<(), Error> {
        check_json(what, text, self.limits().max_payload_bytes)
    }

    /// The component of the newest registration of orchestration `name`;
    /// the names are read again first if it is not known (another process
    /// may have registered it a moment ago).
    async fn orchestration_digest(&self, name: &str) -> Result<String, Error> {
        let registry = &self.shared.code.registry;
        if let Some(digest) = registry.orchestration(name) {
            return Ok(digest);
        }
        registry.refresh().await?;
        registry.orchestration(name).ok_or_else(|| {
            Error::NotFound(format!("no orchestration named {name:?} is registered"))
        })
    }
}
