//! The database connection every component uses: `spin:postgres/postgres@4.2.0` called through
//! its plain functions (`open`, `query`, `execute`) rather than the `-async` ones the SDK's
//! `Connection` wraps.
//!
//! Why: a `query-async` call hands the rows back through a component-model stream and a future,
//! each a resource with its own reads and drops, and the call itself runs as a subtask; with the
//! rows read one at a time, a query that answers one row costs four calls across the boundary
//! and a round of the runtime's task machinery for each. The plain `query` is one call that
//! returns the whole row set, which is what every statement here wants (none streams a result
//! too large to hold). The measured difference is in ARCHITECTURE.md (`crates/order-store`).
//!
//! The price: while a plain call waits for the database, the instance it runs in does nothing
//! else, so the runtime gives each instance one request at a time. The shapes here mirror the
//! SDK's (`query(..).await?.collect().await?`, `Row::get`), so that code reads the same either
//! way (the methods are `async` for that alone: each makes its one call and returns); the calls
//! are spin-sdk's own generated bindings (`spin_sdk::pg::wit`, public though left out of its
//! documentation), of the interface upstream Spin provides.

use spin_sdk::pg::wit::postgres;
use spin_sdk::pg::{Column, DbValue, Decode, Error, ParameterValue};
use std::sync::Arc;

/// An open connection to a PostgreSQL database; closed (given back to the runtime's pool) when
/// dropped.
pub struct Connection(postgres::Connection);

impl Connection {
    /// Opens a connection to the database at `address` (URL or `key=value` form).
    pub async fn open(address: impl AsRef<str>) -> Result<Connection, Error> {
        Ok(Connection(postgres::Connection::open(address.as_ref())?))
    }

    /// Runs a statement that returns rows.
    pub async fn query(
        &self,
        statement: impl AsRef<str>,
        params: impl Into<Vec<ParameterValue>>,
    ) -> Result<QueryResult, Error> {
        let set = self.0.query(statement.as_ref(), &params.into())?;
        Ok(QueryResult {
            columns: Arc::new(set.columns),
            rows: set.rows,
        })
    }

    /// Runs a statement for its effect; the number of rows it touched.
    pub async fn execute(
        &self,
        statement: impl AsRef<str>,
        params: impl Into<Vec<ParameterValue>>,
    ) -> Result<u64, Error> {
        Ok(self.0.execute(statement.as_ref(), &params.into())?)
    }

    /// Runs `work` (statements on this connection) in a transaction of its own: committed when it
    /// succeeds, rolled back when it fails (saying so keeps the connection reusable).
    pub async fn transaction<T, E: From<crate::StoreError>>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.keyed_transaction(async { work.await.map(|done| (done, true)) })
            .await
    }

    /// As [`Connection::transaction`], for work under an `Idempotency-Key`: `work` answers with
    /// its result and whether it did the work (`true`), or found the answer of an earlier request
    /// under the key to replay (`false`), when the transaction is rolled back so that nothing the
    /// retry wrote stays.
    pub async fn keyed_transaction<T, E: From<crate::StoreError>>(
        &self,
        work: impl Future<Output = Result<(T, bool), E>>,
    ) -> Result<T, E> {
        self.execute("begin", [])
            .await
            .map_err(|e| E::from(e.into()))?;
        match work.await {
            Ok((done, fresh)) => {
                self.execute(if fresh { "commit" } else { "rollback" }, [])
                    .await
                    .map_err(|e| E::from(e.into()))?;
                Ok(done)
            }
            Err(error) => {
                let _ = self.execute("rollback", []).await;
                Err(error)
            }
        }
    }
}

/// The answer to a query, held whole.
pub struct QueryResult {
    columns: Arc<Vec<Column>>,
    rows: Vec<Vec<DbValue>>,
}

impl QueryResult {
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The rows, each able to look its values up by column name.
    pub async fn collect(self) -> Result<Vec<Row>, Error> {
        let QueryResult { columns, rows } = self;
        Ok(rows
            .into_iter()
            .map(|values| Row {
                columns: columns.clone(),
                values,
            })
            .collect())
    }
}

/// One row of a query's answer.
pub struct Row {
    columns: Arc<Vec<Column>>,
    values: Vec<DbValue>,
}

impl Row {
    /// The value of `column` as a `T`; `None` when there is no such column or the value is not
    /// a `T` (use `crate::required` where either is a fault).
    pub fn get<T: Decode>(&self, column: &str) -> Option<T> {
        let i = self.columns.iter().position(|c| c.name == column)?;
        T::decode(self.values.get(i)?).ok()
    }
}

impl std::ops::Index<usize> for Row {
    type Output = DbValue;

    fn index(&self, index: usize) -> &DbValue {
        &self.values[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spin_sdk::pg::DbDataType;

    fn row_of(names: &[&str]) -> Row {
        Row {
            columns: Arc::new(
                names
                    .iter()
                    .map(|name| Column {
                        name: (*name).to_owned(),
                        data_type: DbDataType::Int64,
                    })
                    .collect(),
            ),
            values: (0..names.len() as i64).map(DbValue::Int64).collect(),
        }
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let names = [
            "id",
            "status",
            "category_id",
            "category_name",
            "asked_at",
            "asked_by",
            "",
            "路灯",
            "id",
        ];
        let row = row_of(&names);
        // Each name where it first is, in any order, twice; a name given twice is found first.
        for name in names.iter().rev().chain(&names) {
            let first = names.iter().position(|n| n == name).expect("listed") as i64;
            assert_eq!(row.get::<i64>(name), Some(first), "{name:?}");
        }
        for missing in ["categ_id", "asked_xt", "i", "ID", "路", "status "] {
            assert_eq!(row.get::<i64>(missing), None, "{missing:?}");
        }
        // A column of another type is `None`.
        assert_eq!(row.get::<String>("status"), None);
        assert_eq!(row_of(&[]).get::<i64>("id"), None);
    }
}
