//! `spin:postgres/postgres@4.2.0` on pooled `sqlx` connections.
//!
//! A `connection` resource holds one pooled connection from `open` until the guest drops it, so
//! `BEGIN ... COMMIT` works across calls. Whatever a guest leaves open (an error, a trap, a leaked
//! resource, a request cut off by its deadline) is rolled back before the connection serves anyone
//! else: a connection that may hold an open transaction is rolled back on release, and closed if
//! that fails. Statements are prepared one at a time, so a transaction can only begin with a
//! statement that starts with `BEGIN` or `START` (or ends in `AND CHAIN`); connections that never
//! ran one go back to the pool without a round trip.
//!
//! The pool is our own (`ConnectionPool`), not sqlx's: sqlx's pings every connection as it comes
//! back (a round trip, and a wake-up of the server process, each time a guest drops a connection —
//! two of a tracking request's four round trips). Here a connection goes back as it is, unless it
//! may hold a transaction (rolled back first) or a statement failed other than with its own error
//! (a lost connection, a protocol error, a FATAL: dropped). A statement cut off mid-way leaves its
//! answer unread; sqlx reads it before the connection's next statement.
//!
//! Parameters: the statement is prepared first so that the server settles each parameter's type;
//! each guest value is then encoded for that type (a string for a `uuid` column is parsed as a
//! uuid, an `int32` for an `int8` column is widened). Results are decoded by column type.

// The error type is the interface's own (`spin:postgres` `error`), handed to the guest by value.
#![allow(clippy::result_large_err)]

use crate::bindings::spin::postgres::postgres::{
    Column, DbDataType, DbError, DbValue, Error as PgError, Interval, ParameterValue, QueryError,
    RangeBoundKind, RowSet,
};
use crate::outbound::OutboundPolicy;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;
use sqlx::postgres::types::{PgInterval, PgRange};
use sqlx::postgres::{
    PgArgumentBuffer, PgArguments, PgConnectOptions, PgRow, PgTypeInfo, Postgres,
};
use sqlx::{
    Arguments, Column as _, Either, Executor, Row, SqlSafeStr, Statement, TypeInfo, ValueRef,
};
use std::collections::HashMap;
use std::ops::Bound;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// The server settings of every connection the runtime opens for a component, besides its
/// statement timeout: no statement is compiled to machine code (`jit`). PostgreSQL compiles a
/// statement it expects to cost past `jit_above_cost`, which the platform's reports over
/// millions of orders do, and optimizes and inlines the code past `jit_optimize_above_cost`.
/// Over ten million orders (2 cores, psql, the bench's statements, in turns): the month's KPI
/// report by agency took 3.2 to 5.4 s compiled (2.5 s of it compiling, 213 functions) and 2.7 to
/// 2.8 s not; the hot spots by grid, 1.5 to 1.7 s against 0.73 to 0.87. The platform's other
/// statements read a few rows by index and are never expected to cost that much, except a
/// search's for words PostgreSQL cannot know to be rare (which turns it off itself,
/// `order_store::search::SEARCH_SETTINGS`, for a Spin host whose connections are not ours).
const SERVER_SETTINGS: [(&str, &str); 1] = [("jit", "off")];

/// A pooled connection idle for longer than this is checked before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);
/// A pooled connection idle for longer than this is closed (the pool shrinks after a busy spell).
const CLOSE_AFTER_IDLE: Duration = Duration::from_secs(600);
/// A connection this old is closed when it comes back, so that no server process lives forever
/// (its caches grow with every statement it has seen; sqlx's own pool does the same).
const MAX_LIFETIME: Duration = Duration::from_secs(1800);
/// How long `open` waits for a free connection when all are in use.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times the runtime has started its private cluster's server again while serving
/// (`cluster::keep_running`). A connection made before the latest start is to a server process
/// that is gone.
static SERVER_STARTS: AtomicU64 = AtomicU64::new(0);

/// Says that the database's server was started again: the connections pooled before are not
/// handed out (each would fail its first statement), but closed as they come up.
pub fn server_restarted() {
    SERVER_STARTS.fetch_add(1, Relaxed);
}

/// When a connection was made, and to which start of the server.
#[derive(Clone, Copy, Debug)]
struct Born {
    at: std::time::Instant,
    server: u64,
}

impl Born {
    fn now() -> Born {
        Born {
            at: std::time::Instant::now(),
            server: SERVER_STARTS.load(Relaxed),
        }
    }

    fn elapsed(&self) -> Duration {
        self.at.elapsed()
    }

    /// Whether the server was started again since (`server_restarted`).
    fn before_a_restart(self) -> bool {
        self.server != SERVER_STARTS.load(Relaxed)
    }
}

/// Pools by connection address, shared by every component instance of one lane (see `lanes.rs`).
#[derive(Debug)]
pub struct PgPools {
    /// Each address with the host and port it names, parsed once: parsing one (sqlx reads the
    /// `PG*` environment and looks for certificate files) cost more than the rest of an `open`.
    pools: Mutex<HashMap<String, Pooled>>,
    max_connections: u32,
    statement_timeout: Duration,
    /// The folder of the Unix socket of the runtime's own database, if its URL names one.
    socket: Option<PathBuf>,
}

impl PgPools {
    pub fn new(
        max_connections: u32,
        statement_timeout: Duration,
        socket: Option<PathBuf>,
    ) -> PgPools {
        PgPools {
            pools: Mutex::new(HashMap::new()),
            max_connections,
            statement_timeout,
            socket,
        }
    }

    /// The pool for `address`, created on first use. The address must be allowed by `policy`,
    /// by the host and port it names. An address may name a Unix socket (`?host=/folder`) only
    /// if it is the runtime's own database's: the policy speaks of hosts and ports, so any other
    /// socket would reach a server that no `allowed_outbound_hosts` entry allowed.
    pub fn pool_for(
        &self,
        address: &str,
        policy: &OutboundPolicy,
    ) -> Result<Arc<ConnectionPool>, PgError> {
        let allowed = |host: &str, port: u16| {
            if policy.allows("postgres", host, port) {
                Ok(())
            } else {
                Err(PgError::ConnectionFailed(format!(
                    "postgres://{host}:{port} is not in this component's allowed_outbound_hosts"
                )))
            }
        };
        if let Some(pooled) = self
            .pools
            .lock()
            .expect("pool map lock is never poisoned")
            .get(address)
        {
            allowed(&pooled.host, pooled.port)?;
            return Ok(pooled.pool.clone());
        }
        let options = PgConnectOptions::from_str(address)
            .map_err(|e| PgError::ConnectionFailed(format!("invalid Postgres address: {e}")))?;
        let (host, port) = (options.get_host().to_owned(), options.get_port());
        allowed(&host, port)?;
        if let Some(socket) = options.get_socket()
            && self.socket.as_ref() != Some(socket)
        {
            return Err(PgError::ConnectionFailed(format!(
                "the Unix socket {} is not the runtime's database; name a server by host and port",
                socket.display()
            )));
        }
        let mut pools = self.pools.lock().expect("pool map lock is never poisoned");
        if let Some(pooled) = pools.get(address) {
            return Ok(pooled.pool.clone());
        }
        let timeout_ms = self.statement_timeout.as_millis().to_string();
        let options = options
            .options([("statement_timeout", timeout_ms.as_str())])
            .options(SERVER_SETTINGS);
        let pool = Arc::new(ConnectionPool {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(tokio::sync::Semaphore::new(self.max_connections as usize)),
            max: self.max_connections,
            counters: PoolCounters::default(),
            losses: AtomicU64::new(0),
        });
        pools.insert(
            address.to_owned(),
            Pooled {
                host,
                port,
                pool: pool.clone(),
            },
        );
        Ok(pool)
    }

    /// Every pool's state and counters, added up (for the metrics).
    pub fn figures(&self) -> crate::metrics::PoolFigures {
        let pools = self.pools.lock().expect("pool map lock is never poisoned");
        let mut figures = crate::metrics::PoolFigures::default();
        for pooled in pools.values() {
            figures += pooled.pool.figures();
        }
        figures
    }
}

#[derive(Debug)]
struct Pooled {
    host: String,
    port: u16,
    pool: Arc<ConnectionPool>,
}

/// The connections to one address: at most `permits` at once, idle ones kept most recent last
/// (the next `open` takes the one whose server process ran last: warm caches, and the rest
/// age out).
#[derive(Debug)]
pub struct ConnectionPool {
    options: PgConnectOptions,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<tokio::sync::Semaphore>,
    max: u32,
    counters: PoolCounters,
    /// How many of its connections were lost in use (`Lease::note`). The connections idle at the
    /// time are checked before they are handed out (`Idle::losses`): a server restarted, or a
    /// failover, ends them all, and each would fail the first statement of a request.
    losses: AtomicU64,
}

/// What a pool counts, for the metrics (relaxed: each lane's pools are its own).
#[derive(Debug, Default)]
struct PoolCounters {
    opened: AtomicU64,
    acquire_timeouts: AtomicU64,
    statements: AtomicU64,
    statement_errors: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Debug)]
struct Idle {
    conn: sqlx::PgConnection,
    since: std::time::Instant,
    born: Born,
    /// The pool's `losses` when it went idle.
    losses: u64,
}

impl ConnectionPool {
    fn figures(&self) -> crate::metrics::PoolFigures {
        let idle = self.idle.lock().expect("idle list lock").len() as u64;
        let max = u64::from(self.max);
        let counters = &self.counters;
        crate::metrics::PoolFigures {
            max,
            in_use: max.saturating_sub(self.permits.available_permits() as u64),
            idle,
            opened: counters.opened.load(Relaxed),
            acquire_timeouts: counters.acquire_timeouts.load(Relaxed),
            statements: counters.statements.load(Relaxed),
            statement_errors: counters.statement_errors.load(Relaxed),
            dropped: counters.dropped.load(Relaxed),
        }
    }

    /// A connection for one guest resource: an idle one (checked first if it sat idle a while,
    /// or if another of the pool's was lost since it went idle), or a new one; waits up to
    /// `ACQUIRE_TIMEOUT` when all are in use.
    async fn acquire(self: &Arc<Self>) -> Result<Lease, PgError> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                self.counters.acquire_timeouts.fetch_add(1, Relaxed);
                PgError::ConnectionFailed(format!(
                    "no database connection came free within {} s",
                    ACQUIRE_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|_| PgError::ConnectionFailed("the pool is closed".into()))?;
        loop {
            let idle = self.idle.lock().expect("idle list lock").pop();
            let Some(Idle {
                mut conn,
                since,
                born,
                losses,
            }) = idle
            else {
                let conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&self.options)
                    .await
                    .map_err(|e| PgError::ConnectionFailed(e.to_string()))?;
                self.counters.opened.fetch_add(1, Relaxed);
                return Ok(self.lease(conn, Born::now(), permit));
            };
            if born.before_a_restart() {
                // Its server process went with the server: dropped unused.
                self.counters.dropped.fetch_add(1, Relaxed);
                continue;
            }
            if since.elapsed() <= PING_AFTER_IDLE && losses == self.losses.load(Relaxed) {
                return Ok(self.lease(conn, born, permit));
            }
            match sqlx::Connection::ping(&mut conn).await {
                Ok(()) => return Ok(self.lease(conn, born, permit)),
                // Gone while idle (a restarted server, a dropped network path, a connection
                // ended by an administrator): try the next.
                Err(error) => tracing::debug!(%error, "dropping a dead idle connection"),
            }
        }
    }

    fn lease(
        self: &Arc<Self>,
        conn: sqlx::PgConnection,
        born: Born,
        permit: OwnedSemaphorePermit,
    ) -> Lease {
        Lease {
            conn: Some(conn),
            born,
            maybe_in_transaction: false,
            broken: false,
            pool: self.clone(),
            permit: Some(permit),
        }
    }

    /// Puts `conn` back, most recent last (or closes it past `MAX_LIFETIME`), and closes those
    /// idle for over `CLOSE_AFTER_IDLE`.
    fn release(&self, conn: sqlx::PgConnection, born: Born) {
        let mut closing: Vec<sqlx::PgConnection> = Vec::new();
        {
            let mut idle = self.idle.lock().expect("idle list lock");
            if born.elapsed() > MAX_LIFETIME || born.before_a_restart() {
                closing.push(conn);
            } else {
                idle.push(Idle {
                    conn,
                    since: std::time::Instant::now(),
                    born,
                    losses: self.losses.load(Relaxed),
                });
            }
            let fresh = idle
                .iter()
                .position(|i| i.since.elapsed() <= CLOSE_AFTER_IDLE)
                .unwrap_or(idle.len());
            closing.extend(idle.drain(..fresh).map(|i| i.conn));
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            for conn in closing {
                runtime.spawn(sqlx::Connection::close(conn));
            }
        }
    }
}

/// The host side of a guest's `connection` resource.
pub struct PgConnection {
    conn: Arc<tokio::sync::Mutex<Lease>>,
}

/// A pooled connection lent to a guest resource, whether a transaction may be open on it, and
/// whether it failed in a way that leaves it unusable. Its permit returns when it is dropped.
struct Lease {
    conn: Option<sqlx::PgConnection>,
    born: Born,
    maybe_in_transaction: bool,
    broken: bool,
    pool: Arc<ConnectionPool>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Lease {
    fn conn(&mut self) -> &mut sqlx::PgConnection {
        self.conn
            .as_mut()
            .expect("the connection is held until the resource is dropped")
    }

    /// A statement's outcome: an error other than a statement's own (a lost connection, a
    /// protocol error, a FATAL from a server process that is ending the session) means the
    /// connection is not given out again.
    fn note<T>(&mut self, outcome: Result<T, sqlx::Error>) -> Result<T, PgError> {
        if let Err(error) = &outcome {
            self.pool.counters.statement_errors.fetch_add(1, Relaxed);
            let session_ended = match error {
                sqlx::Error::Database(db) => db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some_and(|pg| {
                        matches!(
                            pg.severity(),
                            sqlx::postgres::PgSeverity::Fatal | sqlx::postgres::PgSeverity::Panic
                        )
                    }),
                _ => true,
            };
            if session_ended && !self.broken {
                self.pool.losses.fetch_add(1, Relaxed);
            }
            self.broken |= session_ended;
        }
        outcome.map_err(query_failed)
    }

    /// Before `statement` is sent: if it may open a transaction, assume it does, so that a
    /// request cut off mid-statement still rolls back.
    fn before(&mut self, statement: &str) {
        self.pool.counters.statements.fetch_add(1, Relaxed);
        let (first, chains) = transaction_words(statement);
        if is_one_of(first, &["begin", "start"]) || chains {
            self.maybe_in_transaction = true;
        }
    }

    /// After `statement` succeeded: a plain COMMIT or ROLLBACK closed the transaction.
    fn after(&mut self, statement: &str) {
        let (first, chains) = transaction_words(statement);
        if is_one_of(first, &["commit", "rollback", "end", "abort"]) && !chains {
            self.maybe_in_transaction = false;
        }
    }
}

/// The statement's first word, and whether it ends in `AND CHAIN`. (Only those two are looked
/// at, and nothing is copied: statements run to kilobytes, and this runs twice per statement.)
fn transaction_words(statement: &str) -> (&str, bool) {
    let words = statement.trim().trim_end_matches(';').trim_end();
    let first = words
        .split(|c: char| c.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    let chains =
        words.len() >= 5 && words.as_bytes()[words.len() - 5..].eq_ignore_ascii_case(b"chain");
    (first, chains)
}

/// Whether `word` is one of `words`, in any case.
fn is_one_of(word: &str, words: &[&str]) -> bool {
    words.iter().any(|w| word.eq_ignore_ascii_case(w))
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.broken {
            self.pool.counters.dropped.fetch_add(1, Relaxed);
            return; // dropped: the server ends the session, and any transaction, uncommitted
        }
        if !self.maybe_in_transaction {
            self.pool.release(conn, self.born); // back as it is, without a round trip
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // The permit stays taken until the rollback is done.
        let (pool, permit, born) = (self.pool.clone(), self.permit.take(), self.born);
        runtime.spawn(async move {
            // If the rollback fails the connection is dropped, which ends the server's
            // transaction without committing it.
            if conn.execute("rollback").await.is_ok() {
                pool.release(conn, born);
            }
            drop(permit);
        });
    }
}

/// The host side of a guest's `connection-builder` resource.
pub struct PgConnectionBuilder {
    pub address: String,
}

impl PgConnection {
    pub async fn open(pool: Arc<ConnectionPool>) -> Result<PgConnection, PgError> {
        let lease = pool.acquire().await?;
        Ok(PgConnection {
            conn: Arc::new(tokio::sync::Mutex::new(lease)),
        })
    }

    pub fn shared(&self) -> PgConnection {
        PgConnection {
            conn: self.conn.clone(),
        }
    }

    pub async fn query(
        &self,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<RowSet, PgError> {
        let mut held = self.conn.lock().await;
        held.before(&statement);
        let (args, columns) = prepare_arguments(&mut held, &statement, params).await?;
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(statement.clone()), args)
            .fetch_all(held.conn())
            .await;
        let rows = held.note(rows)?;
        held.after(&statement);
        let rows = rows.iter().map(decode_row).collect::<Result<Vec<_>, _>>()?;
        Ok(RowSet { columns, rows })
    }

    pub async fn execute(
        &self,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Result<u64, PgError> {
        let mut held = self.conn.lock().await;
        held.before(&statement);
        let (args, _) = prepare_arguments(&mut held, &statement, params).await?;
        let done = sqlx::query_with(sqlx::AssertSqlSafe(statement.clone()), args)
            .execute(held.conn())
            .await;
        let done = held.note(done)?;
        held.after(&statement);
        Ok(done.rows_affected())
    }
}

async fn prepare_arguments(
    held: &mut Lease,
    statement: &str,
    params: Vec<ParameterValue>,
) -> Result<(PgArguments, Vec<Column>), PgError> {
    let prepared = held
        .conn()
        .prepare(sqlx::AssertSqlSafe(statement.to_owned()).into_sql_str())
        .await;
    let prepared = held.note(prepared)?;
    let types: Vec<PgTypeInfo> = match prepared.parameters() {
        Some(Either::Left(types)) => types.to_vec(),
        Some(Either::Right(count)) => vec![PgTypeInfo::with_name("TEXT"); count],
        None => Vec::new(),
    };
    if types.len() != params.len() {
        return Err(PgError::BadParameter(format!(
            "the statement takes {} parameters, {} were given",
            types.len(),
            params.len()
        )));
    }
    let columns = prepared
        .columns()
        .iter()
        .map(|c| describe_column(c.name(), c.type_info()))
        .collect();
    let mut args = PgArguments::default();
    for (index, (value, ty)) in params.into_iter().zip(types).enumerate() {
        encode_parameter(&mut args, value, &ty)
            .map_err(|e| PgError::BadParameter(format!("parameter ${}: {e}", index + 1)))?;
    }
    Ok((args, columns))
}

/// A value encoded by one of sqlx's encoders but sent as the type the server inferred.
struct As<T> {
    value: T,
    ty: PgTypeInfo,
}

impl<T: sqlx::Type<Postgres>> sqlx::Type<Postgres> for As<T> {
    fn type_info() -> PgTypeInfo {
        T::type_info()
    }
    fn compatible(_: &PgTypeInfo) -> bool {
        true
    }
}

impl<'q, T: sqlx::Encode<'q, Postgres>> sqlx::Encode<'q, Postgres> for As<T> {
    fn encode_by_ref(
        &self,
        buf: &mut PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        self.value.encode_by_ref(buf)
    }
    fn produces(&self) -> Option<PgTypeInfo> {
        Some(self.ty.clone())
    }
}

fn add<T>(args: &mut PgArguments, value: T, ty: &PgTypeInfo) -> Result<(), String>
where
    T: for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
{
    args.add(As {
        value,
        ty: ty.clone(),
    })
    .map_err(|e| e.to_string())
}

fn parse<T: FromStr>(text: &str, what: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|e| format!("`{text}` is not a valid {what}: {e}"))
}

fn int_for(ty: &str, value: i64, args: &mut PgArguments, info: &PgTypeInfo) -> Result<(), String> {
    let out_of_range = || format!("{value} does not fit {ty}");
    match ty {
        "INT2" => add(
            args,
            i16::try_from(value).map_err(|_| out_of_range())?,
            info,
        ),
        "INT4" => add(
            args,
            i32::try_from(value).map_err(|_| out_of_range())?,
            info,
        ),
        "INT8" => add(args, value, info),
        "FLOAT4" => add(args, value as f32, info),
        "FLOAT8" => add(args, value as f64, info),
        "NUMERIC" => add(args, Decimal::from(value), info),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => add(args, value.to_string(), info),
        _ => Err(format!("an integer cannot be sent as {ty}")),
    }
}

fn encode_parameter(
    args: &mut PgArguments,
    value: ParameterValue,
    info: &PgTypeInfo,
) -> Result<(), String> {
    let ty = info.name().to_owned();
    let ty = ty.as_str();
    match value {
        ParameterValue::DbNull => add(args, Option::<String>::None, info),
        ParameterValue::Boolean(b) => match ty {
            "BOOL" => add(args, b, info),
            _ => Err(format!("a boolean cannot be sent as {ty}")),
        },
        ParameterValue::Int8(n) => int_for(ty, n.into(), args, info),
        ParameterValue::Int16(n) => int_for(ty, n.into(), args, info),
        ParameterValue::Int32(n) => int_for(ty, n.into(), args, info),
        ParameterValue::Int64(n) => int_for(ty, n, args, info),
        ParameterValue::Floating32(f) => match ty {
            "FLOAT4" => add(args, f, info),
            "FLOAT8" => add(args, f64::from(f), info),
            "NUMERIC" => add(args, Decimal::try_from(f).map_err(|e| e.to_string())?, info),
            _ => Err(format!("a float cannot be sent as {ty}")),
        },
        ParameterValue::Floating64(f) => match ty {
            "FLOAT4" => add(args, f as f32, info),
            "FLOAT8" => add(args, f, info),
            "NUMERIC" => add(args, Decimal::try_from(f).map_err(|e| e.to_string())?, info),
            _ => Err(format!("a float cannot be sent as {ty}")),
        },
        ParameterValue::Str(s) => encode_text(args, s, ty, info),
        ParameterValue::Binary(bytes) => match ty {
            "BYTEA" => add(args, bytes, info),
            _ => Err(format!("binary data cannot be sent as {ty}")),
        },
        ParameterValue::Date((y, m, d)) => {
            let date = NaiveDate::from_ymd_opt(y, m.into(), d.into()).ok_or("invalid date")?;
            match ty {
                "DATE" => add(args, date, info),
                _ => Err(format!("a date cannot be sent as {ty}")),
            }
        }
        ParameterValue::Time((h, mi, s, ns)) => {
            let time = NaiveTime::from_hms_nano_opt(h.into(), mi.into(), s.into(), ns)
                .ok_or("invalid time")?;
            match ty {
                "TIME" => add(args, time, info),
                _ => Err(format!("a time cannot be sent as {ty}")),
            }
        }
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            let datetime = NaiveDate::from_ymd_opt(y, mo.into(), d.into())
                .and_then(|date| date.and_hms_nano_opt(h.into(), mi.into(), s.into(), ns))
                .ok_or("invalid date-time")?;
            encode_datetime(args, datetime, ty, info)
        }
        ParameterValue::Timestamp(seconds) => {
            let datetime =
                chrono::DateTime::from_timestamp(seconds, 0).ok_or("timestamp out of range")?;
            encode_datetime(args, datetime.naive_utc(), ty, info)
        }
        ParameterValue::Uuid(text) => match ty {
            "UUID" => add(args, parse::<uuid::Uuid>(&text, "uuid")?, info),
            _ => encode_text(args, text, ty, info),
        },
        ParameterValue::Jsonb(bytes) => {
            let json: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| format!("invalid JSON: {e}"))?;
            match ty {
                "JSONB" | "JSON" => add(args, sqlx::types::Json(json), info),
                _ => Err(format!("JSON cannot be sent as {ty}")),
            }
        }
        ParameterValue::Decimal(text) => match ty {
            "NUMERIC" => add(args, parse::<Decimal>(&text, "decimal")?, info),
            _ => encode_text(args, text, ty, info),
        },
        ParameterValue::RangeInt32((lower, upper)) => match ty {
            "INT4RANGE" => add(args, range(lower, upper), info),
            _ => Err(format!("an int4 range cannot be sent as {ty}")),
        },
        ParameterValue::RangeInt64((lower, upper)) => match ty {
            "INT8RANGE" => add(args, range(lower, upper), info),
            _ => Err(format!("an int8 range cannot be sent as {ty}")),
        },
        ParameterValue::RangeDecimal((lower, upper)) => {
            let parse_bound = |b: Option<(String, RangeBoundKind)>| -> Result<_, String> {
                b.map(|(v, k)| Ok((parse::<Decimal>(&v, "decimal")?, k)))
                    .transpose()
            };
            match ty {
                "NUMRANGE" => add(args, range(parse_bound(lower)?, parse_bound(upper)?), info),
                _ => Err(format!("a decimal range cannot be sent as {ty}")),
            }
        }
        ParameterValue::ArrayInt32(values) => match ty {
            "INT4[]" => add(args, values, info),
            "INT8[]" => add(
                args,
                values
                    .into_iter()
                    .map(|v| v.map(i64::from))
                    .collect::<Vec<_>>(),
                info,
            ),
            _ => Err(format!("an int4 array cannot be sent as {ty}")),
        },
        ParameterValue::ArrayInt64(values) => match ty {
            "INT8[]" => add(args, values, info),
            _ => Err(format!("an int8 array cannot be sent as {ty}")),
        },
        ParameterValue::ArrayDecimal(values) => match ty {
            "NUMERIC[]" => {
                let values = values
                    .into_iter()
                    .map(|v| v.map(|v| parse::<Decimal>(&v, "decimal")).transpose())
                    .collect::<Result<Vec<_>, _>>()?;
                add(args, values, info)
            }
            _ => Err(format!("a decimal array cannot be sent as {ty}")),
        },
        ParameterValue::ArrayStr(values) => match ty {
            "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => add(args, values, info),
            "UUID[]" => {
                let values = values
                    .into_iter()
                    .map(|v| v.map(|v| parse::<uuid::Uuid>(&v, "uuid")).transpose())
                    .collect::<Result<Vec<_>, _>>()?;
                add(args, values, info)
            }
            _ => Err(format!("a string array cannot be sent as {ty}")),
        },
        ParameterValue::Interval(Interval {
            micros,
            days,
            months,
        }) => match ty {
            "INTERVAL" => add(
                args,
                PgInterval {
                    months,
                    days,
                    microseconds: micros,
                },
                info,
            ),
            _ => Err(format!("an interval cannot be sent as {ty}")),
        },
    }
}

/// A string parameter, parsed for the type the server settled on.
fn encode_text(
    args: &mut PgArguments,
    text: String,
    ty: &str,
    info: &PgTypeInfo,
) -> Result<(), String> {
    match ty {
        "BOOL" => add(args, parse::<bool>(&text, "boolean")?, info),
        "INT2" => add(args, parse::<i16>(&text, "int2")?, info),
        "INT4" => add(args, parse::<i32>(&text, "int4")?, info),
        "INT8" => add(args, parse::<i64>(&text, "int8")?, info),
        "FLOAT4" => add(args, parse::<f32>(&text, "float4")?, info),
        "FLOAT8" => add(args, parse::<f64>(&text, "float8")?, info),
        "NUMERIC" => add(args, parse::<Decimal>(&text, "decimal")?, info),
        "UUID" => add(args, parse::<uuid::Uuid>(&text, "uuid")?, info),
        "DATE" => add(args, parse::<NaiveDate>(&text, "date")?, info),
        "TIMESTAMPTZ" => add(
            args,
            chrono::DateTime::parse_from_rfc3339(&text)
                .map_err(|e| format!("`{text}` is not an RFC 3339 date-time: {e}"))?
                .to_utc(),
            info,
        ),
        "JSONB" | "JSON" => add(
            args,
            sqlx::types::Json(
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| format!("invalid JSON: {e}"))?,
            ),
            info,
        ),
        // Text, and types whose binary form is their text (enums, citext, ...).
        _ => add(args, text, info),
    }
}

fn encode_datetime(
    args: &mut PgArguments,
    datetime: NaiveDateTime,
    ty: &str,
    info: &PgTypeInfo,
) -> Result<(), String> {
    match ty {
        "TIMESTAMP" => add(args, datetime, info),
        "TIMESTAMPTZ" => add(args, datetime.and_utc(), info),
        "DATE" => add(args, datetime.date(), info),
        _ => Err(format!("a date-time cannot be sent as {ty}")),
    }
}

fn bound<T>(bound: Option<(T, RangeBoundKind)>) -> Bound<T> {
    match bound {
        None => Bound::Unbounded,
        Some((v, RangeBoundKind::Inclusive)) => Bound::Included(v),
        Some((v, RangeBoundKind::Exclusive)) => Bound::Excluded(v),
    }
}

fn range<T>(lower: Option<(T, RangeBoundKind)>, upper: Option<(T, RangeBoundKind)>) -> PgRange<T> {
    PgRange {
        start: bound(lower),
        end: bound(upper),
    }
}

fn unbound<T>(bound: Bound<T>) -> Option<(T, RangeBoundKind)> {
    match bound {
        Bound::Unbounded => None,
        Bound::Included(v) => Some((v, RangeBoundKind::Inclusive)),
        Bound::Excluded(v) => Some((v, RangeBoundKind::Exclusive)),
    }
}

fn data_type(info: &PgTypeInfo) -> DbDataType {
    match info.name() {
        "BOOL" => DbDataType::Boolean,
        "\"CHAR\"" => DbDataType::Int8,
        "INT2" => DbDataType::Int16,
        "INT4" => DbDataType::Int32,
        "INT8" => DbDataType::Int64,
        "FLOAT4" => DbDataType::Floating32,
        "FLOAT8" => DbDataType::Floating64,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" => DbDataType::Str,
        "BYTEA" => DbDataType::Binary,
        "DATE" => DbDataType::Date,
        "TIME" => DbDataType::Time,
        "TIMESTAMP" | "TIMESTAMPTZ" => DbDataType::Datetime,
        "UUID" => DbDataType::Uuid,
        "JSONB" | "JSON" => DbDataType::Jsonb,
        "NUMERIC" => DbDataType::Decimal,
        "INT4RANGE" => DbDataType::RangeInt32,
        "INT8RANGE" => DbDataType::RangeInt64,
        "NUMRANGE" => DbDataType::RangeDecimal,
        "INT4[]" => DbDataType::ArrayInt32,
        "INT8[]" => DbDataType::ArrayInt64,
        "NUMERIC[]" => DbDataType::ArrayDecimal,
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => DbDataType::ArrayStr,
        "INTERVAL" => DbDataType::Interval,
        other => DbDataType::Other(other.to_owned()),
    }
}

fn describe_column(name: &str, info: &PgTypeInfo) -> Column {
    Column {
        name: name.to_owned(),
        data_type: data_type(info),
    }
}

fn datetime_value(datetime: NaiveDateTime) -> DbValue {
    DbValue::Datetime((
        datetime.year(),
        datetime.month() as u8,
        datetime.day() as u8,
        datetime.hour() as u8,
        datetime.minute() as u8,
        datetime.second() as u8,
        datetime.nanosecond(),
    ))
}

fn decode_row(row: &PgRow) -> Result<Vec<DbValue>, PgError> {
    (0..row.columns().len())
        .map(|i| decode_value(row, i))
        .collect()
}

fn decode_value(row: &PgRow, i: usize) -> Result<DbValue, PgError> {
    let raw = row.try_get_raw(i).map_err(conversion_failed)?;
    if raw.is_null() {
        return Ok(DbValue::DbNull);
    }
    let info = row.columns()[i].type_info().clone();
    fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(
        row: &'r PgRow,
        i: usize,
    ) -> Result<T, PgError> {
        row.try_get_unchecked::<T, _>(i).map_err(conversion_failed)
    }
    Ok(match info.name() {
        "BOOL" => DbValue::Boolean(get(row, i)?),
        "\"CHAR\"" => DbValue::Int8(get(row, i)?),
        "INT2" => DbValue::Int16(get(row, i)?),
        "INT4" => DbValue::Int32(get(row, i)?),
        "INT8" => DbValue::Int64(get(row, i)?),
        "FLOAT4" => DbValue::Floating32(get(row, i)?),
        "FLOAT8" => DbValue::Floating64(get(row, i)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" => DbValue::Str(get(row, i)?),
        "BYTEA" => DbValue::Binary(get(row, i)?),
        "DATE" => {
            let date: NaiveDate = get(row, i)?;
            DbValue::Date((date.year(), date.month() as u8, date.day() as u8))
        }
        "TIME" => {
            let time: NaiveTime = get(row, i)?;
            DbValue::Time((
                time.hour() as u8,
                time.minute() as u8,
                time.second() as u8,
                time.nanosecond(),
            ))
        }
        "TIMESTAMP" => datetime_value(get::<NaiveDateTime>(row, i)?),
        "TIMESTAMPTZ" => datetime_value(get::<chrono::DateTime<chrono::Utc>>(row, i)?.naive_utc()),
        "UUID" => DbValue::Uuid(get::<uuid::Uuid>(row, i)?.to_string()),
        "JSONB" | "JSON" => {
            let json: sqlx::types::Json<serde_json::Value> = get(row, i)?;
            DbValue::Jsonb(serde_json::to_vec(&json.0).map_err(conversion_failed)?)
        }
        "NUMERIC" => DbValue::Decimal(get::<Decimal>(row, i)?.to_string()),
        "INT4RANGE" => {
            let r: PgRange<i32> = get(row, i)?;
            DbValue::RangeInt32((unbound(r.start), unbound(r.end)))
        }
        "INT8RANGE" => {
            let r: PgRange<i64> = get(row, i)?;
            DbValue::RangeInt64((unbound(r.start), unbound(r.end)))
        }
        "NUMRANGE" => {
            let r: PgRange<Decimal> = get(row, i)?;
            let text = |b: Bound<Decimal>| unbound(b).map(|(v, k)| (v.to_string(), k));
            DbValue::RangeDecimal((text(r.start), text(r.end)))
        }
        "INT4[]" => DbValue::ArrayInt32(get(row, i)?),
        "INT8[]" => DbValue::ArrayInt64(get(row, i)?),
        "NUMERIC[]" => DbValue::ArrayDecimal(
            get::<Vec<Option<Decimal>>>(row, i)?
                .into_iter()
                .map(|v| v.map(|d| d.to_string()))
                .collect(),
        ),
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => DbValue::ArrayStr(get(row, i)?),
        "INTERVAL" => {
            let v: PgInterval = get(row, i)?;
            DbValue::Interval(Interval {
                micros: v.microseconds,
                days: v.days,
                months: v.months,
            })
        }
        // Unknown types (enums, PostGIS geography, ...) arrive in their binary wire form.
        _ => DbValue::Unsupported(raw.as_bytes().map_err(conversion_failed)?.to_vec()),
    })
}

fn conversion_failed(error: impl std::fmt::Display) -> PgError {
    PgError::ValueConversionFailed(error.to_string())
}

/// A database error keeps its SQLSTATE and constraint name, so components can map constraint
/// violations to API errors by name.
fn query_failed(error: sqlx::Error) -> PgError {
    match error {
        sqlx::Error::Database(db) => {
            let pg = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>();
            let mut extras = Vec::new();
            if let Some(constraint) = db.constraint() {
                extras.push(("constraint".to_owned(), constraint.to_owned()));
            }
            if let Some(table) = db.table() {
                extras.push(("table".to_owned(), table.to_owned()));
            }
            if let Some(column) = pg.and_then(|pg| pg.column()) {
                extras.push(("column".to_owned(), column.to_owned()));
            }
            PgError::QueryFailed(QueryError::DbError(DbError {
                as_text: db.to_string(),
                severity: pg
                    .map(|pg| format!("{:?}", pg.severity()).to_uppercase())
                    .unwrap_or_else(|| "ERROR".to_owned()),
                code: db.code().map(|c| c.into_owned()).unwrap_or_default(),
                message: db.message().to_owned(),
                detail: pg.and_then(|pg| pg.detail()).map(str::to_owned),
                extras,
            }))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            PgError::ConnectionFailed(error.to_string())
        }
        other => PgError::QueryFailed(QueryError::Text(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::{PgPools, is_one_of, transaction_words};
    use crate::outbound::OutboundPolicy;
    use std::time::Duration;

    #[test]
    fn only_the_runtimes_own_socket_is_reached_by_socket() {
        let policy =
            OutboundPolicy::new(&["postgres://127.0.0.1:5433".to_owned()]).expect("a valid policy");
        let pools = PgPools::new(4, Duration::from_secs(1), Some("/run/hotline-pg".into()));
        let own = "postgres://u:p@127.0.0.1:5433/db?host=/run/hotline-pg";
        assert!(pools.pool_for(own, &policy).is_ok());
        assert!(
            pools
                .pool_for("postgres://u:p@127.0.0.1:5433/db", &policy)
                .is_ok()
        );
        // Allowed by host and port, but the socket is another server's.
        let other = "postgres://u:p@127.0.0.1:5433/db?host=/var/run/postgresql";
        assert!(pools.pool_for(other, &policy).is_err());
        // A runtime whose database is reached over TCP trusts no socket at all.
        let tcp_only = PgPools::new(4, Duration::from_secs(1), None);
        assert!(tcp_only.pool_for(own, &policy).is_err());
        // And the host and port are checked as ever.
        assert!(
            pools
                .pool_for(
                    "postgres://u:p@127.0.0.1:5434/db?host=/run/hotline-pg",
                    &policy
                )
                .is_err()
        );
    }

    #[test]
    fn connections_carry_the_timeout_and_the_server_settings() {
        let policy =
            OutboundPolicy::new(&["postgres://127.0.0.1:5433".to_owned()]).expect("a valid policy");
        let pools = PgPools::new(4, Duration::from_millis(2500), None);
        let pool = pools
            .pool_for("postgres://u:p@127.0.0.1:5433/db", &policy)
            .expect("a pool");
        assert_eq!(
            pool.options.get_options(),
            Some("-c statement_timeout=2500 -c jit=off")
        );
    }

    #[test]
    fn statements_that_open_and_close_transactions() {
        assert_eq!(transaction_words("  BEGIN;"), ("BEGIN", false));
        assert!(is_one_of(transaction_words("  BEGIN;").0, &["begin"]));
        assert_eq!(
            transaction_words("start\ttransaction isolation level serializable"),
            ("start", false)
        );
        assert_eq!(transaction_words("COMMIT AND CHAIN ;"), ("COMMIT", true));
        assert_eq!(transaction_words("select 1"), ("select", false));
        assert_eq!(transaction_words("end"), ("end", false));
        assert_eq!(transaction_words(""), ("", false));
        assert!(!is_one_of("beginning", &["begin", "start"]));
    }
}
