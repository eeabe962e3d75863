//! Reading a stored row back into domain types. Every read names the row's table, so a value
//! the bot cannot read back is reported as a corrupt row of that table.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Row, Type};

use super::{corrupt, parse_opt_ts, parse_opt_word, parse_ts, parse_word, StoreResult, Timestamp};
use crate::domain::ChatUserId;

/// What a column reads as directly: numbers and text. A flag is not among them: both
/// databases keep flags as whole numbers, read with [`Columns::flag`].
pub(crate) trait Plain {}
impl Plain for i64 {}
impl Plain for f64 {}
impl Plain for String {}
impl Plain for &str {}
impl<T: Plain> Plain for Option<T> {}

/// One row of `table`, read column by column.
pub(crate) struct Columns<'r> {
    row: &'r AnyRow,
    table: &'static str,
    /// What the table's columns are named with in `row` (empty: their own names), where a
    /// statement joined two tables that share column names.
    prefix: &'static str,
}

impl<'r> Columns<'r> {
    /// The row `row` of `table`.
    pub(crate) fn new(table: &'static str, row: &'r AnyRow) -> Self {
        Columns::prefixed(table, row, "")
    }

    /// The row `row` of `table`, its columns selected as `{prefix}{column}`.
    pub(crate) fn prefixed(table: &'static str, row: &'r AnyRow, prefix: &'static str) -> Self {
        Columns { row, table, prefix }
    }

    /// A column as the database hands it over (numbers, free text).
    pub(crate) fn get<T>(&self, column: &str) -> StoreResult<T>
    where
        T: Plain + Decode<'r, Any> + Type<Any>,
    {
        if self.prefix.is_empty() {
            return Ok(self.row.try_get(column)?);
        }
        Ok(self
            .row
            .try_get(format!("{}{column}", self.prefix).as_str())?)
    }

    /// A flag column (0 or 1: both databases keep flags as whole numbers).
    pub(crate) fn flag(&self, column: &str) -> StoreResult<bool> {
        Ok(self.get::<i64>(column)? != 0)
    }

    /// A column holding a word or name the bot parses (an enum word, a UPN).
    pub(crate) fn word<T: FromStr>(&self, column: &str) -> StoreResult<T>
    where
        T::Err: std::fmt::Display,
    {
        parse_word(self.table, self.get(column)?)
    }

    /// A nullable column holding a word or name the bot parses.
    pub(crate) fn opt_word<T: FromStr>(&self, column: &str) -> StoreResult<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        parse_opt_word(self.table, self.get(column)?)
    }

    /// A timestamp column.
    pub(crate) fn at(&self, column: &str) -> StoreResult<Timestamp> {
        parse_ts(self.table, self.get(column)?)
    }

    /// A nullable timestamp column.
    pub(crate) fn opt_at(&self, column: &str) -> StoreResult<Option<Timestamp>> {
        parse_opt_ts(self.table, self.get(column)?)
    }

    /// A chat account column.
    pub(crate) fn user(&self, column: &str) -> StoreResult<ChatUserId> {
        Ok(ChatUserId(self.get(column)?))
    }

    /// A nullable text column wrapped in the identifier type `wrap` makes (a chat account,
    /// channel or message).
    pub(crate) fn opt_id<T>(&self, column: &str, wrap: fn(String) -> T) -> StoreResult<Option<T>> {
        Ok(self.get::<Option<String>>(column)?.map(wrap))
    }

    /// A column holding JSON.
    pub(crate) fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        serde_json::from_str(self.get(column)?).map_err(|e| corrupt(self.table, e))
    }
}
