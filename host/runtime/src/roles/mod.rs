//! The three roles a component can take, each with its host calls (one
//! `context.rs` per WIT interface), the host state of its guests, and what
//! one guest run does: an orchestration's episode bookkeeping, an
//! activity's attempt, an actor's operations.
//!
//! The roles see the runtime only through small views: a [`Directory`] of
//! names, limits and time for the host calls, [`Guests`](crate::wasm::Guests)
//! to instantiate with, and for a hot orchestration the
//! [`Driver`](orchestration::Driver) that commits its episodes. What runs
//! when, and where results go, is the scheduler's business (`sched`).

pub(crate) mod activity;
pub(crate) mod actor;
pub(crate) mod directory;
pub(crate) mod orchestration;

pub(crate) use directory::SharedDirectory;

use crate::wasm::{RoleLinker, WasmEngine, linker};

/// The linkers of every role, for loading components.
pub(crate) fn linkers(engine: &WasmEngine) -> wasmtime::Result<Vec<Box<dyn RoleLinker>>> {
    Ok(vec![
        linker::<orchestration::Orchestration>(engine)?,
        linker::<activity::Activity>(engine)?,
        linker::<actor::Actor>(engine)?,
    ])
}
