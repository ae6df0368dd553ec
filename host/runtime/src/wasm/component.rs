//! A component and its roles: compiled once, checked and prepared for each
//! role it exports with that role's linker. Generic over [`Role`]: the
//! roles are handed in as [`RoleLinker`]s, so nothing here names a role's
//! host state.

use std::any::{Any, TypeId};
use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};

use super::bindings::{ACTIVITIES, ACTORS, ORCHESTRATOR};
use super::engine::{GuestData, Guests, WasmEngine, one_line};
use super::role::{Prepared, Role};
use super::sandbox::Sandbox;

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

/// A component prepared for one role, with the role's type erased: the
/// role's type id, its description, and the `Prepared<R>`.
type ErasedRole = (TypeId, &'static str, Box<dyn Any + Send + Sync>);

/// A component compiled and checked, ready to instantiate in each role it
/// exports.
pub(crate) struct LoadedComponent {
    pub(crate) digest: String,
    /// A `Prepared<R>` for each role `R` it exports.
    roles: Vec<ErasedRole>,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roles: Vec<&str> = self.roles.iter().map(|(_, role, _)| *role).collect();
        f.debug_struct("LoadedComponent")
            .field("digest", &self.digest)
            .field("roles", &roles)
            .finish()
    }
}

impl LoadedComponent {
    /// The component prepared for role `R`, if it exports it.
    pub(crate) fn role<R: Role>(&self) -> Option<&Prepared<R>> {
        self.roles
            .iter()
            .find(|(id, _, _)| *id == TypeId::of::<R>())
            .and_then(|(_, _, prepared)| prepared.downcast_ref())
    }

    /// The component prepared for role `R`, or the failure of a guest
    /// that needs it in that role (`what` it should hold: "orchestrations").
    pub(crate) fn require<R: Role>(&self) -> Result<&Prepared<R>, crate::history::Failure> {
        self.role::<R>().ok_or_else(|| {
            crate::history::Failure::new(format!("component {} holds no {}", self.digest, R::LISTS))
        })
    }
}

/// One role's linker, with the role's type erased so that [`Components`]
/// can hold every role's.
pub(crate) trait RoleLinker: Send + Sync {
    /// The host interface the role's guests import.
    fn context(&self) -> &'static str;
    /// Prepares the component for the role if it exports the role's
    /// interface; `others` are the other roles' host interfaces, which an
    /// `app` component imports too and which trap in this role.
    fn prepare(
        &self,
        component: &Component,
        others: &[&'static str],
    ) -> Result<Option<ErasedRole>, ComponentError>;
}

/// The linker of role `R`.
struct Linked<R: Role> {
    linker: Linker<GuestData<R::State>>,
}

/// The linker of role `R` on `engine`: WASI, and the role's host interface.
pub(crate) fn linker<R: Role>(engine: &WasmEngine) -> wasmtime::Result<Box<dyn RoleLinker>> {
    let mut linker = Linker::new(engine.engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    R::add_to_linker(&mut linker)?;
    Ok(Box::new(Linked::<R> { linker }))
}

impl<R: Role> RoleLinker for Linked<R> {
    fn context(&self) -> &'static str {
        R::CONTEXT
    }

    fn prepare(
        &self,
        component: &Component,
        others: &[&'static str],
    ) -> Result<Option<ErasedRole>, ComponentError> {
        let unlinkable = |e: wasmtime::Error| ComponentError::Unlinkable {
            role: R::DESCRIPTION,
            why: one_line(&e),
        };
        if component.get_export_index(None, R::EXPORT).is_none() {
            return Ok(None);
        }
        let mut linker = self.linker.clone();
        for &context in others {
            trap_interface(
                &mut linker,
                component,
                context,
                "this host interface belongs to another role",
            )
            .map_err(unlinkable)?;
        }
        let pre = linker.instantiate_pre(component).map_err(unlinkable)?;
        let indices = R::indices(&pre).map_err(unlinkable)?;
        let prepared: Prepared<R> = Prepared { pre, indices };
        Ok(Some((
            TypeId::of::<R>(),
            R::DESCRIPTION,
            Box::new(prepared),
        )))
    }
}

/// Defines every function of an interface the component imports as a trap
/// with `why`: for the other roles' contexts in an `app` component.
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
    roles: Vec<Box<dyn RoleLinker>>,
}

fn invalid(error: wasmtime::Error) -> ComponentError {
    ComponentError::Invalid(one_line(&error))
}

impl Components {
    /// Loads components on `wasm`'s engine for the roles `roles` link.
    pub(crate) fn new(wasm: Arc<WasmEngine>, roles: Vec<Box<dyn RoleLinker>>) -> Self {
        Self { wasm, roles }
    }

    /// A key that differs between engines whose compiled code is not
    /// interchangeable (another wasmtime version, other settings).
    pub(crate) fn compatibility_key(&self) -> &str {
        self.wasm.compatibility_key()
    }

    /// Compiles and checks a component (see [`Self::prepare_roles`]), and
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
    /// interface of at least one, and import nothing the host cannot
    /// provide.
    fn prepare_roles(
        &self,
        digest: &str,
        component: &Component,
    ) -> Result<LoadedComponent, ComponentError> {
        let mut roles = Vec::new();
        for role in &self.roles {
            let others: Vec<&'static str> = self
                .roles
                .iter()
                .map(|other| other.context())
                .filter(|&context| context != role.context())
                .collect();
            roles.extend(role.prepare(component, &others)?);
        }
        if roles.is_empty() {
            return Err(ComponentError::OtherWorld);
        }
        Ok(LoadedComponent {
            digest: digest.to_owned(),
            roles,
        })
    }
}

/// The names a component provides in role `R` (none if it does not export
/// the role): instantiates it in a guest made by `guest` and asks it.
pub(crate) async fn list_exports<R: Role>(
    guests: &Guests,
    component: &LoadedComponent,
    guest: impl FnOnce() -> Result<(Sandbox, R::State), String>,
) -> Result<Vec<String>, ComponentError> {
    let Some(prepared) = component.role::<R>() else {
        return Ok(Vec::new());
    };
    let listing = |why: String| ComponentError::Listing {
        what: R::LISTS,
        why,
    };
    let (sandbox, state) = guest().map_err(listing)?;
    let cpu = guests.limits().cpu_per_episode;
    let (mut store, instance) = guests.instantiate(&prepared.pre, sandbox, state, cpu).await;
    let failed = |e: wasmtime::Error| listing(one_line(&e));
    let exports =
        R::exports(&prepared.indices, &mut store, &instance.map_err(failed)?).map_err(failed)?;
    R::list(&exports, &mut store).await.map_err(failed)
}
