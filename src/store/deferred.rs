//! Writes a transaction holds back until it next needs the database, then sends together:
//! several statements in one round trip instead of one each.
//!
//! A write whose result nothing reads at once (a request's new state, a queued message, an
//! audit event) is handed to [`super::WriteTx::defer`]. The transaction keeps it until its
//! next statement (any use of [`super::WriteTx::conn`] sends the held writes first, so every
//! read sees them) or its commit, where the audit events it chained go with them. A statement
//! that touches no table of theirs may go ahead of them instead
//! ([`super::WriteTx::conn_for`]: the request's read and a job's insert pass the chat
//! actions queued, a job's claim and a licence term's read pass what came before them), so
//! a write held does not cost a round trip of its own. The held writes then go in order, as
//! one call:
//!
//! - **SQLite**: one multi-statement query, each statement's `?` numbered on from the
//!   previous one's (`$N` is the N-th value of the whole query) and every value bound; sqlx
//!   runs the statements one after another on its connection's thread and answers each.
//! - **PostgreSQL**: its extended protocol takes one statement per prepared query, so the
//!   held writes go as one simple query with their values written in as SQL literals
//!   ([`literal`]: a number, NULL, or text quoted the way PostgreSQL's own `quote_literal`
//!   does it, in the escape-string form whenever a backslash is in it, so the setting of
//!   `standard_conforming_strings` cannot change what it means). One write alone goes as it
//!   always did, prepared, with its values bound; so does a [`Write::private`] one, whose
//!   values must never stand in a statement's text: sqlx logs that text (at debug level,
//!   and as a warning when a statement is slow), and a direct message may carry a one-time
//!   link. The writes on either side of it go as runs of their own, unless it can go last:
//!   when no write after it names its table, the private ones go after the others
//!   ([`postgres_order`]), which then make one run.
//!
//! A transaction that read nothing and holds only such writes when it commits sends them
//! with its BEGIN and its COMMIT, in one call of the same kind ([`Held::commit_in_one`]):
//! unless a write expects a number of rows, or (on PostgreSQL) is private.
//!
//! Either way the statements run in order inside the open transaction: the first that fails
//! fails the call, the transaction is rolled back as any failed one, and nothing of it is
//! kept. A write may say how many rows it must change ([`Write::expecting`]); when it changes
//! another number the call fails (the transaction rolls back) rather than go on with a state
//! the caller did not read.
//!
//! A write held may also be dropped before it goes: when a later one sets all it set
//! ([`Write::setting`]: a request's state set twice in one transaction, approved and then
//! executing) and nothing held between them names its table, only the later one runs.

use futures_util::TryStreamExt;
use sqlx::{AnyConnection, Either, Executor};

use super::sql::{bound, fill_placeholders, numbered, numbered_from, Param, Write};
use super::{Dialect, StoreError, StoreResult};

/// The writes a transaction holds, in the order they were made.
#[derive(Debug, Default)]
pub(crate) struct Held {
    writes: Vec<Write>,
}

impl Held {
    /// Holds `write` until the next [`Held::send`]. When it sets what a held write set
    /// entirely ([`Write::setting`]), that one goes: unless a write held after it names its
    /// table (which may read what it set), or either expects a number of rows (the count
    /// would change).
    pub(crate) fn push(&mut self, write: Write) {
        if let Some(i) = self.replaced_by(&write) {
            self.writes.remove(i);
        }
        self.writes.push(write);
    }

    /// The position of the held write `write` takes the place of, if any.
    fn replaced_by(&self, write: &Write) -> Option<usize> {
        let key = &write.sets.as_ref()?.key;
        if write.expect.is_some() {
            return None;
        }
        let i = self
            .writes
            .iter()
            .rposition(|w| w.sets.as_ref().is_some_and(|s| &s.key == key))?;
        let earlier = &self.writes[i];
        let table = earlier.table()?;
        let covered = earlier.sets.as_ref().is_some_and(|s| s.covered);
        let untouched = self.writes[i + 1..].iter().all(|w| !w.names(table));
        (covered && earlier.expect.is_none() && untouched).then_some(i)
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Whether no write held changes any of `tables` (each names the table it changes, and
    /// none is one of them), so a statement that reads or writes those tables alone need
    /// not wait for them.
    pub(crate) fn clear_of(&self, tables: &[&str]) -> bool {
        self.writes
            .iter()
            .all(|w| w.table().is_some_and(|t| !tables.contains(&t)))
    }

    /// Sends every held write, in order, in one call; returns how many rows each changed.
    /// Nothing is held afterwards, whether it succeeded or not.
    pub(crate) async fn send(
        &mut self,
        conn: &mut AnyConnection,
        dialect: Dialect,
    ) -> StoreResult<Vec<u64>> {
        let writes = std::mem::take(&mut self.writes);
        let changed = match (writes.as_slice(), dialect) {
            ([], _) => return Ok(Vec::new()),
            ([one], _) => vec![run_one(conn, one).await?],
            (many, Dialect::Sqlite) => run_bound(conn, many).await?,
            (many, Dialect::Postgres) => run_postgres(conn, many).await?,
        };
        if changed.len() != writes.len() {
            return Err(super::corrupt(
                "deferred writes",
                format!(
                    "{} statements answered {} times",
                    writes.len(),
                    changed.len()
                ),
            ));
        }
        for (write, &rows) in writes.iter().zip(&changed) {
            checked(write, rows)?;
        }
        Ok(changed)
    }

    /// Whether the held writes may go in one call with their transaction's BEGIN and
    /// COMMIT ([`Held::commit_in_one`]): none expects a number of rows (the count comes
    /// back only once the COMMIT ran, too late to roll back), and on PostgreSQL none is
    /// private (the call is one simple query, every value written into its text).
    pub(crate) fn commit_foldable(&self, dialect: Dialect) -> bool {
        self.writes
            .iter()
            .all(|w| w.expect.is_none() && (dialect == Dialect::Sqlite || !w.private))
    }

    /// A whole transaction in one call: `begin` (one or more statements), every held write
    /// in order, then `COMMIT`, where [`Held::send`] and the commit would take three (one
    /// round trip each on PostgreSQL, one hand-off to the connection's thread each on
    /// SQLite). Only for writes [`Held::commit_foldable`] allows. Nothing is held afterwards.
    ///
    /// The database stops at the first statement that fails, which may leave the
    /// transaction open on `conn` where sqlx does not know of it: on an error the caller
    /// must close `conn`, never give it back ([`super::writer::close`]).
    pub(crate) async fn commit_in_one(
        &mut self,
        conn: &mut AnyConnection,
        dialect: Dialect,
        begin: &str,
    ) -> StoreResult<()> {
        let writes = std::mem::take(&mut self.writes);
        let writes: Vec<&Write> = writes.iter().collect();
        let answers = match dialect {
            Dialect::Sqlite => {
                let (script, params) = bound_script(&writes);
                let sql = format!("{begin};\n{script}COMMIT;");
                counts(conn.fetch_many(bound(&sql, &params))).await?
            }
            Dialect::Postgres => {
                let sql = format!("{begin};\n{}COMMIT;", literal_script(&writes)?);
                counts(conn.fetch_many(sqlx::raw_sql(&sql))).await?
            }
        };
        let begun = begin.split(';').filter(|s| !s.trim().is_empty()).count();
        if answers.len() != begun + writes.len() + 1 {
            return Err(super::corrupt(
                "deferred writes",
                format!(
                    "a transaction of {} writes, begun and committed in one call, answered {} \
                     times",
                    writes.len(),
                    answers.len()
                ),
            ));
        }
        Ok(())
    }
}

/// `rows`, the rows `write` changed, unless it was to change another number.
fn checked(write: &Write, rows: u64) -> StoreResult<u64> {
    match write.expect {
        Some(expected) if expected != rows => Err(StoreError::Unapplied {
            what: write.what,
            expected,
            changed: rows,
        }),
        _ => Ok(rows),
    }
}

/// One write, prepared and bound as any statement.
async fn run_one(conn: &mut AnyConnection, write: &Write) -> StoreResult<u64> {
    let sql = numbered(&write.sql);
    Ok(bound(&sql, &write.params)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Several writes as one SQLite query: placeholders numbered across them, values bound.
async fn run_bound(conn: &mut AnyConnection, writes: &[Write]) -> StoreResult<Vec<u64>> {
    let writes: Vec<&Write> = writes.iter().collect();
    let (sql, params) = bound_script(&writes);
    let results = conn.fetch_many(bound(&sql, &params));
    counts(results).await
}

/// `writes` as one SQLite query, each statement ended by `;` and a new line, and its
/// values: each `?` numbered on from the previous statements' (`$N` is the N-th value).
fn bound_script<'w>(writes: &[&'w Write]) -> (String, Vec<Param<'w>>) {
    let mut sql = String::new();
    let mut params = Vec::new();
    for write in writes {
        sql.push_str(&numbered_from(&write.sql, params.len()));
        sql.push_str(";\n");
        params.extend(write.params.iter().cloned());
    }
    (sql, params)
}

/// Several writes on PostgreSQL: each run of them that may be written in as literals in one
/// simple query, each private one (and a run of one) prepared and bound; the private ones
/// last when nothing after them touches their tables ([`postgres_order`]). The rows each
/// changed come back in the order the writes were given.
async fn run_postgres(conn: &mut AnyConnection, writes: &[Write]) -> StoreResult<Vec<u64>> {
    let order = postgres_order(writes);
    let ordered: Vec<&Write> = order.iter().map(|&i| &writes[i]).collect();
    let mut changed = Vec::with_capacity(writes.len());
    for run in runs(&ordered) {
        match run {
            [one] => changed.push(run_one(conn, one).await?),
            many => changed.extend(run_literal(conn, many).await?),
        }
    }
    if changed.len() != writes.len() {
        // The caller refuses a count that differs from the writes'; nothing to put back.
        return Ok(changed);
    }
    let mut given = vec![0; writes.len()];
    for (&i, rows) in order.iter().zip(changed) {
        given[i] = rows;
    }
    Ok(given)
}

/// The order PostgreSQL runs `writes` in, as their positions: the private writes after all
/// the others (which then make one run instead of one on each side of each private write)
/// when no write that follows a private one names its table anywhere in its statement (so
/// none reads or changes what the private one changes: no table refers to another by a
/// trigger here, nor by a key to a table a private write changes); else as given.
fn postgres_order(writes: &[Write]) -> Vec<usize> {
    let movable = writes
        .iter()
        .enumerate()
        .filter(|(_, w)| w.private)
        .all(|(i, p)| {
            p.table()
                .is_some_and(|table| writes[i + 1..].iter().all(|w| w.private || !w.names(table)))
        });
    let (mut order, private): (Vec<usize>, Vec<usize>) =
        (0..writes.len()).partition(|&i| !movable || !writes[i].private);
    order.extend(private);
    order
}

/// `writes` in order, cut into runs: each private write alone, the others in the longest
/// runs between them.
fn runs<'w>(writes: &'w [&'w Write]) -> Vec<&'w [&'w Write]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for (i, write) in writes.iter().enumerate() {
        if write.private {
            if start < i {
                runs.push(&writes[start..i]);
            }
            runs.push(&writes[i..=i]);
            start = i + 1;
        }
    }
    if start < writes.len() {
        runs.push(&writes[start..]);
    }
    runs
}

/// Several writes as one PostgreSQL simple query, their values written in as literals.
async fn run_literal(conn: &mut AnyConnection, writes: &[&Write]) -> StoreResult<Vec<u64>> {
    let sql = literal_script(writes)?;
    let results = conn.fetch_many(sqlx::raw_sql(&sql));
    counts(results).await
}

/// `writes` as one PostgreSQL simple query, their values written in as literals, each
/// statement ended by `;` and a new line.
fn literal_script(writes: &[&Write]) -> StoreResult<String> {
    let mut sql = String::new();
    for write in writes {
        sql.push_str(&with_literals(&write.sql, &write.params)?);
        sql.push_str(";\n");
    }
    Ok(sql)
}

/// The rows each statement of a multi-statement query changed, in order.
async fn counts<R, S>(results: S) -> StoreResult<Vec<u64>>
where
    S: futures_util::Stream<Item = Result<Either<sqlx::any::AnyQueryResult, R>, sqlx::Error>>,
{
    let mut changed = Vec::new();
    futures_util::pin_mut!(results);
    while let Some(result) = results.try_next().await? {
        if let Either::Left(done) = result {
            changed.push(done.rows_affected());
        }
    }
    Ok(changed)
}

/// `sql` with each `?` outside a quoted literal replaced by the SQL literal of the next of
/// `params`. Fails when the counts differ, or on text PostgreSQL cannot hold (a NUL).
fn with_literals(sql: &str, params: &[Param<'_>]) -> StoreResult<String> {
    let mut values = params.iter();
    let out = fill_placeholders(sql, |out| {
        let value = values
            .next()
            .ok_or_else(|| super::corrupt("deferred writes", "more ? than values"))?;
        out.push_str(&literal(value)?);
        Ok::<(), StoreError>(())
    })?;
    if values.next().is_some() {
        return Err(super::corrupt("deferred writes", "more values than ?"));
    }
    Ok(out)
}

/// A value as a PostgreSQL literal. Numbers are written in decimal (a negative one in
/// parentheses, so no `-` can join the one before it into a comment), absent values as a
/// NULL of the type a bound one has (a bare NULL in a `VALUES` row would make its column
/// text), text between single quotes with each quote doubled; text holding a backslash is
/// written as an escape string (`E'…'`, each backslash doubled too), which reads the same
/// whatever `standard_conforming_strings` is set to. A NUL is refused: PostgreSQL's text
/// cannot hold one (bound, it fails as well), and the simple query would end at it.
fn literal(value: &Param<'_>) -> StoreResult<String> {
    let text = match value {
        Param::Int(Some(n)) if *n < 0 => return Ok(format!("({n})")),
        Param::Int(Some(n)) => return Ok(n.to_string()),
        Param::Int(None) => return Ok("CAST(NULL AS BIGINT)".into()),
        Param::Text(None) | Param::Owned(None) => return Ok("CAST(NULL AS TEXT)".into()),
        Param::Text(Some(s)) => *s,
        Param::Owned(Some(s)) => s.as_str(),
    };
    if text.contains('\0') {
        return Err(StoreError::Sqlx(sqlx::Error::Encode(
            "text holding a NUL character cannot be stored".into(),
        )));
    }
    let doubled = text.replace('\'', "''");
    Ok(if text.contains('\\') {
        format!(" E'{}'", doubled.replace('\\', "\\\\"))
    } else {
        format!("'{doubled}'")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_quote_text_and_keep_numbers_apart() {
        assert_eq!(literal(&Param::Int(Some(42))).unwrap(), "42");
        assert_eq!(literal(&Param::Int(Some(-7))).unwrap(), "(-7)");
        assert_eq!(literal(&Param::Int(None)).unwrap(), "CAST(NULL AS BIGINT)");
        assert_eq!(literal(&Param::Text(None)).unwrap(), "CAST(NULL AS TEXT)");
        assert_eq!(literal(&Param::from("o'brien")).unwrap(), "'o''brien'");
        assert_eq!(literal(&Param::from(r"a\'b")).unwrap(), r" E'a\\''b'");
        assert!(literal(&Param::from("a\0b")).is_err());
    }

    #[test]
    fn private_writes_go_alone_and_the_others_in_runs_between_them() {
        let write = |what| Write::new(what, "UPDATE t SET a = ?".into(), &[1.into()]);
        let writes = [
            write("a"),
            write("b"),
            write("p1").private(),
            write("c"),
            write("p2").private(),
            write("p3").private(),
            write("d"),
            write("e"),
        ];
        let refs: Vec<&Write> = writes.iter().collect();
        let cut: Vec<Vec<&str>> = runs(&refs)
            .iter()
            .map(|run| run.iter().map(|w| w.what).collect())
            .collect();
        let expected = [
            vec!["a", "b"],
            vec!["p1"],
            vec!["c"],
            vec!["p2"],
            vec!["p3"],
            vec!["d", "e"],
        ];
        assert_eq!(cut, expected);
        assert_eq!(runs(&refs[..2]).len(), 1);
        assert!(runs(&[]).is_empty());
    }

    #[test]
    fn private_writes_go_last_unless_a_later_write_names_their_table() {
        let write = |sql: &str| Write::new("w", sql.into(), &[1.into()]);
        let edit = write("INSERT INTO outbox (a) VALUES (?)");
        let dm = write("INSERT INTO outbox (a) VALUES (?)").private();
        let job = write("UPDATE jobs SET a = ? WHERE id = 1");
        let audit = write("INSERT INTO audit_events (a) VALUES (?)");
        let reads_outbox =
            write("UPDATE stages SET a = ? WHERE id IN (SELECT stage_id FROM outbox)");
        let order = |writes: &[&Write]| {
            let owned: Vec<Write> = writes.iter().map(|&w| w.clone()).collect();
            postgres_order(&owned)
        };
        assert_eq!(order(&[&edit, &dm, &job, &dm, &audit]), [0, 2, 4, 1, 3]);
        assert_eq!(
            order(&[&dm, &edit, &job]),
            [0, 1, 2],
            "a later action stays after"
        );
        assert_eq!(order(&[&job, &dm, &reads_outbox]), [0, 1, 2]);
        let unknown = write("WITH x AS (SELECT 1) UPDATE outbox SET a = ?").private();
        assert_eq!(order(&[&unknown, &job]), [0, 1]);
        assert_eq!(order(&[&job, &audit]), [0, 1]);
    }

    #[test]
    fn a_later_write_setting_the_same_takes_the_place_of_one_held_unless_something_reads_it() {
        let state = |what: &'static str, covered: bool| {
            Write::new(
                what,
                "UPDATE requests SET state = ? WHERE id = 1".into(),
                &[1.into()],
            )
            .setting("requests.state 1".into(), covered)
        };
        let other_request = Write::new(
            "other",
            "UPDATE requests SET state = ? WHERE id = 2".into(),
            &[1.into()],
        )
        .setting("requests.state 2".into(), true);
        let outbox = Write::new(
            "post",
            "INSERT INTO outbox (a) VALUES (?)".into(),
            &[1.into()],
        );
        let reads = Write::new(
            "reads",
            "INSERT INTO outbox (a) SELECT id FROM requests WHERE id = ?".into(),
            &[1.into()],
        );
        let held = |writes: Vec<Write>| {
            let mut held = Held::default();
            for w in writes {
                held.push(w);
            }
            held.writes.iter().map(|w| w.what).collect::<Vec<_>>()
        };
        assert_eq!(
            held(vec![
                state("approved", true),
                outbox,
                state("executing", true)
            ]),
            ["post", "executing"]
        );
        assert_eq!(
            held(vec![
                state("approved", true),
                other_request,
                state("executing", true)
            ]),
            ["approved", "other", "executing"],
            "a write between names the table, though of another row"
        );
        assert_eq!(
            held(vec![
                state("approved", true),
                reads,
                state("executing", true)
            ]),
            ["approved", "reads", "executing"],
            "a write between names the table"
        );
        assert_eq!(
            held(vec![state("completed", false), state("executing", true)]),
            ["completed", "executing"],
            "the earlier one sets more"
        );
        assert_eq!(
            held(vec![
                state("approved", true).expecting(1),
                state("executing", true)
            ]),
            ["approved", "executing"],
            "the earlier one's count is checked"
        );
        assert_eq!(
            held(vec![
                state("approved", true),
                state("executing", true).expecting(1)
            ]),
            ["approved", "executing"],
            "the later one's count would include the earlier's row"
        );
        assert_eq!(
            held(vec![state("a", true), state("b", true), state("c", true)]),
            ["c"]
        );
    }

    #[test]
    fn placeholders_inside_quoted_text_stay_and_counts_must_match() {
        let sql = "UPDATE t SET a = ?, b = 'why?' WHERE id = ? AND c - ? > 0";
        let params = [Param::from("x'; DROP TABLE t; --"), 5.into(), (-1).into()];
        assert_eq!(
            with_literals(sql, &params).unwrap(),
            "UPDATE t SET a = 'x''; DROP TABLE t; --', b = 'why?' WHERE id = 5 AND c - (-1) > 0"
        );
        assert!(with_literals(sql, &params[..2]).is_err());
        assert!(with_literals("SELECT ?", &params).is_err());
    }
}
