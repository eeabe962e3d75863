//! `audit_events`: the append-only, hash-chained history of every transition.
//!
//! Each row's hash is SHA-256 over the previous row's hash and the row's own fields, so
//! changing, removing or reordering any row breaks the chain from that row on. Triggers in the
//! schema refuse UPDATE and DELETE; the chain catches what gets past them (a hand-edited file).

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

use super::row::Columns;
use super::sql::Table;
use super::{ts, StoreResult, Timestamp};
use crate::domain::RequestId;

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
}

impl ChainCheck {
    /// True when no break was found.
    pub fn intact(&self) -> bool {
        self.broken_at.is_none()
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

/// Appends an event to the chain (call inside the write transaction of the change).
pub async fn append(
    conn: &mut SqliteConnection,
    e: &NewEvent<'_>,
    at: Timestamp,
) -> StoreResult<i64> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (prev_id, prev_hash) = last.unwrap_or((0, GENESIS.to_string()));
    let id = prev_id + 1;
    let at = ts(at);
    let request = e.request.map(|r| r.0);
    let hash = hash_of(
        &prev_hash, id, request, &at, e.actor, e.action, e.before, e.after, e.detail,
    );
    sqlx::query(
        "INSERT INTO audit_events (id, request_id, at, actor, action, before_state, after_state, detail,
                                   prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(request)
    .bind(&at)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.before)
    .bind(e.after)
    .bind(e.detail)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(conn)
    .await?;
    Ok(id)
}

const EVENTS: Table<Event> = Table {
    name: "audit_events",
    columns: COLUMNS,
    read: from_row,
};

fn from_row(r: &SqliteRow) -> StoreResult<Event> {
    let c = Columns::new("audit_events", r);
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
pub async fn for_request(conn: &mut SqliteConnection, id: RequestId) -> StoreResult<Vec<Event>> {
    EVENTS
        .all(conn, "WHERE request_id = ? ORDER BY id", &[id.0.into()])
        .await
}

/// The events about a chat account's links (they belong to no request), oldest first.
pub async fn for_link(
    conn: &mut SqliteConnection,
    chat_user: &crate::domain::ChatUserId,
) -> StoreResult<Vec<Event>> {
    let rest = "WHERE request_id IS NULL AND json_valid(detail)
                  AND json_extract(detail, '$.chat_user') = ?
                ORDER BY id";
    EVENTS.all(conn, rest, &[chat_user.as_str().into()]).await
}

fn check_row(e: &Event, expected_prev: &str) -> Option<String> {
    if e.prev_hash != expected_prev {
        return Some(
            "it does not follow the row before it (a row was changed, removed or inserted)".into(),
        );
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
    (want != e.hash).then(|| "its contents do not match its hash (the row was changed)".into())
}

/// Checks the whole chain from the first row, streaming so memory stays flat.
pub async fn verify_chain(conn: &mut SqliteConnection) -> StoreResult<ChainCheck> {
    use futures_util::TryStreamExt;
    let sql = format!("SELECT {COLUMNS} FROM audit_events ORDER BY id");
    let mut rows = sqlx::query(&sql).fetch(conn);
    let mut prev = GENESIS.to_string();
    let mut expected_id = 1;
    let mut checked = 0;
    while let Some(row) = rows.try_next().await? {
        let e = from_row(&row)?;
        checked += 1;
        if e.id != expected_id {
            return Ok(ChainCheck {
                checked,
                broken_at: Some((e.id, format!("row {expected_id} is missing"))),
            });
        }
        if let Some(why) = check_row(&e, &prev) {
            return Ok(ChainCheck {
                checked,
                broken_at: Some((e.id, why)),
            });
        }
        prev = e.hash;
        expected_id += 1;
    }
    Ok(ChainCheck {
        checked,
        broken_at: None,
    })
}

/// Checks the rows of one request: each row's own hash, and its link to the row before it.
pub async fn verify_request(conn: &mut SqliteConnection, id: RequestId) -> StoreResult<ChainCheck> {
    let events = for_request(&mut *conn, id).await?;
    let mut checked = 0;
    for e in &events {
        checked += 1;
        let prev: Option<String> = if e.id == 1 {
            Some(GENESIS.to_string())
        } else {
            sqlx::query_scalar("SELECT hash FROM audit_events WHERE id = ?")
                .bind(e.id - 1)
                .fetch_optional(&mut *conn)
                .await?
        };
        let why = match prev {
            None => Some(format!("row {} before it is missing", e.id - 1)),
            Some(prev) => check_row(e, &prev),
        };
        if let Some(why) = why {
            return Ok(ChainCheck {
                checked,
                broken_at: Some((e.id, why)),
            });
        }
    }
    Ok(ChainCheck {
        checked,
        broken_at: None,
    })
}
