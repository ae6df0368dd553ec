//! Reprise runs durable orchestrations, activities and actors compiled to
//! WebAssembly components.
//!
//! An orchestration calls the host for everything non-deterministic; the host
//! records each call in its history and, after a crash or eviction, replays
//! the guest from that history to the same point.
//!
//! The crate is built in layers, each using only those below it:
//! `wasm` (the engine, sandboxes and components, generic over a role),
//! `roles` (orchestration, activity, actor: their host calls and state),
//! `sched` (what runs when and where in this process) and `api` (the
//! [`Runtime`]). `scripts/check-layers` keeps their imports pointing one way.
//!
//! - [`Runtime`]: register components, start and steer instances, call and
//!   signal actors, run a worker. It runs on any [`store::Store`]; the crate
//!   `reprise-sqlite` provides the embedded default.
//! - [`metrics`]: what a runtime has done, and the store's depths, for
//!   monitoring ([`Runtime::metrics`]).
//! - [`store`], [`history`], [`replay`], [`view`], [`waiting`]: the concepts
//!   of `reprise-core`, re-exported so that one crate is enough to embed
//!   Reprise.

// `unsafe` is denied (workspace lints) but not forbidden: loading compiled
// code from the store needs it, once, in `wasm/engine.rs`, with its reasons.
#![deny(unsafe_code)]

mod api;
mod error;
mod ids;
pub mod metrics;
mod roles;
mod sched;
mod wasm;

pub use reprise_core::{archive, clock, history, names, repair, replay, store, view, waiting};

pub use api::{
    Compatibility, ComponentInfo, Fork, ForkOptions, Idempotent, KeptInstance, Names, PlanTotals,
    PlannedInstance, RegisteredComponent, RewindOptions, Rewound, Runtime, RuntimeBuilder,
    StartOptions, StatusTally, UpgradePlan, UpgradeReport, WorkerHandle,
};
pub use error::Error;
pub use names::NameError;
pub use roles::activity::NativeCall;
pub use roles::orchestration::ReplayVerdict;
pub use sched::flow::{ActivityLimits, PerKey};
pub use sched::ownership::{PARTITIONS, partition_of};
pub use wasm::guest_log::TARGET as GUEST_LOG_TARGET;
pub use wasm::sandbox::ActivityGrants;
pub use wasm::{ComponentError, ComponentStats, GuestLimit, Limits};
