//! The statements the tables share: selecting rows by a filter and changing rows in place,
//! each with its values bound in order.

use super::row::Columns;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use super::{Dialect, StoreResult};
use crate::domain::ChatUserId;

/// A value for one placeholder of a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param<'a> {
    /// Text, or NULL.
    Text(Option<&'a str>),
    /// Text made for this statement (a formatted timestamp, a hash), or NULL.
    Owned(Option<String>),
    /// A whole number or flag, or NULL.
    Int(Option<i64>),
}

impl Param<'_> {
    /// This value, owning its text.
    pub(crate) fn owned(&self) -> Param<'static> {
        match self {
            Param::Text(s) => Param::Owned(s.map(str::to_owned)),
            Param::Owned(s) => Param::Owned(s.clone()),
            Param::Int(n) => Param::Int(*n),
        }
    }
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

/// One write a transaction may hold back ([`super::WriteTx::defer`]): its statement with a
/// `?` for each value, and the values in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Write {
    /// The statement, written with `?` placeholders.
    pub(super) sql: String,
    pub(super) params: Vec<Param<'static>>,
    /// How many rows it must change, when the caller knows.
    pub(super) expect: Option<u64>,
    /// What it does, for the error when it changes another number of rows.
    pub(super) what: &'static str,
    /// Its values are never written into the statement's text (see [`super::deferred`]).
    pub(super) private: bool,
    /// What it sets, named so a later write that sets the same may take its place while it
    /// is held ([`Write::setting`]).
    pub(super) sets: Option<Sets>,
}

/// What a held write sets, for [`Write::setting`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sets {
    /// The columns of one row, as `table.columns id`: equal for writes that set the same.
    pub(super) key: String,
    /// Whether everything it sets is set again by a later write with the same key (else it
    /// sets more, and stays).
    pub(super) covered: bool,
}

impl Write {
    /// The write `sql` (with a `?` for each of `params`), named `what` in errors.
    pub(crate) fn new(what: &'static str, sql: String, params: &[Param<'_>]) -> Write {
        Write {
            sql,
            params: params.iter().map(Param::owned).collect(),
            expect: None,
            what,
            private: false,
            sets: None,
        }
    }

    /// This write, setting what `key` names (the same columns of one row); `covered`: a
    /// later write with the same key sets all this one does. While this one is held, such a
    /// later write takes its place, unless a write held between them names its table or
    /// either expects a number of rows ([`super::deferred::Held::push`]): one statement
    /// fewer where a transaction moves a row twice (a request approved, then executing).
    pub(crate) fn setting(mut self, key: String, covered: bool) -> Write {
        self.sets = Some(Sets { key, covered });
        self
    }

    /// This write, its values always bound, never written into a statement's text: they may
    /// hold a secret.
    pub(crate) fn private(mut self) -> Write {
        self.private = true;
        self
    }

    /// This write, failing its transaction unless it changes exactly `rows` rows.
    pub(crate) fn expecting(mut self, rows: u64) -> Write {
        self.expect = Some(rows);
        self
    }

    /// Whether its statement names `table` anywhere (a broad test: it may read or change
    /// that table's rows).
    pub(super) fn names(&self, table: &str) -> bool {
        self.sql.contains(table)
    }

    /// The table it changes, as its statement names it (`INSERT INTO t`, `UPDATE t`,
    /// `DELETE FROM t`); None for any other statement, which may change anything.
    pub(super) fn table(&self) -> Option<&str> {
        let sql = self.sql.trim_start();
        let rest = ["INSERT INTO ", "UPDATE ", "DELETE FROM "]
            .iter()
            .find_map(|verb| {
                sql.get(..verb.len())
                    .filter(|head| head.eq_ignore_ascii_case(verb))
                    .map(|_| sql[verb.len()..].trim_start())
            })?;
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    }
}

/// Runs `UPDATE {table} SET {set} WHERE {filter}`, binding `params` to its placeholders in
/// order (those of `set`, then those of `filter`); returns how many rows changed.
pub(crate) async fn update(
    conn: &mut AnyConnection,
    table: &str,
    set: &str,
    filter: &str,
    params: &[Param<'_>],
) -> StoreResult<u64> {
    let sql = numbered(&update_sql(table, set, filter));
    Ok(bound(&sql, params).execute(conn).await?.rows_affected())
}

/// [`update`] as a write a transaction may hold back ([`super::WriteTx::defer`]).
pub(crate) fn update_later(
    what: &'static str,
    (table, set, filter): (&str, &str, &str),
    params: &[Param<'_>],
) -> Write {
    Write::new(what, update_sql(table, set, filter), params)
}

fn update_sql(table: &str, set: &str, filter: &str) -> String {
    format!("UPDATE {table} SET {set} WHERE {filter}")
}

/// Inserts rows into `table` in one statement: `params` holds each row's values in the
/// order of `columns`, row after row. Returns how many rows were inserted.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    params: &[Param<'_>],
) -> StoreResult<u64> {
    if columns.is_empty() || params.is_empty() {
        return Ok(0);
    }
    let sql = numbered(&insert_sql(table, columns, params.len()));
    Ok(bound(&sql, params).execute(conn).await?.rows_affected())
}

/// [`insert`] as a write a transaction may hold back ([`super::WriteTx::defer`]); none when
/// there is nothing to insert.
pub(crate) fn insert_later(
    what: &'static str,
    (table, columns): (&str, &[&str]),
    params: &[Param<'_>],
) -> Option<Write> {
    let rows = params.len() / columns.len().max(1);
    (rows > 0).then(|| Write::new(what, insert_sql(table, columns, params.len()), params))
}

fn insert_sql(table: &str, columns: &[&str], values: usize) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        value_rows(columns.len(), values)
    )
}

/// [`insert`], the rows inserted only when `condition` holds as the statement runs (all or
/// none), as a write a transaction may hold back: `params` holds the rows' values, then the
/// condition's. None when there is nothing to insert.
pub(crate) fn insert_if_later(
    what: &'static str,
    (table, columns): (&str, &[&str]),
    rows: usize,
    condition: &str,
    params: &[Param<'_>],
) -> Option<Write> {
    if columns.is_empty() || rows == 0 {
        return None;
    }
    let sql = format!(
        "INSERT INTO {table} ({}) SELECT * FROM (VALUES {}) AS v WHERE {condition}",
        columns.join(", "),
        value_rows(columns.len(), rows * columns.len())
    );
    Some(Write::new(what, sql, params))
}

/// `(?, ?), (?, ?)`: the placeholders of `values` values in rows of `width`.
fn value_rows(width: usize, values: usize) -> String {
    debug_assert_eq!(values % width, 0, "a whole number of rows");
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row.as_str(); values / width].join(", ")
}

/// A table whose rows read back as `T`: its name, the columns a row is read from, and the
/// function that reads one.
pub(crate) struct Table<T> {
    /// What the rows are selected from: the table's name (with an alias where `columns`
    /// use one).
    name: &'static str,
    /// The columns `reader` needs, comma-separated.
    columns: &'static str,
    /// Reads one row's columns.
    reader: fn(&Columns<'_>) -> StoreResult<T>,
}

impl<T> Table<T> {
    /// The table `name` (with its alias, if `columns` use one), read by `reader`.
    pub(crate) const fn new(
        name: &'static str,
        columns: &'static str,
        reader: fn(&Columns<'_>) -> StoreResult<T>,
    ) -> Table<T> {
        Table {
            name,
            columns,
            reader,
        }
    }

    /// Reads one row that selected the table's columns (here or in a statement of its own);
    /// a value it cannot read names the table.
    pub(crate) fn read(&self, row: &AnyRow) -> StoreResult<T> {
        self.read_as(row, "")
    }

    /// Reads one row that selected the table's columns as `{prefix}{column}` (a statement
    /// that joins another table with columns of the same names; see [`Table::aliased`]).
    pub(crate) fn read_as(&self, row: &AnyRow, prefix: &'static str) -> StoreResult<T> {
        let table = self.name.split(' ').next().unwrap_or(self.name);
        (self.reader)(&Columns::prefixed(table, row, prefix))
    }

    /// The table's columns for a statement that joins it as `alias`, each selected as
    /// `{alias}.{column} AS {prefix}{column}`; the columns must be plain names.
    pub(crate) fn aliased(&self, alias: &str, prefix: &str) -> String {
        let named: Vec<String> = self
            .columns
            .split(',')
            .map(str::trim)
            .map(|c| format!("{alias}.{c} AS {prefix}{c}"))
            .collect();
        named.join(", ")
    }

    /// Every row `rest` (the statement after `FROM table`: its WHERE and ORDER BY) selects,
    /// its placeholders bound to `params`.
    pub(crate) async fn all(
        &self,
        conn: &mut AnyConnection,
        rest: &str,
        params: &[Param<'_>],
    ) -> StoreResult<Vec<T>> {
        let rows = bound(&self.select(rest), params).fetch_all(conn).await?;
        rows.iter().map(|r| self.read(r)).collect()
    }

    /// The first row `rest` selects, if any (see [`Table::all`]).
    pub(crate) async fn first(
        &self,
        conn: &mut AnyConnection,
        rest: &str,
        params: &[Param<'_>],
    ) -> StoreResult<Option<T>> {
        let row = bound(&self.select(rest), params)
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(|r| self.read(r)).transpose()
    }

    fn select(&self, rest: &str) -> String {
        numbered(&format!(
            "SELECT {} FROM {} {rest}",
            self.columns, self.name
        ))
    }
}

/// The chat accounts `sql` selects (one column of chat user ids), its placeholders bound to
/// `params`.
pub(crate) async fn chat_users(
    conn: &mut AnyConnection,
    sql: &str,
    params: &[Param<'_>],
) -> StoreResult<Vec<ChatUserId>> {
    let sql = numbered(sql);
    let rows = bound(&sql, params).fetch_all(conn).await?;
    rows.iter().map(|r| Ok(ChatUserId(r.try_get(0)?))).collect()
}

/// `sql` with its `?` placeholders numbered `$1`, `$2`, … in order, the form both databases
/// read: the shared statements are put together from pieces (a SET and a filter), each
/// written with `?`, so only the whole statement knows each one's number. A `?` inside a
/// quoted literal is left alone.
pub(crate) fn numbered(sql: &str) -> String {
    numbered_from(sql, 0)
}

/// [`numbered`], the first `?` numbered `after + 1`: a statement that follows others in one
/// query whose values come first.
pub(crate) fn numbered_from(sql: &str, after: usize) -> String {
    let mut n = after;
    let filled = fill_placeholders(sql, |out| {
        n += 1;
        out.push('$');
        out.push_str(&n.to_string());
        Ok::<(), std::convert::Infallible>(())
    });
    match filled {
        Ok(sql) => sql,
        Err(never) => match never {},
    }
}

/// `sql` with each `?` outside a quoted literal replaced by what `fill` writes for it,
/// called once for each, in order: the one home of finding a statement's placeholders.
pub(crate) fn fill_placeholders<E>(
    sql: &str,
    mut fill: impl FnMut(&mut String) -> Result<(), E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => fill(&mut out)?,
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// The text of `field` in the JSON object held in `column`, as an SQL expression: NULL when
/// the column holds no JSON object or the object no such field. (PostgreSQL has no
/// `json_valid`; its migration adds `json_field`, which reads a field or gives NULL.)
pub(crate) fn json_field(dialect: Dialect, column: &str, field: &str) -> String {
    match dialect {
        Dialect::Sqlite => {
            format!("(CASE WHEN json_valid({column}) THEN json_extract({column}, '$.{field}') END)")
        }
        Dialect::Postgres => format!("json_field({column}, '{field}')"),
    }
}

/// Whether the JSON array of strings in `column` holds the text bound to the one `?` this
/// condition has.
pub(crate) fn json_array_has(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("EXISTS (SELECT 1 FROM json_each({column}) WHERE value = ?)"),
        Dialect::Postgres => format!(
            "EXISTS (SELECT 1 FROM json_array_elements_text(CAST({column} AS json)) AS e (value)
                     WHERE e.value = ?)"
        ),
    }
}

/// A nullable real number as the text to bind for it, for a placeholder written
/// `CAST($N AS DOUBLE PRECISION)`. sqlx's `Any` driver gives PostgreSQL a NULL `f64` as a
/// single-precision NULL, so one statement bound with a number and with NULL in turn fails
/// ("incorrect binary data format"); as text both bind alike, and Rust's shortest form of an
/// `f64` reads back as the same number on either database.
pub(crate) fn real(value: Option<f64>) -> Option<String> {
    value.map(|v| v.to_string())
}

/// The statement `sql` with `params` bound to its placeholders in order.
pub(crate) fn bound<'q>(sql: &'q str, params: &'q [Param<'q>]) -> Query<'q, Any, AnyArguments<'q>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_names_the_table_it_changes() {
        let table = |sql: &str| Write::new("w", sql.into(), &[]).table().map(str::to_owned);
        assert_eq!(
            table("INSERT INTO outbox (a) VALUES (?)").as_deref(),
            Some("outbox")
        );
        assert_eq!(table("\n update jobs SET a = ?").as_deref(), Some("jobs"));
        assert_eq!(
            table("DELETE FROM seen_reactions WHERE a = ?").as_deref(),
            Some("seen_reactions")
        );
        assert_eq!(
            table("INSERT INTO outbox(a) VALUES (?)").as_deref(),
            Some("outbox")
        );
        assert_eq!(table("WITH x AS (SELECT 1) UPDATE outbox SET a = 1"), None);
        assert_eq!(table("INSERT INTO  "), None);
        assert_eq!(table("UPD"), None);
    }
}
