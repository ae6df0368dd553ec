//! The actor role: an addressable entity whose state is passed into every
//! operation and taken out of its result, so one guest instance can serve
//! any actor of its kind (`handler`). Effects an operation has (signals,
//! started orchestrations) are collected by its host calls (`context`)
//! and commit with its new state. Read-only operations called by clients
//! and orchestrations run outside the mailbox (`reads`). Which other
//! operations run when, and the batches and atomic requests they commit
//! in, are the scheduler's (`sched::actors`).

mod context;
mod handler;
mod reads;

pub(crate) use context::ActorState;
pub(crate) use handler::{Handler, IdleHandlers};
pub(crate) use reads::{Reads, component_for};

use crate::store::ActorId;
use crate::wasm::bindings::ACTORS;
use crate::wasm::bindings::exports::reprise::durable::actors;
use crate::wasm::bindings::reprise::durable::actor_context;
use crate::wasm::guest_log::Source;
use crate::wasm::role_bindings;
use crate::wasm::sandbox::{self, ActivityGrants};
use crate::wasm::{ComponentError, Guests, LoadedComponent, Role};

use super::directory::SharedDirectory;

/// The actor role.
pub(crate) struct Actor;

impl Role for Actor {
    type State = ActorState;

    const EXPORT: &'static str = ACTORS;
    const CONTEXT: &'static str = "reprise:durable/actor-context@0.1.0";
    const DESCRIPTION: &'static str = "actors";
    const LISTS: &'static str = "actor kinds";

    role_bindings!(actors, actor_context, call_kinds);
}

/// The sandbox and host state of an actor guest that serves `id`'s kind:
/// no grants, whatever activities may reach.
fn guest(
    directory: &SharedDirectory,
    id: &ActorId,
) -> Result<(sandbox::Sandbox, ActorState), String> {
    let source = Source::Actor(id.kind.as_str().into());
    let sandbox = sandbox::activity_wasi(&ActivityGrants::default(), &source)
        .map_err(|why| why.to_string())?;
    let state = ActorState {
        directory: directory.clone(),
        id: id.clone(),
        effects: Vec::new(),
    };
    Ok((sandbox, state))
}

/// The actor kinds a component implements (none if it has none).
pub(crate) async fn kinds(
    guests: &Guests,
    directory: &SharedDirectory,
    component: &LoadedComponent,
) -> Result<Vec<String>, ComponentError> {
    let id = ActorId {
        kind: String::new(),
        key: "registration".into(),
    };
    crate::wasm::list_exports::<Actor>(guests, component, || guest(directory, &id)).await
}
