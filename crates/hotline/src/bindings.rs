//! Host bindings for the Spin interfaces in `wit/` (vendored from spin-sdk 7.0.0).

wasmtime::component::bindgen!({
    path: "wit",
    world: "hotline:host/spin-host",
    imports: { default: async | trappable },
    with: {
        "spin:postgres/postgres.connection": crate::postgres::PgConnection,
        "spin:postgres/postgres.connection-builder": crate::postgres::PgConnectionBuilder,
        "spin:key-value/key-value.store": crate::key_value::KvStore,
    },
});

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// The spin-sdk 7.0.0 package in cargo's registry, which the components build against.
    fn sdk_wit() -> PathBuf {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
            .expect("CARGO_HOME or HOME is set");
        let registry = cargo_home.join("registry/src");
        std::fs::read_dir(&registry)
            .expect("cargo's registry exists once the components are built")
            .flatten()
            .map(|index| index.path().join("spin-sdk-7.0.0/wit/deps"))
            .find(|path| path.exists())
            .expect("spin-sdk 7.0.0 is in cargo's registry (build the components first)")
    }

    #[test]
    fn the_vendored_wit_is_the_sdks() {
        let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit/deps");
        let sdk = sdk_wit();
        for package in [
            "spin-postgres@4.2.0/postgres.wit",
            "spin-variables@3.0.0/variables.wit",
            "spin-key-value@3.0.0/key-value.wit",
        ] {
            let vendored = std::fs::read_to_string(ours.join(package)).expect("vendored");
            let upstream = std::fs::read_to_string(sdk.join(package)).expect("upstream");
            assert!(
                vendored == upstream,
                "wit/deps/{package} differs from spin-sdk 7.0.0's copy"
            );
        }
    }
}
