//! The statements the tables share: selecting rows by a filter and changing rows in place,
//! each with its values bound in order.

use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, SqliteConnection};

use super::StoreResult;
use crate::domain::ChatUserId;

/// A value for one `?` of a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param<'a> {
    /// Text, or NULL.
    Text(Option<&'a str>),
    /// Text made for this statement (a formatted timestamp, a hash), or NULL.
    Owned(Option<String>),
    /// A whole number or flag, or NULL.
    Int(Option<i64>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(s: &'a str) -> Self {
        Param::Text(Some(s))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Param::Text(s)
    }
}

impl From<String> for Param<'_> {
    fn from(s: String) -> Self {
        Param::Owned(Some(s))
    }
}

impl From<i64> for Param<'_> {
    fn from(n: i64) -> Self {
        Param::Int(Some(n))
    }
}

impl From<bool> for Param<'_> {
    fn from(b: bool) -> Self {
        Param::Int(Some(i64::from(b)))
    }
}

/// Runs `UPDATE {table} SET {set} WHERE {filter}`, binding `params` to its placeholders in
/// order (those of `set`, then those of `filter`); returns how many rows changed.
pub(crate) async fn update(
    conn: &mut SqliteConnection,
    table: &str,
    set: &str,
    filter: &str,
    params: &[Param<'_>],
) -> StoreResult<u64> {
    let sql = format!("UPDATE {table} SET {set} WHERE {filter}");
    Ok(bound(&sql, params).execute(conn).await?.rows_affected())
}

/// A table whose rows read back as `T`: its name, the columns a row is read from, and the
/// function that reads one.
pub(crate) struct Table<T> {
    /// What the rows are selected from: the table's name (with an alias where `columns`
    /// use one).
    pub name: &'static str,
    /// The columns `read` needs, comma-separated.
    pub columns: &'static str,
    /// Reads one row.
    pub read: fn(&SqliteRow) -> StoreResult<T>,
}

impl<T> Table<T> {
    /// Every row `rest` (the statement after `FROM table`: its WHERE and ORDER BY) selects,
    /// its placeholders bound to `params`.
    pub(crate) async fn all(
        &self,
        conn: &mut SqliteConnection,
        rest: &str,
        params: &[Param<'_>],
    ) -> StoreResult<Vec<T>> {
        let rows = bound(&self.select(rest), params).fetch_all(conn).await?;
        rows.iter().map(self.read).collect()
    }

    /// The first row `rest` selects, if any (see [`Table::all`]).
    pub(crate) async fn first(
        &self,
        conn: &mut SqliteConnection,
        rest: &str,
        params: &[Param<'_>],
    ) -> StoreResult<Option<T>> {
        let row = bound(&self.select(rest), params)
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(self.read).transpose()
    }

    fn select(&self, rest: &str) -> String {
        format!("SELECT {} FROM {} {rest}", self.columns, self.name)
    }
}

/// The chat accounts `sql` selects (one column of chat user ids), its placeholders bound to
/// `params`.
pub(crate) async fn chat_users(
    conn: &mut SqliteConnection,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<Vec<ChatUserId>> {
    let rows = bound(sql, params).fetch_all(conn).await?;
    rows.iter().map(|r| Ok(ChatUserId(r.try_get(0)?))).collect()
}

/// The statement `sql` with `params` bound to its placeholders in order.
fn bound<'q>(sql: &'q str, params: &'q [Param<'q>]) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    let mut query = sqlx::query(sql);
    for param in params {
        query = match param {
            Param::Text(s) => query.bind(*s),
            Param::Owned(s) => query.bind(s.as_deref()),
            Param::Int(n) => query.bind(*n),
        };
    }
    query
}
