//! Host bindings generated from `wit/`.

wasmtime::component::bindgen!({
    world: "app",
    path: "../../wit",
    imports: { default: async | trappable },
    exports: { default: async },
});
