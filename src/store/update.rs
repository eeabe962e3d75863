//! Changing stored rows in place: one `UPDATE … SET … WHERE …` with its values bound in
//! order, the statement every table's setters share.

use sqlx::SqliteConnection;

use super::StoreResult;

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
    let mut query = sqlx::query(&sql);
    for param in params {
        query = match param {
            Param::Text(s) => query.bind(*s),
            Param::Owned(s) => query.bind(s.as_deref()),
            Param::Int(n) => query.bind(*n),
        };
    }
    Ok(query.execute(conn).await?.rows_affected())
}
