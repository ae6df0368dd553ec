//! The WebAssembly layer: everything that knows wasmtime, and nothing that
//! knows what an orchestration, an activity or an actor does.
//!
//! - `limits`: what a guest may use; `engine`: one engine configured for
//!   determinism, the store each guest instance lives in, and [`Guests`],
//!   which instantiates them from the pool.
//! - `sandbox`: the WASI contexts (the orchestration's deterministic one,
//!   the activity's granted one) and guest stdout/stderr as log lines.
//! - `trap`, `guest_log`: what a person sees when a guest fails or logs.
//! - `role`, `component`: a component checked and prepared for each role it
//!   exports, generic over a [`Role`] that the layer above implements (so
//!   nothing here names a role's host state).
//! - `registry`: components by digest, and the names they provide.
//! - `bindings`: the host side of the WIT package.

pub(crate) mod bindings;
mod component;
mod engine;
pub(crate) mod guest_log;
mod limits;
mod registry;
mod role;
pub(crate) mod sandbox;
pub(crate) mod trap;

pub use component::ComponentError;
pub(crate) use component::{Components, LoadedComponent, RoleLinker, linker, list_exports};
pub(crate) use engine::{GuestData, Guests, Relieve, WasmEngine};
pub use limits::{GuestLimit, Limits};
pub use registry::ComponentStats;
pub(crate) use registry::Registry;
pub(crate) use role::{Prepared, Role, role_bindings};
