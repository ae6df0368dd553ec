//! What this layer needs to know of a role (orchestration, activity,
//! actor) to link, check and instantiate a component for it: its
//! interfaces, its host state's type, and how to reach its exports. The
//! roles implement [`Role`] in the layer above; this layer is generic over
//! it, the way wasmtime-wasi's `add_to_linker` never names its embedder's
//! state.

use std::future::Future;

use wasmtime::component::{Instance, InstancePre, Linker};

use super::engine::GuestData;

/// One of the worlds a component can export.
pub(crate) trait Role: Sized + Send + Sync + 'static {
    /// The host state of a guest in this role.
    type State: Send + 'static;
    /// Where the role's exports are in a component (bindgen's `GuestIndices`).
    type Indices: Send + Sync + 'static;
    /// The role's exports in one instance (bindgen's `Guest`).
    type Exports: Send + Sync + 'static;

    /// The interface a component exports to take this role.
    const EXPORT: &'static str;
    /// The host interface this role's guests import.
    const CONTEXT: &'static str;
    /// The role, as an error names it: "an orchestration".
    const DESCRIPTION: &'static str;
    /// What listing the exports finds: "orchestrations".
    const LISTS: &'static str;

    /// Adds the role's host interface (and WASI) to a linker.
    fn add_to_linker(linker: &mut Linker<GuestData<Self::State>>) -> wasmtime::Result<()>;

    /// Finds the role's exports in a prepared component.
    fn indices(pre: &InstancePre<GuestData<Self::State>>) -> wasmtime::Result<Self::Indices>;

    /// The role's exports in an instance.
    fn exports(
        indices: &Self::Indices,
        store: &mut wasmtime::Store<GuestData<Self::State>>,
        instance: &Instance,
    ) -> wasmtime::Result<Self::Exports>;

    /// Asks the guest for the names it provides in this role.
    fn list(
        exports: &Self::Exports,
        store: &mut wasmtime::Store<GuestData<Self::State>>,
    ) -> impl Future<Output = wasmtime::Result<Vec<String>>> + Send;
}

/// A component prepared for one role: linked, and its exports found.
pub(crate) struct Prepared<R: Role> {
    /// Instantiates the component with the role's linker.
    pub(crate) pre: InstancePre<GuestData<R::State>>,
    /// Where its exports are.
    pub(crate) indices: R::Indices,
}

/// Implements the binding half of [`Role`] (its `Indices`, `Exports`,
/// `add_to_linker`, `indices`, `exports` and `list`) from bindgen's
/// modules: `$exports`, the interface the role's components export (with
/// `$list`, the export that lists their names), and `$context`, the host
/// interface (implemented on `GuestData<Self::State>`).
macro_rules! role_bindings {
    ($exports:ident, $context:ident, $list:ident) => {
        type Indices = $exports::GuestIndices;
        type Exports = $exports::Guest;

        fn add_to_linker(
            linker: &mut wasmtime::component::Linker<$crate::wasm::GuestData<Self::State>>,
        ) -> wasmtime::Result<()> {
            $context::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |data| data)
        }

        fn indices(
            pre: &wasmtime::component::InstancePre<$crate::wasm::GuestData<Self::State>>,
        ) -> wasmtime::Result<Self::Indices> {
            $exports::GuestIndices::new(pre)
        }

        fn exports(
            indices: &Self::Indices,
            store: &mut wasmtime::Store<$crate::wasm::GuestData<Self::State>>,
            instance: &wasmtime::component::Instance,
        ) -> wasmtime::Result<Self::Exports> {
            indices.load(store, instance)
        }

        async fn list(
            exports: &Self::Exports,
            store: &mut wasmtime::Store<$crate::wasm::GuestData<Self::State>>,
        ) -> wasmtime::Result<Vec<String>> {
            exports.$list(store).await
        }
    };
}
pub(crate) use role_bindings;
