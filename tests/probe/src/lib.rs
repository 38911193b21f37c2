//! `probe`: a component that exists only for the runtime's end-to-end tests. It spins forever,
//! calls out where it is told, leaves transactions open and traps, and round-trips every type of
//! the Postgres interface, so the tests can watch how the runtime copes.

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{Request, Response, StatusCode};
use spin_sdk::http_service;
use spin_sdk::pg::wit::postgres;
use spin_sdk::pg::{Connection, DbValue, Interval, ParameterValue, RangeBoundKind};

type Reply = Response<String>;

fn reply(status: StatusCode, body: impl Into<String>) -> Reply {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
}

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[http_service]
async fn handle(request: Request) -> Reply {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    match path.as_str() {
        "/probe/hello" => reply(StatusCode::OK, "hello"),
        "/probe/headers" => {
            let names: Vec<String> = request
                .headers()
                .keys()
                .map(|k| k.as_str().to_owned())
                .collect();
            reply(StatusCode::OK, names.join(","))
        }
        "/probe/spin" => spin_forever(),
        "/probe/allocate" => {
            // Grows memory without bound: the instance's memory limit must stop it.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                if hoard.len() == usize::MAX {
                    return reply(StatusCode::OK, "unreachable");
                }
            }
        }
        "/probe/outbound" => {
            let url = query_value(&query, "url").unwrap_or_default();
            match spin_sdk::http::get(url).await {
                Ok(response) => {
                    let status = response.status();
                    let body = response
                        .into_body()
                        .bytes()
                        .await
                        .map(|b| b.to_vec())
                        .unwrap_or_default();
                    reply(
                        StatusCode::OK,
                        format!("{} {}", status.as_u16(), String::from_utf8_lossy(&body)),
                    )
                }
                Err(error) => reply(StatusCode::BAD_GATEWAY, format!("refused: {error:?}")),
            }
        }
        "/probe/pg/open" => {
            let address = query_value(&query, "address").unwrap_or_default();
            match Connection::open(address).await {
                Ok(_) => reply(StatusCode::OK, "opened"),
                Err(error) => reply(StatusCode::BAD_GATEWAY, format!("refused: {error:?}")),
            }
        }
        "/probe/pg/leak" => leak_transaction(request).await,
        // Ends its own connection's server process: the statement fails with a FATAL error.
        "/probe/pg/terminate" => {
            one_statement("select pg_terminate_backend(pg_backend_pid())").await
        }
        "/probe/pg/select" => one_statement("select 1").await,
        // `spin:postgres`'s plain (not `-async`) functions, which the platform's components use.
        "/probe/pg/plain/select" => plain_statement("select 1").await,
        "/probe/pg/plain/sleep" => {
            let ms: u32 = query_value(&query, "ms")
                .and_then(|ms| ms.parse().ok())
                .unwrap_or(1000);
            plain_statement(&format!("select pg_sleep({ms} / 1000.0)")).await
        }
        "/probe/pg/roundtrip" => roundtrip(Db::Async(db().await)).await,
        "/probe/pg/plain/roundtrip" => roundtrip(Db::Plain(plain_db().await)).await,
        _ => reply(StatusCode::NOT_FOUND, "no such probe"),
    }
}

fn spin_forever() -> Reply {
    let mut counter: u64 = 0;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
        if std::hint::black_box(false) {
            return reply(StatusCode::OK, counter.to_string());
        }
    }
}

/// Runs `statement` on a new connection: 200, or 502 with the error.
async fn one_statement(statement: &str) -> Reply {
    let outcome = match db().await.query(statement, []).await {
        Ok(rows) => rows.collect().await.map(|_| ()),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => reply(StatusCode::OK, "done"),
        Err(error) => reply(StatusCode::BAD_GATEWAY, format!("{error:?}")),
    }
}

/// Runs `statement` through the plain `query` on a new connection: 200, or 502 with the error.
async fn plain_statement(statement: &str) -> Reply {
    match plain_db().await.query(statement, &[]) {
        Ok(_) => reply(StatusCode::OK, "done"),
        Err(error) => reply(StatusCode::BAD_GATEWAY, format!("{error:?}")),
    }
}

async fn plain_db() -> postgres::Connection {
    let url = spin_sdk::variables::get("db_url")
        .await
        .expect("the probe has a db_url");
    postgres::Connection::open(&url).expect("the probe's database opens")
}

/// A connection used through one of the interface's two sets of functions.
enum Db {
    /// `open-async` and `query-async` (rows through a stream), as the SDK's `Connection` does.
    Async(Connection),
    /// `open` and `query` (the whole row set in one answer).
    Plain(postgres::Connection),
}

impl Db {
    /// The first value of each row `statement` answers (the probes select one value).
    async fn query(
        &self,
        statement: &str,
        params: Vec<ParameterValue>,
    ) -> Result<Vec<Vec<DbValue>>, spin_sdk::pg::Error> {
        match self {
            Db::Async(db) => {
                let rows = db.query(statement, params).await?.collect().await?;
                Ok(rows.iter().map(|row| vec![row[0].clone()]).collect())
            }
            Db::Plain(db) => Ok(db
                .query(statement, &params)?
                .rows
                .into_iter()
                .map(|row| row.into_iter().take(1).collect())
                .collect()),
        }
    }

    async fn execute(
        &self,
        statement: &str,
        params: Vec<ParameterValue>,
    ) -> Result<u64, spin_sdk::pg::Error> {
        match self {
            Db::Async(db) => db.execute(statement, params).await,
            Db::Plain(db) => Ok(db.execute(statement, &params)?),
        }
    }
}

async fn db() -> Connection {
    let url = spin_sdk::variables::get("db_url")
        .await
        .expect("the probe has a db_url");
    Connection::open(url)
        .await
        .expect("the probe's database opens")
}

/// Opens a transaction, inserts a row, then fails without committing: by trapping, or by
/// returning with the transaction still open.
async fn leak_transaction(request: Request) -> Reply {
    let how = request
        .uri()
        .query()
        .and_then(|q| query_value(q, "how"))
        .unwrap_or("trap")
        .to_owned();
    let mark = request
        .uri()
        .query()
        .and_then(|q| query_value(q, "mark"))
        .unwrap_or("leak")
        .to_owned();
    let db = db().await;
    db.execute(
        "create table if not exists probe_marks (mark text not null)",
        [],
    )
    .await
    .expect("create");
    db.execute("begin", []).await.expect("begin");
    db.execute(
        "insert into probe_marks (mark) values ($1)",
        [ParameterValue::Str(mark)],
    )
    .await
    .expect("insert");
    match how.as_str() {
        "trap" => panic!("the probe traps with a transaction open"),
        _ => reply(StatusCode::OK, "returned with the transaction open"),
    }
}

/// Sends one value of every type the interface defines through `select $1::<type>` and compares
/// what comes back. Answers a JSON object: type → "ok" or what differed.
async fn roundtrip(db: Db) -> Reply {
    let bound = |v: i32| Some((v, RangeBoundKind::Inclusive));
    let cases: Vec<(&str, ParameterValue, DbValue)> = vec![
        (
            "boolean",
            ParameterValue::Boolean(true),
            DbValue::Boolean(true),
        ),
        ("int2", ParameterValue::Int16(-12), DbValue::Int16(-12)),
        (
            "int4",
            ParameterValue::Int32(123_456),
            DbValue::Int32(123_456),
        ),
        (
            "int8",
            ParameterValue::Int64(-9_000_000_000),
            DbValue::Int64(-9_000_000_000),
        ),
        (
            "int8 from int32",
            ParameterValue::Int32(7),
            DbValue::Int64(7),
        ),
        (
            "float4",
            ParameterValue::Floating32(1.5),
            DbValue::Floating32(1.5),
        ),
        (
            "float8",
            ParameterValue::Floating64(-2.25),
            DbValue::Floating64(-2.25),
        ),
        (
            "text",
            ParameterValue::Str("驻马店 12345".into()),
            DbValue::Str("驻马店 12345".into()),
        ),
        (
            "bytea",
            ParameterValue::Binary(vec![0, 1, 254, 255]),
            DbValue::Binary(vec![0, 1, 254, 255]),
        ),
        (
            "date",
            ParameterValue::Date((2026, 11, 28)),
            DbValue::Date((2026, 11, 28)),
        ),
        (
            "time",
            ParameterValue::Time((23, 59, 58, 123_456_000)),
            DbValue::Time((23, 59, 58, 123_456_000)),
        ),
        (
            "timestamp",
            ParameterValue::Datetime((2026, 2, 17, 8, 30, 0, 0)),
            DbValue::Datetime((2026, 2, 17, 8, 30, 0, 0)),
        ),
        (
            "timestamptz",
            ParameterValue::Datetime((2026, 2, 17, 8, 30, 0, 0)),
            DbValue::Datetime((2026, 2, 17, 8, 30, 0, 0)),
        ),
        (
            "timestamptz from unix",
            ParameterValue::Timestamp(0),
            DbValue::Datetime((1970, 1, 1, 0, 0, 0, 0)),
        ),
        (
            "uuid",
            ParameterValue::Uuid("6f1c2d3e-0000-4000-8000-00000000abcd".into()),
            DbValue::Uuid("6f1c2d3e-0000-4000-8000-00000000abcd".into()),
        ),
        (
            "uuid from text",
            ParameterValue::Str("6f1c2d3e-0000-4000-8000-00000000abcd".into()),
            DbValue::Uuid("6f1c2d3e-0000-4000-8000-00000000abcd".into()),
        ),
        (
            "jsonb",
            ParameterValue::Jsonb(r#"{"a":[1,"二"]}"#.as_bytes().to_vec()),
            DbValue::Jsonb(r#"{"a":[1,"二"]}"#.as_bytes().to_vec()),
        ),
        (
            "numeric",
            ParameterValue::Decimal("12345.678".into()),
            DbValue::Decimal("12345.678".into()),
        ),
        (
            "int4range",
            ParameterValue::RangeInt32((bound(1), Some((10, RangeBoundKind::Exclusive)))),
            DbValue::RangeInt32((bound(1), Some((10, RangeBoundKind::Exclusive)))),
        ),
        (
            "int8range",
            ParameterValue::RangeInt64((Some((5, RangeBoundKind::Inclusive)), None)),
            DbValue::RangeInt64((Some((5, RangeBoundKind::Inclusive)), None)),
        ),
        (
            "numrange",
            ParameterValue::RangeDecimal((
                Some(("1.5".into(), RangeBoundKind::Inclusive)),
                Some(("2.5".into(), RangeBoundKind::Exclusive)),
            )),
            DbValue::RangeDecimal((
                Some(("1.5".into(), RangeBoundKind::Inclusive)),
                Some(("2.5".into(), RangeBoundKind::Exclusive)),
            )),
        ),
        (
            "int4[]",
            ParameterValue::ArrayInt32(vec![Some(1), None, Some(3)]),
            DbValue::ArrayInt32(vec![Some(1), None, Some(3)]),
        ),
        (
            "int8[]",
            ParameterValue::ArrayInt64(vec![Some(1 << 40), None]),
            DbValue::ArrayInt64(vec![Some(1 << 40), None]),
        ),
        (
            "numeric[]",
            ParameterValue::ArrayDecimal(vec![Some("1.25".into()), None]),
            DbValue::ArrayDecimal(vec![Some("1.25".into()), None]),
        ),
        (
            "text[]",
            ParameterValue::ArrayStr(vec![Some("甲".into()), None]),
            DbValue::ArrayStr(vec![Some("甲".into()), None]),
        ),
        (
            "interval",
            ParameterValue::Interval(Interval {
                micros: 1_500_000,
                days: 2,
                months: 3,
            }),
            DbValue::Interval(Interval {
                micros: 1_500_000,
                days: 2,
                months: 3,
            }),
        ),
        ("null text", ParameterValue::DbNull, DbValue::DbNull),
    ];
    let mut report = serde_json::Map::new();
    for (name, parameter, expected) in cases {
        let sql_type = match name {
            "int8 from int32" => "int8",
            "timestamptz from unix" => "timestamptz",
            "uuid from text" => "uuid",
            "null text" => "text",
            other => other,
        };
        let outcome = match db
            .query(&format!("select $1::{sql_type} as value"), vec![parameter])
            .await
        {
            Ok(rows) => match rows.first().map(|row| row[0].clone()) {
                Some(actual) if same(&actual, &expected) => "ok".to_owned(),
                Some(actual) => format!("expected {expected:?}, got {actual:?}"),
                None => "no row".to_owned(),
            },
            Err(error) => format!("error: {error:?}"),
        };
        report.insert(name.to_owned(), serde_json::Value::String(outcome));
    }
    let check = db
        .query(
            "select $1::int4 as value",
            vec![ParameterValue::Str("not a number".into())],
        )
        .await;
    report.insert(
        "bad parameter is refused".to_owned(),
        serde_json::Value::String(match check {
            Err(spin_sdk::pg::Error::PgError(spin_sdk::pg::PgError::BadParameter(_))) => {
                "ok".to_owned()
            }
            other => format!("expected bad-parameter, got {:?}", other.map(|_| ())),
        }),
    );
    let unique = db
        .execute(
            "create temporary table probe_unique (code text constraint probe_unique_code unique)",
            vec![],
        )
        .await
        .and(
            db.execute("insert into probe_unique values ('a')", vec![])
                .await,
        )
        .map(|_| ());
    let duplicate = db
        .execute("insert into probe_unique values ('a')", vec![])
        .await;
    report.insert(
        "constraint name reaches the guest".to_owned(),
        serde_json::Value::String(match (unique, duplicate) {
            (
                Ok(()),
                Err(spin_sdk::pg::Error::PgError(spin_sdk::pg::PgError::QueryFailed(
                    spin_sdk::pg::QueryError::DbError(e),
                ))),
            ) => {
                let named = e
                    .extras
                    .iter()
                    .any(|(k, v)| k == "constraint" && v == "probe_unique_code");
                if e.code == "23505" && named {
                    "ok".to_owned()
                } else {
                    format!("got {e:?}")
                }
            }
            (setup, other) => format!("setup {setup:?}, insert {:?}", other.map(|_| ())),
        }),
    );
    reply(
        StatusCode::OK,
        serde_json::Value::Object(report).to_string(),
    )
}

/// Values equal, comparing JSON by meaning (jsonb reorders and respaces).
fn same(actual: &DbValue, expected: &DbValue) -> bool {
    match (actual, expected) {
        (DbValue::Jsonb(a), DbValue::Jsonb(b)) => {
            serde_json::from_slice::<serde_json::Value>(a).ok()
                == serde_json::from_slice::<serde_json::Value>(b).ok()
        }
        // The WIT types have no PartialEq; their Debug forms are complete.
        _ => format!("{actual:?}") == format!("{expected:?}"),
    }
}
