//! A component and its roles: the linkers of the three worlds, and a
//! component compiled and checked for each role it exports. The one place
//! that knows all three roles' host state.

use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre, Linker};

use crate::activity::ActivityState;
use crate::actors::ActorState;
use crate::engine::{GuestData, WasmEngine, one_line};
use crate::orchestration::OrchestrationState;
use crate::wit::exports::reprise::durable::{activities, actors, orchestrator};
use crate::wit::reprise::durable::{activity_context, actor_context, orchestration_context};

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

/// The engine, with a linker per role: loads components.
pub(crate) struct Components {
    wasm: Arc<WasmEngine>,
    orchestration_linker: Linker<GuestData<OrchestrationState>>,
    activity_linker: Linker<GuestData<ActivityState>>,
    actor_linker: Linker<GuestData<ActorState>>,
}

fn invalid(error: wasmtime::Error) -> ComponentError {
    ComponentError::Invalid(one_line(&error))
}

impl Components {
    /// The linkers of the three roles on `wasm`'s engine: WASI, and the
    /// role's own host interface.
    pub(crate) fn new(wasm: Arc<WasmEngine>) -> wasmtime::Result<Self> {
        let mut orchestration_linker = Linker::new(wasm.engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut orchestration_linker)?;
        orchestration_context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut orchestration_linker,
            |data| data,
        )?;
        let mut activity_linker = Linker::new(wasm.engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut activity_linker)?;
        activity_context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut activity_linker,
            |data| data,
        )?;

        let mut actor_linker = Linker::new(wasm.engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut actor_linker)?;
        actor_context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(
            &mut actor_linker,
            |data| data,
        )?;

        Ok(Self {
            wasm,
            orchestration_linker,
            activity_linker,
            actor_linker,
        })
    }

    /// A key that differs between engines whose compiled code is not
    /// interchangeable (another wasmtime version, other settings).
    pub(crate) fn compatibility_key(&self) -> &str {
        self.wasm.compatibility_key()
    }

    /// Compiles and checks a component (see [`Self::prepare_roles`]) on
    /// the engine,, and
    /// serializes the compilation for [`Self::load_compiled`] (`None` if
    /// that fails: the component still runs, it is just not cached).
    pub(crate) fn load(
        &self,
        digest: &str,
        bytes: &[u8],
    ) -> Result<(LoadedComponent, Option<Vec<u8>>), ComponentError> {
        let (component, compiled) = self.wasm.compile(bytes).map_err(invalid)?;
        Ok((self.prepare_roles(digest, &component)?, compiled))
    }

    /// A component from the compilation [`Self::load`] serialized.
    pub(crate) fn load_compiled(
        &self,
        digest: &str,
        compiled: &[u8],
    ) -> Result<LoadedComponent, ComponentError> {
        let component = self.wasm.deserialize(compiled).map_err(invalid)?;
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
}
