//! `links`: which directory user (UPN) a chat account speaks for, whether that is proven
//! (pending or verified, how and when), and the pending proof by mail; `link_mails`: the
//! proof mails sent, for rate limits.

use sqlx::AnyConnection;

use super::row::Columns;
use super::sql::{chat_users, update, Table};
use super::{ts, StoreResult, Timestamp};
use crate::domain::{ChatUserId, LinkMethod, LinkProof, LinkState, Upn};

/// A chat account's link to a directory user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The chat account.
    pub chat_user: ChatUserId,
    /// The directory user it asked for or proved.
    pub upn: Upn,
    /// When it was asked for (or replaced).
    pub linked_at: Timestamp,
    /// Pending or verified.
    pub state: LinkState,
    /// How it was verified.
    pub method: Option<LinkMethod>,
    /// When it was verified.
    pub verified_at: Option<Timestamp>,
    /// Who attested it (method `admin`).
    pub attested_by: Option<ChatUserId>,
    /// The directory user's object id, once verified.
    pub object_id: Option<String>,
    /// The mailed code's hash (PHC string), while a code is out.
    pub code_hash: Option<String>,
    /// When the mailed code expires.
    pub code_expires_at: Option<Timestamp>,
    /// Wrong codes tried.
    pub code_tries: i64,
    /// Locked after too many wrong codes: a new `link` is needed.
    pub locked: bool,
    /// Its owner still has to be told that links must now be verified (links made before).
    pub notice: bool,
}

impl Link {
    /// How it was proven, when it is verified.
    pub fn proof(&self) -> Option<LinkProof> {
        match (self.state, self.method) {
            (LinkState::Verified, Some(method)) => Some(LinkProof {
                method,
                verified_at: self.verified_at,
                attested_by: self.attested_by.clone(),
            }),
            _ => None,
        }
    }
}

const COLUMNS: &str = "chat_user, upn, linked_at, state, method, verified_at, attested_by,
                       object_id, code_hash, code_expires_at, code_tries, locked, notice";

const LINKS: Table<Link> = Table::new("links", COLUMNS, from_row);

fn from_row(c: &Columns<'_>) -> StoreResult<Link> {
    Ok(Link {
        chat_user: c.user("chat_user")?,
        upn: c.word("upn")?,
        linked_at: c.at("linked_at")?,
        state: c.word("state")?,
        method: c.opt_word("method")?,
        verified_at: c.opt_at("verified_at")?,
        attested_by: c.opt_id("attested_by", ChatUserId)?,
        object_id: c.get("object_id")?,
        code_hash: c.get("code_hash")?,
        code_expires_at: c.opt_at("code_expires_at")?,
        code_tries: c.get("code_tries")?,
        locked: c.flag("locked")?,
        notice: c.flag("notice")?,
    })
}

/// A chat user's link, if any.
pub async fn get(conn: &mut AnyConnection, user: &ChatUserId) -> StoreResult<Option<Link>> {
    LINKS
        .first(conn, "WHERE chat_user = ?", &[user.as_str().into()])
        .await
}

/// Every link, oldest first.
pub async fn all(conn: &mut AnyConnection) -> StoreResult<Vec<Link>> {
    LINKS.all(conn, "ORDER BY linked_at, chat_user", &[]).await
}

/// The chat users linked to a UPN, in any state.
pub async fn users_for(conn: &mut AnyConnection, upn: &Upn) -> StoreResult<Vec<ChatUserId>> {
    let sql = "SELECT chat_user FROM links WHERE upn = ? ORDER BY chat_user";
    chat_users(conn, sql, &[upn.as_str().into()]).await
}

/// The chat user whose link to a directory account (by object id) is verified, if any.
pub async fn verified_owner(
    conn: &mut AnyConnection,
    object_id: &str,
) -> StoreResult<Option<Link>> {
    let rest = "WHERE object_id = ? AND state = 'verified'";
    LINKS.first(conn, rest, &[object_id.into()]).await
}

/// The chat users whose verified link names a UPN.
pub async fn verified_users_for(
    conn: &mut AnyConnection,
    upn: &Upn,
) -> StoreResult<Vec<ChatUserId>> {
    let sql = "SELECT chat_user FROM links WHERE upn = ? AND state = 'verified' ORDER BY chat_user";
    chat_users(conn, sql, &[upn.as_str().into()]).await
}

/// Creates or replaces a chat user's link as pending, with a new mailed code (its hash and
/// expiry), no wrong tries, not locked. A verified link it replaces is no longer verified.
pub async fn start_pending(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    upn: &Upn,
    code_hash: Option<&str>,
    code_expires_at: Option<Timestamp>,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO links (chat_user, upn, linked_at, state, code_hash, code_expires_at,
                            code_tries, locked, notice)
         VALUES ($1, $2, $3, 'pending', $4, $5, 0, 0, 0)
         ON CONFLICT (chat_user) DO UPDATE SET upn = excluded.upn, linked_at = excluded.linked_at,
             state = 'pending', method = NULL, verified_at = NULL, attested_by = NULL,
             object_id = NULL, code_hash = excluded.code_hash,
             code_expires_at = excluded.code_expires_at, code_tries = 0, locked = 0, notice = 0",
    )
    .bind(user.as_str())
    .bind(upn.as_str())
    .bind(ts(at))
    .bind(code_hash)
    .bind(code_expires_at.map(ts))
    .execute(conn)
    .await?;
    Ok(())
}

/// Burns a pending link's code: it can no longer be used (typed in public, or its mail could
/// not be sent).
pub async fn burn_code(conn: &mut AnyConnection, user: &ChatUserId) -> StoreResult<()> {
    set_on(conn, user, "code_hash = NULL, code_expires_at = NULL").await
}

/// Counts one try of a pending link's code, before the code is checked; returns the tries
/// so far (a right code then clears them).
pub async fn count_try(conn: &mut AnyConnection, user: &ChatUserId) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE links SET code_tries = code_tries + 1 WHERE chat_user = $1 RETURNING code_tries",
    )
    .bind(user.as_str())
    .fetch_one(conn)
    .await?)
}

/// Locks a pending link (too many wrong codes) and burns its code: a new `link` is needed.
pub async fn lock(conn: &mut AnyConnection, user: &ChatUserId) -> StoreResult<()> {
    set_on(
        conn,
        user,
        "locked = 1, code_hash = NULL, code_expires_at = NULL",
    )
    .await
}

/// Marks a chat user's link to `upn` verified (creating it when there is none, for an
/// attestation), with how, by whom and the directory user's object id; clears any code.
pub async fn verify(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    upn: &Upn,
    object_id: &str,
    method: LinkMethod,
    attested_by: Option<&ChatUserId>,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO links (chat_user, upn, linked_at, state, method, verified_at, attested_by,
                            object_id, code_hash, code_expires_at, code_tries, locked, notice)
         VALUES ($1, $2, $3, 'verified', $4, $5, $6, $7, NULL, NULL, 0, 0, 0)
         ON CONFLICT (chat_user) DO UPDATE SET upn = excluded.upn, state = 'verified',
             method = excluded.method, verified_at = excluded.verified_at,
             attested_by = excluded.attested_by, object_id = excluded.object_id,
             code_hash = NULL, code_expires_at = NULL, code_tries = 0, locked = 0, notice = 0",
    )
    .bind(user.as_str())
    .bind(upn.as_str())
    .bind(ts(at))
    .bind(method.as_str())
    .bind(ts(at))
    .bind(attested_by.map(ChatUserId::as_str))
    .bind(object_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether any link's owner still has to be told that links must now be verified. Only the
/// migration that made links verifiable sets the mark, so once this is false it stays false.
pub async fn any_notice(conn: &mut AnyConnection) -> StoreResult<bool> {
    let any: i64 = sqlx::query_scalar(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM links WHERE notice = 1) THEN 1 ELSE 0 END",
    )
    .fetch_one(conn)
    .await?;
    Ok(any == 1)
}

/// Marks that a link's owner was told links must now be verified.
pub async fn clear_notice(conn: &mut AnyConnection, user: &ChatUserId) -> StoreResult<()> {
    set_on(conn, user, "notice = 0").await
}

/// Sets `set` (which binds nothing) on a chat user's link.
async fn set_on(conn: &mut AnyConnection, user: &ChatUserId, set: &str) -> StoreResult<()> {
    update(conn, "links", set, "chat_user = ?", &[user.as_str().into()]).await?;
    Ok(())
}

/// Removes a chat user's link; returns the UPN it was linked to, if any.
pub async fn remove(conn: &mut AnyConnection, user: &ChatUserId) -> StoreResult<Option<Upn>> {
    let row: Option<String> =
        sqlx::query_scalar("DELETE FROM links WHERE chat_user = $1 RETURNING upn")
            .bind(user.as_str())
            .fetch_optional(conn)
            .await?;
    row.map(|s| Upn::parse(&s).map_err(|e| super::corrupt("links", e)))
        .transpose()
}

/// Records a proof mail sent (or tried) for a chat user and a directory user.
pub async fn record_mail(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    upn: &Upn,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO link_mails (chat_user, upn, sent_at) VALUES ($1, $2, $3)")
        .bind(user.as_str())
        .bind(upn.as_str())
        .bind(ts(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Proof mails sent since `since`: (for this chat user, for this directory user).
pub async fn mails_since(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    upn: &Upn,
    since: Timestamp,
) -> StoreResult<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN chat_user = $1 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN upn = $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM link_mails WHERE sent_at >= $3",
    )
    .bind(user.as_str())
    .bind(upn.as_str())
    .bind(ts(since))
    .fetch_one(conn)
    .await?)
}
