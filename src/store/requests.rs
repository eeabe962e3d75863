//! `requests`: one row per licensing request.

use sqlx::AnyConnection;

use super::row::Columns;
use super::sql::{update_later, Param, Table};
use super::{ts, StoreResult, Timestamp, WriteTx};
use crate::domain::{
    BillingCycle, ChannelRef, ChatUserId, LinkMethod, LinkProof, MessageRef, RequestId,
    RequestKind, RequestState, Upn,
};

/// A licensing request as stored: what was asked ([`Asked`], read through it:
/// `request.kind` is `request.asked.kind`), and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Its number.
    pub id: RequestId,
    /// Where it is.
    pub state: RequestState,
    /// How it ended, in words (failure reason, denial reason).
    pub outcome: Option<String>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// What was asked, as stored when it was made.
    pub asked: Asked,
}

impl std::ops::Deref for Request {
    type Target = Asked;

    fn deref(&self) -> &Asked {
        &self.asked
    }
}

/// What a request asks: everything a request is made with, before it has a number.
#[derive(Debug, Clone, PartialEq)]
pub struct Asked {
    /// What it asks for.
    pub kind: RequestKind,
    /// The chat user who asked.
    pub requester: ChatUserId,
    /// The directory user the requester is linked to, when known.
    pub requester_upn: Option<Upn>,
    /// The directory user the licence is for (none for a pure purchase).
    pub target_upn: Option<Upn>,
    /// The target's display name at the time of the request.
    pub target_name: Option<String>,
    /// Seats to buy (purchase requests).
    pub quantity: Option<i64>,
    /// Monthly or annual (purchase requests and assignments that need a purchase).
    pub billing_cycle: Option<BillingCycle>,
    /// Why, in the requester's words.
    pub reason: Option<String>,
    /// Where the request was made.
    pub origin_channel: Option<ChannelRef>,
    /// The chat message that made it.
    pub origin_message: Option<MessageRef>,
    /// How the requester's link was proven when they asked (none on requests made before
    /// links were verified).
    pub requester_link: Option<LinkProof>,
    /// The directory object id of the person the licence is for.
    pub target_object_id: Option<String>,
}

impl Asked {
    /// The request as stored under `id` at `at`: pending, no outcome yet.
    pub fn stored(self, id: RequestId, at: Timestamp) -> Request {
        Request {
            id,
            state: RequestState::Pending,
            outcome: None,
            created_at: at,
            updated_at: at,
            asked: self,
        }
    }
}

const COLUMNS: &str = "id, kind, state, requester, requester_upn, target_upn, target_name, quantity, \
                       billing_cycle, reason, origin_channel, origin_message, outcome, created_at, updated_at, \
                       requester_link_method, requester_link_verified_at, requester_link_attested_by, \
                       target_object_id";

pub(super) const REQUESTS: Table<Request> = Table::new("requests", COLUMNS, from_row);

fn from_row(c: &Columns<'_>) -> StoreResult<Request> {
    let asked = Asked {
        kind: c.word("kind")?,
        requester: c.user("requester")?,
        requester_upn: c.opt_word("requester_upn")?,
        target_upn: c.opt_word("target_upn")?,
        target_name: c.get("target_name")?,
        quantity: c.get("quantity")?,
        billing_cycle: c.opt_word("billing_cycle")?,
        reason: c.get("reason")?,
        origin_channel: c.opt_id("origin_channel", ChannelRef)?,
        origin_message: c.opt_id("origin_message", MessageRef)?,
        requester_link: requester_link(c)?,
        target_object_id: c.get("target_object_id")?,
    };
    Ok(Request {
        id: RequestId(c.get("id")?),
        state: c.word("state")?,
        outcome: c.get("outcome")?,
        created_at: c.at("created_at")?,
        updated_at: c.at("updated_at")?,
        asked,
    })
}

/// How the requester's link was proven, from the `requester_link_*` columns.
fn requester_link(c: &Columns<'_>) -> StoreResult<Option<LinkProof>> {
    let Some(method) = c.opt_word::<LinkMethod>("requester_link_method")? else {
        return Ok(None);
    };
    Ok(Some(LinkProof {
        method,
        verified_at: c.opt_at("requester_link_verified_at")?,
        attested_by: c.opt_id("requester_link_attested_by", ChatUserId)?,
    }))
}

/// Stores a new request in state `pending` and returns its id.
pub async fn insert(
    conn: &mut AnyConnection,
    new: &Asked,
    at: Timestamp,
) -> StoreResult<RequestId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO requests (kind, state, requester, requester_upn, target_upn, target_name, quantity,
                               billing_cycle, reason, origin_channel, origin_message, created_at, updated_at,
                               requester_link_method, requester_link_verified_at,
                               requester_link_attested_by, target_object_id)
         VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
    )
    .bind(new.kind.as_str())
    .bind(new.requester.as_str())
    .bind(new.requester_upn.as_ref().map(Upn::as_str))
    .bind(new.target_upn.as_ref().map(Upn::as_str))
    .bind(new.target_name.as_deref())
    .bind(new.quantity)
    .bind(new.billing_cycle.map(BillingCycle::as_str))
    .bind(new.reason.as_deref())
    .bind(new.origin_channel.as_ref().map(ChannelRef::as_str))
    .bind(new.origin_message.as_ref().map(MessageRef::as_str))
    .bind(ts(at))
    .bind(ts(at))
    .bind(new.requester_link.as_ref().map(|p| p.method.as_str()))
    .bind(new.requester_link.as_ref().and_then(|p| p.verified_at).map(ts))
    .bind(
        new.requester_link
            .as_ref()
            .and_then(|p| p.attested_by.as_ref())
            .map(ChatUserId::as_str),
    )
    .bind(new.target_object_id.as_deref())
    .fetch_one(conn)
    .await?;
    Ok(RequestId(id))
}

/// One request.
pub async fn get(conn: &mut AnyConnection, id: RequestId) -> StoreResult<Option<Request>> {
    REQUESTS.first(conn, "WHERE id = ?", &[id.0.into()]).await
}

/// Requests, newest first, optionally only those in `state` and only those numbered below
/// `before` (the next page after one that ended there), at most `limit`. Read through the
/// primary key or the state index (which holds the id), newest first, so a page costs its own
/// rows however many are stored.
pub async fn list(
    conn: &mut AnyConnection,
    state: Option<RequestState>,
    before: Option<RequestId>,
    limit: i64,
) -> StoreResult<Vec<Request>> {
    let before = before.map_or(i64::MAX, |id| id.0);
    // Two statements, so a state is looked up through its index (`?1 IS NULL OR state = ?1`
    // reads every request: 360 ms with a million stored).
    match state {
        Some(state) => {
            let rest = "WHERE state = ? AND id < ? ORDER BY id DESC LIMIT ?";
            let params = [state.as_str().into(), before.into(), limit.into()];
            REQUESTS.all(conn, rest, &params).await
        }
        None => {
            let rest = "WHERE id < ? ORDER BY id DESC LIMIT ?";
            REQUESTS
                .all(conn, rest, &[before.into(), limit.into()])
                .await
        }
    }
}

/// The requests with these ids, in id order (an id without a request is left out).
pub async fn by_ids(conn: &mut AnyConnection, ids: &[RequestId]) -> StoreResult<Vec<Request>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rest = format!(
        "WHERE id IN ({}) ORDER BY id",
        vec!["?"; ids.len()].join(", ")
    );
    let params: Vec<Param> = ids.iter().map(|id| id.0.into()).collect();
    REQUESTS.all(conn, &rest, &params).await
}

/// Requests made by a chat user, newest first, at most `limit`.
pub async fn by_requester(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    limit: i64,
) -> StoreResult<Vec<Request>> {
    let rest = "WHERE requester = ? ORDER BY id DESC LIMIT ?";
    REQUESTS
        .all(conn, rest, &[user.as_str().into(), limit.into()])
        .await
}

/// Open requests (pending, approved or executing), oldest first.
pub async fn open(conn: &mut AnyConnection) -> StoreResult<Vec<Request>> {
    let rest = "WHERE state IN ('pending', 'approved', 'executing') ORDER BY id";
    REQUESTS.all(conn, rest, &[]).await
}

/// The open licence request (not a purchase) for a directory user, if any.
pub async fn open_for_target(conn: &mut AnyConnection, upn: &Upn) -> StoreResult<Option<Request>> {
    let rest = "WHERE target_upn = ? AND kind <> 'purchase'
                AND state IN ('pending', 'approved', 'executing')";
    REQUESTS.first(conn, rest, &[upn.as_str().into()]).await
}

/// Sets a request's state (and optionally its outcome text): held back to go with the
/// transaction's next statement or its commit ([`WriteTx::defer`]).
pub fn set_state(
    tx: &mut WriteTx<'_>,
    id: RequestId,
    state: RequestState,
    outcome: Option<&str>,
    at: Timestamp,
) {
    let set = "state = ?, outcome = COALESCE(?, outcome), updated_at = ?";
    let params = [
        state.as_str().into(),
        outcome.into(),
        ts(at).into(),
        id.0.into(),
    ];
    // A later state set in the transaction sets the state and time again, and the outcome
    // too when this one sets none: it may take this one's place while both are held.
    let write = update_later("a request's state", ("requests", set, "id = ?"), &params)
        .setting(format!("requests.state {}", id.0), outcome.is_none());
    tx.defer(write);
}

/// Number of requests stored.
pub async fn count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM requests")
        .fetch_one(conn)
        .await?)
}

/// The requests one chat message opened (an `assign` of several people), in id order.
pub async fn from_message(
    conn: &mut AnyConnection,
    requester: &ChatUserId,
    message: &MessageRef,
) -> StoreResult<Vec<Request>> {
    let rest = "WHERE requester = ? AND origin_message = ? ORDER BY id";
    let params = [requester.as_str().into(), message.as_str().into()];
    REQUESTS.all(conn, rest, &params).await
}

/// Claims the one summary of the batch `requester` asked for in `message`: true the first
/// time, false once it was claimed (so it is told once).
pub async fn claim_batch_summary(
    conn: &mut AnyConnection,
    requester: &ChatUserId,
    message: &MessageRef,
    at: Timestamp,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO batch_summaries (requester, origin_message, told_at) VALUES ($1, $2, $3) \
         ON CONFLICT (requester, origin_message) DO NOTHING",
    )
    .bind(requester.as_str())
    .bind(message.as_str())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
