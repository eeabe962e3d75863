//! `link_signins`: attempts to prove a link by signing in (see migration 0007). Tokens are
//! looked up by their SHA-256 hash; each step moves the attempt to its next stage only from
//! the stage before, so a token works once.

use sqlx::AnyConnection;

use super::row::Columns;
use super::sql::{update, Param, Table};
use super::{ts, StoreResult, Timestamp};
use crate::domain::{ChatUserId, Upn};

/// Where an attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The start link was handed out.
    Issued,
    /// The browser was sent to sign in.
    Started,
    /// The sign-in named the linked directory user; waiting for the person to confirm.
    Proven,
    /// Confirmed: the link is verified.
    Done,
    /// Ended without a proof.
    Failed,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Issued => "issued",
            Stage::Started => "started",
            Stage::Proven => "proven",
            Stage::Done => "done",
            Stage::Failed => "failed",
        }
    }

    fn parse(s: &str) -> StoreResult<Stage> {
        Ok(match s {
            "issued" => Stage::Issued,
            "started" => Stage::Started,
            "proven" => Stage::Proven,
            "done" => Stage::Done,
            "failed" => Stage::Failed,
            other => {
                return Err(super::corrupt(
                    "link_signins",
                    format!("unknown stage {other:?}"),
                ))
            }
        })
    }
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// Row id.
    pub id: i64,
    /// The chat user proving their link.
    pub chat_user: ChatUserId,
    /// The name they go by in chat.
    pub chat_name: String,
    /// The directory user of the pending link.
    pub upn: Upn,
    /// Where it is.
    pub stage: Stage,
    /// The nonce sent to the provider.
    pub nonce: Option<String>,
    /// The PKCE verifier.
    pub verifier: Option<String>,
    /// The object id the sign-in proved.
    pub object_id: Option<String>,
    /// When the start link was handed out.
    pub created_at: Timestamp,
    /// When it reached its stage.
    pub stage_at: Timestamp,
}

const COLUMNS: &str =
    "id, chat_user, chat_name, upn, stage, nonce, verifier, object_id, created_at, stage_at";

const SIGNINS: Table<SignIn> = Table::new("link_signins", COLUMNS, from_row);

fn from_row(c: &Columns<'_>) -> StoreResult<SignIn> {
    Ok(SignIn {
        id: c.get("id")?,
        chat_user: c.user("chat_user")?,
        chat_name: c.get("chat_name")?,
        upn: c.word("upn")?,
        stage: Stage::parse(c.get("stage")?)?,
        nonce: c.get("nonce")?,
        verifier: c.get("verifier")?,
        object_id: c.get("object_id")?,
        created_at: c.at("created_at")?,
        stage_at: c.at("stage_at")?,
    })
}

/// The SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Records a start link handed to `user` for their pending link to `upn`.
pub async fn issue(
    conn: &mut AnyConnection,
    user: &ChatUserId,
    chat_name: &str,
    upn: &Upn,
    start_token: &str,
    at: Timestamp,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO link_signins (chat_user, chat_name, upn, stage, start_hash, created_at, stage_at)
         VALUES ($1, $2, $3, 'issued', $4, $5, $6) RETURNING id",
    )
    .bind(user.as_str())
    .bind(chat_name)
    .bind(upn.as_str())
    .bind(token_hash(start_token))
    .bind(ts(at))
    .bind(ts(at))
    .fetch_one(conn)
    .await?)
}

/// The attempt a token of the given kind opens, if any (`start`, `state` or `confirm`).
pub async fn by_token(
    conn: &mut AnyConnection,
    kind: TokenKind,
    token: &str,
) -> StoreResult<Option<SignIn>> {
    let column = match kind {
        TokenKind::Start => "start_hash",
        TokenKind::State => "state_hash",
        TokenKind::Confirm => "confirm_hash",
    };
    let rest = format!("WHERE {column} = ?");
    SIGNINS
        .first(conn, &rest, &[token_hash(token).into()])
        .await
}

/// Which token of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// The start link's.
    Start,
    /// The provider's `state`.
    State,
    /// The confirm page's.
    Confirm,
}

/// Issued → started, with the provider's state, nonce and verifier; false when the attempt
/// was not in `issued` (its start link was used already).
pub async fn start(
    conn: &mut AnyConnection,
    id: i64,
    state: &str,
    nonce: &str,
    verifier: &str,
    at: Timestamp,
) -> StoreResult<bool> {
    let step = Step {
        from: Stage::Issued,
        to: Stage::Started,
        also_set: "state_hash = ?, nonce = ?, verifier = ?",
        values: vec![token_hash(state).into(), nonce.into(), verifier.into()],
    };
    step.take(conn, id, at).await
}

/// Started → proven, with the object id the sign-in proved and the confirm token; false when
/// the attempt was not in `started` (its state was used already).
pub async fn prove(
    conn: &mut AnyConnection,
    id: i64,
    object_id: &str,
    confirm: &str,
    at: Timestamp,
) -> StoreResult<bool> {
    let step = Step {
        from: Stage::Started,
        to: Stage::Proven,
        also_set: "object_id = ?, confirm_hash = ?, nonce = NULL, verifier = NULL",
        values: vec![object_id.into(), token_hash(confirm).into()],
    };
    step.take(conn, id, at).await
}

/// Moves an attempt from `from` to a final stage (`done` or `failed`); false when it was
/// not in `from`. Clears its secrets.
pub async fn end(
    conn: &mut AnyConnection,
    id: i64,
    from: Stage,
    to: Stage,
    at: Timestamp,
) -> StoreResult<bool> {
    let step = Step {
        from,
        to,
        also_set: "nonce = NULL, verifier = NULL",
        values: Vec::new(),
    };
    step.take(conn, id, at).await
}

/// One move of an attempt from a stage to the next, with what else it records.
struct Step<'a> {
    from: Stage,
    to: Stage,
    /// Columns set with the stage, their values in `values`.
    also_set: &'static str,
    values: Vec<Param<'a>>,
}

impl Step<'_> {
    /// Moves attempt `id` at `at`; false when it was not in `from`.
    async fn take(self, conn: &mut AnyConnection, id: i64, at: Timestamp) -> StoreResult<bool> {
        let set = format!("stage = ?, {}, stage_at = ?", self.also_set);
        let mut params = vec![self.to.as_str().into()];
        params.extend(self.values);
        params.extend([ts(at).into(), id.into(), self.from.as_str().into()]);
        let changed = update(conn, "link_signins", &set, "id = ? AND stage = ?", &params).await?;
        Ok(changed == 1)
    }
}
