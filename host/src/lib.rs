//! Reprise runs durable orchestrations, activities and actors compiled to
//! WebAssembly components.
//!
//! An orchestration calls the host for everything non-deterministic; the host
//! records each call in a SQLite history and, after a crash or eviction,
//! replays the guest from that history to the same point.
//!
//! - [`Runtime`]: register components, start and steer instances, call and
//!   signal actors, run a worker.
//! - [`store`]: the durable state, behind the [`store::Store`] trait.
//! - [`history`]: the events an execution records.
//! - [`view`]: instances and events as JSON for people and programs.

#![forbid(unsafe_code)]

mod activity;
mod actors;
pub mod bench;
mod engine;
mod error;
mod guest_log;
pub mod history;
mod names;
mod orchestration;
mod registry;
pub mod replay;
mod router;
mod runtime;
mod sandbox;
pub mod store;
mod timers;
mod trap;
pub mod view;
mod wit;

pub use activity::NativeCall;
pub use engine::{ComponentError, GuestLimit, Limits};
pub use error::Error;
pub use guest_log::TARGET as GUEST_LOG_TARGET;
pub use names::NameError;
pub use orchestration::ReplayVerdict;
pub use runtime::{ComponentInfo, Runtime, RuntimeBuilder, StartOptions, WorkerHandle};
pub use sandbox::ActivityGrants;
