//! The per-instance host state (the instance lifetime) and the Spin interfaces on it:
//! `spin:postgres`, `spin:variables`, and the outbound half of `wasi:http` (`spin:key-value` is
//! in `key_value.rs`).

// The error type is the interface's own (`spin:postgres` `error`), handed to the guest by value.
#![allow(clippy::result_large_err)]

use crate::app::App;
use crate::bindings::spin::postgres::postgres::{
    self as pg, Column, DbValue, Error as PgError, ParameterValue, RowSet,
};
use crate::bindings::spin::variables::variables;
use crate::metrics::Sent;
use crate::outbound::{OutboundPolicy, default_port};
use crate::postgres::{PgConnection, PgConnectionBuilder};
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use wasmtime::StoreLimits;
use wasmtime::component::{
    Accessor, FutureReader, HasSelf, Linker, Resource, ResourceTable, StreamReader,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// What a component was given by the manifest, resolved at start (the app lifetime).
#[derive(Debug)]
pub struct ComponentConfig {
    pub id: String,
    pub variables: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    pub outbound: OutboundPolicy,
    /// The key-value stores the component may open (`key_value_stores`).
    pub key_value_stores: Vec<String>,
    /// The origins reached over HTTP/2 (`http2_origins`).
    pub http2: OutboundPolicy,
}

/// The data of one `Store`: one component instance, serving one or more requests.
pub struct HostState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub http: WasiHttpCtx,
    pub hooks: OutboundHooks,
    pub limits: StoreLimits,
    pub component: Arc<ComponentConfig>,
    pub app: Weak<App>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Outbound HTTP: `allowed_outbound_hosts` enforced, `*.spin.internal` served in-process.
pub struct OutboundHooks {
    pub component: Arc<ComponentConfig>,
    pub app: Weak<App>,
}

/// The host of a service-chaining address: `http://<component>.spin.internal`.
pub const INTERNAL_SUFFIX: &str = ".spin.internal";

type BoxedIo = Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>;

/// The headers a guest may not set: wasmtime-wasi-http's own list, shared by every instance.
static FORBIDDEN_HEADERS: std::sync::LazyLock<wasmtime_wasi_http::ForbiddenHeaderFilter> =
    std::sync::LazyLock::new(|| {
        Arc::new(|name| wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(name))
    });

impl WasiHttpHooks for OutboundHooks {
    // The same rule as the trait's defaults, which build a new `Arc` for every header a guest
    // sets or reads: 23 allocations of a chained request's 330 in the runtime (callgrind).
    fn is_forbidden_header(&mut self, name: &http::HeaderName) -> bool {
        FORBIDDEN_HEADERS(name)
    }

    fn forbidden_header_filter(&mut self) -> wasmtime_wasi_http::ForbiddenHeaderFilter {
        FORBIDDEN_HEADERS.clone()
    }

    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: BoxedIo,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (http::Response<wasmtime_wasi_http::WasiBody>, BoxedIo),
                    wasmtime_wasi_http::Error,
                >,
            > + Send,
    > {
        let _ = fut;
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("http").to_ascii_lowercase();
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let port = uri
            .port_u16()
            .or_else(|| default_port(&scheme))
            .unwrap_or(0);
        if !self.component.outbound.allows(&scheme, &host, port) {
            tracing::warn!(
                component = %self.component.id,
                destination = %format!("{scheme}://{host}:{port}"),
                "outbound request refused: not in allowed_outbound_hosts"
            );
            if let Some(app) = self.app.upgrade() {
                let destination = format!("{host}:{port}");
                app.metrics
                    .sent(&self.component.id, &destination, Sent::Denied);
            }
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        // Service chaining has a future of its own. A single future holding it and the outbound
        // sends measured no better on the gateway hop (its requests a second over one
        // component's, bench runs with the two builds in turn: 0.48-0.54 with it, 0.50-0.60
        // without).
        if let Some(target) = host.strip_suffix(INTERNAL_SUFFIX) {
            let target = target.to_owned();
            let app = self.app.clone();
            return Box::new(async move {
                let app = app
                    .upgrade()
                    .ok_or(wasmtime_wasi_http::Error::DestinationUnavailable)?;
                let response = app.handle_chained(&target, request).await?;
                Ok((response, Box::new(async { Ok(()) }) as BoxedIo))
            });
        }
        let http2 = self.component.http2.allows(&scheme, &host, port);
        let (app, component) = (self.app.clone(), self.component.clone());
        Box::new(async move {
            let app = app
                .upgrade()
                .ok_or(wasmtime_wasi_http::Error::DestinationUnavailable)?;
            let response = if http2 {
                app.http2.send(request, options).await
            } else {
                app.http1.send(request, options).await
            };
            let sent = match &response {
                Ok(response) => Sent::Status(response.status().as_u16()),
                Err(_) => Sent::Error,
            };
            app.metrics
                .sent(&component.id, &format!("{host}:{port}"), sent);
            Ok((response?, Box::new(async { Ok(()) }) as BoxedIo))
        })
    }
}

pub fn add_spin_interfaces(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    pg::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    variables::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    crate::bindings::spin::key_value::key_value::add_to_linker::<HostState, HasSelf<HostState>>(
        linker,
        |state| state,
    )?;
    Ok(())
}

impl HostState {
    fn open_pg(
        &self,
        address: &str,
    ) -> Result<std::sync::Arc<crate::postgres::ConnectionPool>, PgError> {
        let app = self
            .app
            .upgrade()
            .ok_or_else(|| PgError::Other("the application is stopping".into()))?;
        app.pg_pools.pool_for(address, &self.component.outbound)
    }

    fn connection(&self, resource: &Resource<PgConnection>) -> wasmtime::Result<PgConnection> {
        Ok(self.table.get(resource)?.shared())
    }
}

impl pg::Host for HostState {}

impl variables::Host for HostState {}

impl<T> variables::HostWithStore<T> for HasSelf<HostState> {
    async fn get(
        accessor: &Accessor<T, Self>,
        name: String,
    ) -> wasmtime::Result<Result<String, variables::Error>> {
        Ok(accessor.with(|mut access| {
            let state = access.get();
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(variables::Error::InvalidName(name));
            }
            state
                .component
                .variables
                .get(&name)
                .cloned()
                .ok_or(variables::Error::Undefined(format!(
                    "no variable `{name}` for this component"
                )))
        }))
    }
}

impl pg::HostConnectionBuilder for HostState {
    async fn new(&mut self, address: String) -> wasmtime::Result<Resource<PgConnectionBuilder>> {
        Ok(self.table.push(PgConnectionBuilder { address })?)
    }

    async fn set_ca_root(
        &mut self,
        _builder: Resource<PgConnectionBuilder>,
        _certificate: String,
    ) -> wasmtime::Result<Result<(), PgError>> {
        Ok(Err(PgError::Other(
            "custom CA roots are not supported by this runtime".into(),
        )))
    }

    async fn build(
        &mut self,
        builder: Resource<PgConnectionBuilder>,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        let address = self.table.get(&builder)?.address.clone();
        pg::HostConnection::open(self, address).await
    }

    async fn drop(&mut self, builder: Resource<PgConnectionBuilder>) -> wasmtime::Result<()> {
        self.table.delete(builder)?;
        Ok(())
    }
}

impl<T> pg::HostConnectionBuilderWithStore<T> for HasSelf<HostState> {
    async fn build_async(
        accessor: &Accessor<T, Self>,
        builder: Resource<PgConnectionBuilder>,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        let address = accessor.with(|mut access| -> wasmtime::Result<String> {
            Ok(access.get().table.get(&builder)?.address.clone())
        })?;
        open_async(accessor, address).await
    }
}

async fn open_async<T>(
    accessor: &Accessor<T, HasSelf<HostState>>,
    address: String,
) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
    let pool = match accessor.with(|mut access| access.get().open_pg(&address)) {
        Ok(pool) => pool,
        Err(error) => return Ok(Err(error)),
    };
    let connection = match PgConnection::open(pool).await {
        Ok(connection) => connection,
        Err(error) => return Ok(Err(error)),
    };
    accessor.with(|mut access| Ok(Ok(access.get().table.push(connection)?)))
}

impl pg::HostConnection for HostState {
    async fn open(
        &mut self,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        let pool = match self.open_pg(&address) {
            Ok(pool) => pool,
            Err(error) => return Ok(Err(error)),
        };
        match PgConnection::open(pool).await {
            Ok(connection) => Ok(Ok(self.table.push(connection)?)),
            Err(error) => Ok(Err(error)),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, PgError>> {
        let connection = self.connection(&connection)?;
        Ok(connection.query(statement, params).await)
    }

    async fn execute(
        &mut self,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, PgError>> {
        let connection = self.connection(&connection)?;
        Ok(connection.execute(statement, params).await)
    }

    async fn drop(&mut self, connection: Resource<PgConnection>) -> wasmtime::Result<()> {
        // Dropping the last handle returns the connection to the pool, whose release hook
        // rolls back anything left open.
        self.table.delete(connection)?;
        Ok(())
    }
}

type QueryStreams = (
    Vec<Column>,
    StreamReader<Vec<DbValue>>,
    FutureReader<Result<(), PgError>>,
);

impl<T> pg::HostConnectionWithStore<T> for HasSelf<HostState> {
    async fn open_async(
        accessor: &Accessor<T, Self>,
        address: String,
    ) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        open_async(accessor, address).await
    }

    async fn query_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<QueryStreams, PgError>> {
        let connection = accessor.with(|mut access| access.get().connection(&connection))?;
        let RowSet { columns, rows } = match connection.query(statement, params).await {
            Ok(row_set) => row_set,
            Err(error) => return Ok(Err(error)),
        };
        accessor.with(|mut access| {
            let rows = StreamReader::new(&mut access, rows)?;
            let done = FutureReader::new(&mut access, async {
                wasmtime::Result::<Result<(), PgError>>::Ok(Ok(()))
            })?;
            Ok(Ok((columns, rows, done)))
        })
    }

    async fn execute_async(
        accessor: &Accessor<T, Self>,
        connection: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, PgError>> {
        let connection = accessor.with(|mut access| access.get().connection(&connection))?;
        Ok(connection.execute(statement, params).await)
    }
}
