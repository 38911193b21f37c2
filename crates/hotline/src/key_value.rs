//! `spin:key-value/key-value@3.0.0`, kept in PostgreSQL.
//!
//! A component opens only the stores its manifest lists in `key_value_stores`, as in Spin. Every
//! store is a slice of one table in the runtime's own database (`hotline_runtime.key_value`), so a
//! value outlives the instance that wrote it, survives restarts, and is seen by every runtime
//! serving the same database: what a cached provider access token needs, since a fresh instance
//! may serve each request.

// The error type is the interface's own (`spin:key-value` `error`), handed to the guest by value.
#![allow(clippy::result_large_err)]

use crate::bindings::spin::key_value::key_value::{self as kv, Error};
use crate::host::HostState;
use anyhow::Context;
use sqlx::PgPool;
use wasmtime::component::{Accessor, FutureReader, HasSelf, Resource, StreamReader};

/// The longest key and the largest value a store accepts.
pub const MAX_KEY_BYTES: usize = 256;
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// The backing table, shared by every component; each lane has a pool of its own.
#[derive(Debug, Clone)]
pub struct KeyValue {
    pool: PgPool,
}

/// An open store: the guest's `store` resource.
#[derive(Debug)]
pub struct KvStore {
    label: String,
}

impl KeyValue {
    /// Connects to the runtime's database and creates the table on first use.
    pub async fn connect(url: &str) -> anyhow::Result<KeyValue> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(url)
            .await
            .context("connecting the key-value store to PostgreSQL")?;
        // Two runtimes starting at once may both try to create the table; the advisory lock
        // makes the second wait for the first instead of failing on a duplicate type.
        let mut tx = pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock(hashtext('hotline_runtime.key_value'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query("create schema if not exists hotline_runtime")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "create table if not exists hotline_runtime.key_value ( \
                 store text not null, \
                 key text not null, \
                 value bytea not null, \
                 updated_at timestamptz not null default now(), \
                 primary key (store, key))",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(KeyValue { pool })
    }

    async fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        sqlx::query_scalar(
            "select value from hotline_runtime.key_value where store = $1 and key = $2",
        )
        .bind(store)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(failed)
    }

    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::Other(format!(
                "a value may be at most {MAX_VALUE_BYTES} bytes, this one is {}",
                value.len()
            )));
        }
        sqlx::query(
            "insert into hotline_runtime.key_value (store, key, value) values ($1, $2, $3) \
             on conflict (store, key) do update set value = excluded.value, updated_at = now()",
        )
        .bind(store)
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(failed)
    }

    async fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        sqlx::query("delete from hotline_runtime.key_value where store = $1 and key = $2")
            .bind(store)
            .bind(key)
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn keys(&self, store: &str) -> Result<Vec<String>, Error> {
        sqlx::query_scalar(
            "select key from hotline_runtime.key_value where store = $1 order by key",
        )
        .bind(store)
        .fetch_all(&self.pool)
        .await
        .map_err(failed)
    }
}

fn failed(error: sqlx::Error) -> Error {
    tracing::warn!(%error, "key-value store failed");
    Error::Other("the key-value store is unavailable".into())
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::Other(format!(
            "a key may be at most {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The backing table and the store behind `resource`, for one call.
fn open_store<T>(
    accessor: &Accessor<T, HasSelf<HostState>>,
    resource: &Resource<KvStore>,
) -> wasmtime::Result<Result<(KeyValue, String), Error>> {
    accessor.with(|mut access| {
        let state = access.get();
        let label = state.table.get(resource)?.label.clone();
        Ok(state.key_value().map(|backend| (backend, label)))
    })
}

impl HostState {
    fn key_value(&self) -> Result<KeyValue, Error> {
        self.app
            .upgrade()
            .and_then(|app| app.key_value.clone())
            .ok_or_else(|| Error::Other("no key-value store is configured".into()))
    }
}

impl kv::Host for HostState {}

impl kv::HostStore for HostState {
    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl<T> kv::HostStoreWithStore<T> for HasSelf<HostState> {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KvStore>, Error>> {
        accessor.with(|mut access| {
            let state = access.get();
            if !state.component.key_value_stores.contains(&label) {
                // Spin does not say whether a store it would not open exists.
                return Ok(Err(Error::AccessDenied));
            }
            if let Err(error) = state.key_value() {
                return Ok(Err(error));
            }
            Ok(Ok(state.table.push(KvStore { label })?))
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let (backend, label) = match open_store(accessor, &store)? {
            Ok(opened) => opened,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        Ok(backend.get(&label, &key).await)
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let (backend, label) = match open_store(accessor, &store)? {
            Ok(opened) => opened,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = check_key(&key) {
            return Ok(Err(error));
        }
        Ok(backend.set(&label, &key, &value).await)
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let (backend, label) = match open_store(accessor, &store)? {
            Ok(opened) => opened,
            Err(error) => return Ok(Err(error)),
        };
        Ok(backend.delete(&label, &key).await)
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let (backend, label) = match open_store(accessor, &store)? {
            Ok(opened) => opened,
            Err(error) => return Ok(Err(error)),
        };
        Ok(backend.get(&label, &key).await.map(|value| value.is_some()))
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<KvStore>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), Error>>)> {
        let listed = match open_store(accessor, &store)? {
            Ok((backend, label)) => backend.keys(&label).await,
            Err(error) => Err(error),
        };
        let (keys, outcome) = match listed {
            Ok(keys) => (keys, Ok(())),
            Err(error) => (Vec::new(), Err(error)),
        };
        accessor.with(|mut access| {
            let keys = StreamReader::new(&mut access, keys)?;
            let done = FutureReader::new(&mut access, async move {
                wasmtime::Result::<Result<(), Error>>::Ok(outcome)
            })?;
            Ok((keys, done))
        })
    }
}
