//! `audit_events`: the append-only, hash-chained history of every transition.
//!
//! Each row's hash is SHA-256 over the previous row's hash and the row's own fields, so
//! changing, removing or reordering any row breaks the chain from that row on. Triggers in the
//! schema refuse UPDATE and DELETE; the chain catches what gets past them (a hand-edited file).

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::row::Columns;
use super::sql::{
    insert, insert_if_later, insert_later as insert_later_all, json_field, Param, Table, Write,
};
use super::{ts, Dialect, StoreResult, Timestamp};
use crate::domain::{RequestId, RequestKind};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event about to be written.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The request it concerns, if any.
    pub request: Option<RequestId>,
    /// Who: `chat:<user>`, `system`, `cli`.
    pub actor: &'a str,
    /// What happened, a short snake_case word (`request_created`, `stage_approved`, ...).
    pub action: &'a str,
    /// State before.
    pub before: Option<&'a str>,
    /// State after.
    pub after: Option<&'a str>,
    /// Details, free text or JSON.
    pub detail: &'a str,
}

/// A stored audit event.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Position in the chain.
    pub id: i64,
    /// The request it concerns.
    pub request_id: Option<i64>,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// State before.
    pub before: Option<String>,
    /// State after.
    pub after: Option<String>,
    /// Details.
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Rows checked.
    pub checked: i64,
    /// The first row where the chain breaks, and why.
    pub broken_at: Option<(i64, String)>,
    /// At the break, the hash the chain expects there: the row's own hash computed from its
    /// fields, or (when the row does not follow the one before it) the previous row's hash.
    /// `None` when intact, or when the row cannot be read at all.
    pub expected: Option<String>,
    /// At the break, the hash found in the row: its stored hash, or its `prev_hash`.
    pub found: Option<String>,
}

impl ChainCheck {
    /// True when no break was found.
    pub fn intact(&self) -> bool {
        self.broken_at.is_none()
    }

    fn intact_after(checked: i64) -> ChainCheck {
        ChainCheck {
            checked,
            broken_at: None,
            expected: None,
            found: None,
        }
    }

    fn broken_after(checked: i64, b: Broken) -> ChainCheck {
        ChainCheck {
            checked,
            broken_at: Some((b.row, b.why)),
            expected: b.expected,
            found: b.found,
        }
    }
}

/// Where one row breaks the chain.
struct Broken {
    row: i64,
    why: String,
    expected: Option<String>,
    found: Option<String>,
}

impl Broken {
    fn hashes(row: i64, why: impl Into<String>, expected: &str, found: &str) -> Broken {
        Broken {
            row,
            why: why.into(),
            expected: Some(expected.to_string()),
            found: Some(found.to_string()),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn hash_of(
    prev: &str,
    id: i64,
    request: Option<i64>,
    at: &str,
    actor: &str,
    action: &str,
    before: Option<&str>,
    after: Option<&str>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    let request = request.map(|r| r.to_string()).unwrap_or_default();
    for part in [
        prev,
        &id.to_string(),
        &request,
        at,
        actor,
        action,
        before.unwrap_or("\u{0}"),
        after.unwrap_or("\u{0}"),
        detail,
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

/// An event placed on the hash chain and not yet written: what its row will hold.
#[derive(Debug, Clone)]
pub(super) struct Chained {
    id: i64,
    request: Option<i64>,
    at: String,
    actor: String,
    action: String,
    before: Option<String>,
    after: Option<String>,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl Chained {
    /// Its position in the chain.
    pub(super) fn id(&self) -> i64 {
        self.id
    }

    /// Its id and hash: the chain's head once it is written, if it is the last.
    pub(super) fn head(&self) -> (i64, String) {
        (self.id, self.hash.clone())
    }

    /// Places the event right after `prev` (id and hash of the event before it): its id,
    /// its link to `prev` and its own hash; returns its own id and hash.
    fn place_after(&mut self, (prev_id, prev_hash): (i64, String)) -> (i64, String) {
        self.id = prev_id + 1;
        self.hash = hash_of(
            &prev_hash,
            self.id,
            self.request,
            &self.at,
            &self.actor,
            &self.action,
            self.before.as_deref(),
            self.after.as_deref(),
            &self.detail,
        );
        self.prev_hash = prev_hash;
        (self.id, self.hash.clone())
    }
}

/// Places an event on the hash chain after its `head` (id and hash of the last event), read
/// when `None` and moved on to the new event: a transaction that appends several events
/// reads the head once (no other writer can append while it holds the write lock). The
/// event is written by [`insert_later`] with the transaction's others. Called through
/// [`super::WriteTx::append_audit`], which keeps the head and the events (and may start
/// from a head it knows without reading it: see [`insert_later`]).
pub(super) async fn chain(
    conn: &mut AnyConnection,
    head: &mut Option<(i64, String)>,
    e: &NewEvent<'_>,
    at: Timestamp,
) -> StoreResult<Chained> {
    let prev = match head.take() {
        Some(head) => head,
        None => read_head(conn).await?,
    };
    let mut event = Chained {
        id: 0,
        request: e.request.map(|r| r.0),
        at: ts(at),
        actor: e.actor.to_string(),
        action: e.action.to_string(),
        before: e.before.map(str::to_string),
        after: e.after.map(str::to_string),
        detail: e.detail.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    };
    *head = Some(event.place_after(prev));
    Ok(event)
}

/// The chain's head as the database has it: the last event's id and hash ((0, [`GENESIS`])
/// while there is none).
async fn read_head(conn: &mut AnyConnection) -> StoreResult<(i64, String)> {
    Ok(
        sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or((0, GENESIS.to_string())),
    )
}

/// The columns of an event's row, in the order [`insert_all`] binds them.
const INSERTED: [&str; 10] = [
    "id",
    "request_id",
    "at",
    "actor",
    "action",
    "before_state",
    "after_state",
    "detail",
    "prev_hash",
    "hash",
];

/// Writes the events a transaction chained, in one statement.
pub(super) async fn insert_all(conn: &mut AnyConnection, events: &[Chained]) -> StoreResult<()> {
    insert(conn, "audit_events", &INSERTED, &row_params(events)).await?;
    Ok(())
}

/// The statement that writes the events a transaction chained, held back to go with its
/// commit (none when it chained none). When `head_unread`, they were placed after a head
/// the transaction knew without reading it (the head as this process last committed it),
/// and the statement inserts them only if that is still the chain's head: when it inserts
/// none, [`chain_again`] places them after the head as it is.
pub(super) fn insert_later(events: &[Chained], head_unread: bool) -> Option<Write> {
    const HEAD_IS: &str =
        "COALESCE((SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1), ?) = ?";
    let first = events.first()?;
    let mut params = row_params(events);
    let table = ("audit_events", &INSERTED[..]);
    if !head_unread {
        return insert_later_all("audit events", table, &params);
    }
    params.extend([Param::from(GENESIS), Param::from(first.prev_hash.as_str())]);
    insert_if_later("audit events", table, events.len(), HEAD_IS, &params)
}

/// Places `events` (which [`insert_later`]'s checked insert did not write: another process
/// appended since the head they were placed after) after the chain's head as it is, and
/// writes them: the chain stays whole. Returns the events as written.
pub(super) async fn chain_again(
    conn: &mut AnyConnection,
    mut events: Vec<Chained>,
) -> StoreResult<Vec<Chained>> {
    tracing::debug!(
        "the audit chain moved on in another process; this transaction's events are chained again"
    );
    let mut head = read_head(conn).await?;
    for event in &mut events {
        head = event.place_after(head);
    }
    insert_all(conn, &events).await?;
    Ok(events)
}

/// The values of `events`' rows, in the order of [`INSERTED`].
fn row_params(events: &[Chained]) -> Vec<Param<'_>> {
    let mut params: Vec<Param<'_>> = Vec::with_capacity(events.len() * INSERTED.len());
    for e in events {
        params.extend([
            Param::from(e.id),
            Param::Int(e.request),
            Param::from(e.at.as_str()),
            Param::from(e.actor.as_str()),
            Param::from(e.action.as_str()),
            e.before.as_deref().into(),
            e.after.as_deref().into(),
            Param::from(e.detail.as_str()),
            Param::from(e.prev_hash.as_str()),
            Param::from(e.hash.as_str()),
        ]);
    }
    params
}

const EVENTS: Table<Event> = Table::new("audit_events", COLUMNS, from_row);

fn from_row(c: &Columns<'_>) -> StoreResult<Event> {
    Ok(Event {
        id: c.get("id")?,
        request_id: c.get("request_id")?,
        at: c.at("at")?,
        actor: c.get("actor")?,
        action: c.get("action")?,
        before: c.get("before_state")?,
        after: c.get("after_state")?,
        detail: c.get("detail")?,
        prev_hash: c.get("prev_hash")?,
        hash: c.get("hash")?,
    })
}

const COLUMNS: &str =
    "id, request_id, at, actor, action, before_state, after_state, detail, prev_hash, hash";

/// The events of one request, oldest first.
pub async fn for_request(conn: &mut AnyConnection, id: RequestId) -> StoreResult<Vec<Event>> {
    EVENTS
        .all(conn, "WHERE request_id = ? ORDER BY id", &[id.0.into()])
        .await
}

/// The events about a chat account's links (they belong to no request), oldest first.
pub async fn for_link(
    conn: &mut AnyConnection,
    chat_user: &crate::domain::ChatUserId,
) -> StoreResult<Vec<Event>> {
    let chat_user_field = json_field(Dialect::of(conn), "detail", "chat_user");
    let rest = format!("WHERE request_id IS NULL AND {chat_user_field} = ? ORDER BY id");
    EVENTS.all(conn, &rest, &[chat_user.as_str().into()]).await
}

fn check_row(e: &Event, expected_prev: &str) -> Option<Broken> {
    if e.prev_hash != expected_prev {
        return Some(Broken::hashes(
            e.id,
            "it does not follow the row before it (a row was changed, removed or inserted)",
            expected_prev,
            &e.prev_hash,
        ));
    }
    let at = ts(e.at);
    let want = hash_of(
        &e.prev_hash,
        e.id,
        e.request_id,
        &at,
        &e.actor,
        &e.action,
        e.before.as_deref(),
        e.after.as_deref(),
        &e.detail,
    );
    (want != e.hash).then(|| {
        Broken::hashes(
            e.id,
            "its contents do not match its hash (the row was changed)",
            &want,
            &e.hash,
        )
    })
}

/// Reads one row for the chain check: a row the bot cannot read back (a hand-edited time,
/// say) breaks the chain there rather than failing the check.
fn chain_row(row: &AnyRow) -> StoreResult<Result<Event, Broken>> {
    use sqlx::Row;
    match EVENTS.read(row) {
        Ok(e) => Ok(Ok(e)),
        Err(super::StoreError::Corrupt { detail, .. }) => Ok(Err(Broken {
            row: row.try_get("id")?,
            why: format!("the row cannot be read: {detail}"),
            expected: None,
            found: None,
        })),
        Err(e) => Err(e),
    }
}

/// Checks the whole chain from the first row, streaming so memory stays flat.
pub async fn verify_chain(conn: &mut AnyConnection) -> StoreResult<ChainCheck> {
    use futures_util::TryStreamExt;
    let sql = format!("SELECT {COLUMNS} FROM audit_events ORDER BY id");
    let mut rows = sqlx::query(&sql).fetch(conn);
    let mut prev = GENESIS.to_string();
    let mut expected_id = 1;
    let mut checked = 0;
    while let Some(row) = rows.try_next().await? {
        checked += 1;
        let e = match chain_row(&row)? {
            Ok(e) => e,
            Err(broken) => return Ok(ChainCheck::broken_after(checked, broken)),
        };
        if e.id != expected_id {
            let why = format!("row {expected_id} is missing");
            let broken = Broken::hashes(e.id, why, &prev, &e.prev_hash);
            return Ok(ChainCheck::broken_after(checked, broken));
        }
        if let Some(broken) = check_row(&e, &prev) {
            return Ok(ChainCheck::broken_after(checked, broken));
        }
        prev = e.hash;
        expected_id += 1;
    }
    Ok(ChainCheck::intact_after(checked))
}

/// Checks the rows of one request: each row's own hash, and its link to the row before it.
pub async fn verify_request(conn: &mut AnyConnection, id: RequestId) -> StoreResult<ChainCheck> {
    let events = for_request(&mut *conn, id).await?;
    let mut checked = 0;
    for e in &events {
        checked += 1;
        let prev: Option<String> = if e.id == 1 {
            Some(GENESIS.to_string())
        } else {
            hash_of_row(&mut *conn, e.id - 1).await?
        };
        let broken = match prev {
            None => Some(Broken {
                row: e.id,
                why: format!("row {} before it is missing", e.id - 1),
                expected: None,
                found: Some(e.prev_hash.clone()),
            }),
            Some(prev) => check_row(e, &prev),
        };
        if let Some(broken) = broken {
            return Ok(ChainCheck::broken_after(checked, broken));
        }
    }
    Ok(ChainCheck::intact_after(checked))
}

/// The stored hash of row `id`, if there is such a row.
pub async fn hash_of_row(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

/// An audit event as it leaves the database (`licensebot audit export`, the live sink): the
/// row, with the target of the request it concerns. Serialized, it is one JSON line with the
/// fields in this order; `at` is written as stored, so the hashes can be checked again from
/// the line alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Position in the chain.
    pub id: i64,
    /// When.
    #[serde(serialize_with = "as_stored")]
    pub at: Timestamp,
    /// Who (`chat:<user>`, `system`, `web`).
    pub actor: String,
    /// What (an [`AuditAction`](crate::domain::AuditAction) word).
    pub action: String,
    /// The directory user the request is for, when the event concerns a request with one.
    pub target: Option<String>,
    /// The request it concerns.
    pub request_id: Option<i64>,
    /// State before.
    pub before: Option<String>,
    /// State after: the outcome.
    pub after: Option<String>,
    /// Details, free text or JSON.
    pub detail: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
    /// The kind of the request it concerns (not part of the line: the OCSF mapping reads it).
    #[serde(skip)]
    pub request_kind: Option<RequestKind>,
}

fn as_stored<S: serde::Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts(*at))
}

/// The columns of a [`Record`]: the event and its request's target and kind.
macro_rules! select_records {
    () => {
        "SELECT a.id, a.request_id, a.at, a.actor, a.action, a.before_state, a.after_state,
                a.detail, a.prev_hash, a.hash, r.target_upn, r.kind AS request_kind
           FROM audit_events a LEFT JOIN requests r ON r.id = a.request_id"
    };
}

const RECORDS_BETWEEN: &str = concat!(
    select_records!(),
    " WHERE a.at >= $1 AND ($2 IS NULL OR a.at < $2) ORDER BY a.id"
);

const RECORDS_AFTER: &str = concat!(select_records!(), " WHERE a.id > $1 ORDER BY a.id LIMIT $2");

fn record_from_row(r: &AnyRow) -> StoreResult<Record> {
    let e = EVENTS.read(r)?;
    let c = Columns::new("audit_events", r);
    Ok(Record {
        id: e.id,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: c.get("target_upn")?,
        request_id: e.request_id,
        before: e.before,
        after: e.after,
        detail: e.detail,
        prev_hash: e.prev_hash,
        hash: e.hash,
        request_kind: c.opt_word("request_kind")?,
    })
}

/// Every event from `since` (inclusive) to `until` (exclusive; `None`: no end), in chain
/// order, as a stream: memory stays flat however many there are.
pub fn records_between(
    conn: &mut AnyConnection,
    since: Timestamp,
    until: Option<Timestamp>,
) -> impl futures_util::Stream<Item = StoreResult<Record>> + '_ {
    use futures_util::StreamExt;
    sqlx::query(RECORDS_BETWEEN)
        .bind(ts(since))
        .bind(until.map(ts))
        .fetch(conn)
        .map(|row| record_from_row(&row?))
}

/// Up to `limit` events after row `after`, in chain order.
pub async fn records_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<Record>> {
    let rows = sqlx::query(RECORDS_AFTER)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(record_from_row).collect()
}
