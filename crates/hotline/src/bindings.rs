//! Host bindings for the Spin interfaces in `wit/` (vendored from spin-sdk 7.0.0).

wasmtime::component::bindgen!({
    path: "wit",
    world: "hotline:host/spin-host",
    imports: { default: async | trappable },
    with: {
        "spin:postgres/postgres.connection": crate::postgres::PgConnection,
        "spin:postgres/postgres.connection-builder": crate::postgres::PgConnectionBuilder,
    },
});
