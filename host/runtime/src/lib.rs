//! Reprise runs durable orchestrations, activities and actors compiled to
//! WebAssembly components.
//!
//! An orchestration calls the host for everything non-deterministic; the host
//! records each call in its history and, after a crash or eviction, replays
//! the guest from that history to the same point.
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
// code from the store needs it, once, in `engine.rs`, with its reasons.
#![deny(unsafe_code)]

mod activity;
mod actors;
mod component;
mod directory;
mod engine;
mod error;
mod guest_log;
pub mod metrics;
mod orchestration;
mod ownership;
mod registry;
mod router;
mod runtime;
mod sandbox;
mod timers;
mod trap;
mod wit;

pub use reprise_core::{clock, history, names, replay, store, view, waiting};

pub use activity::NativeCall;
pub use component::ComponentError;
pub use engine::{GuestLimit, Limits};
pub use error::Error;
pub use guest_log::TARGET as GUEST_LOG_TARGET;
pub use names::NameError;
pub use orchestration::ReplayVerdict;
pub use ownership::{PARTITIONS, partition_of};
pub use registry::ComponentStats;
pub use runtime::{ComponentInfo, Runtime, RuntimeBuilder, StartOptions, WorkerHandle};
pub use sandbox::ActivityGrants;
