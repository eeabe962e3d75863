//! `outbox`: what the bot owes people in chat, written in the same transaction as the change
//! it reports and delivered afterwards, so nothing said is lost if the process stops.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::{parse_ts, ts, StoreResult, Timestamp};
use crate::domain::{ChannelRef, ChatUserId, MessageRef, StageId};

/// One thing to say or do in chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatAction {
    /// Post in a channel, optionally as a reply; with `stage`, the posted message becomes that
    /// stage's approval message.
    Send {
        /// Where.
        channel: ChannelRef,
        /// What.
        content: String,
        /// The message answered.
        reply_to: Option<MessageRef>,
        /// The stage whose approval message this is.
        stage: Option<StageId>,
        /// The people the post means to mention: the only ones it may ping.
        mentions: Vec<ChatUserId>,
    },
    /// A direct message; if the person cannot get DMs it is posted in `fallback` instead.
    Dm {
        /// To whom.
        user: ChatUserId,
        /// What.
        content: String,
        /// Where to post instead, as a reply to `fallback_reply_to`.
        fallback: Option<ChannelRef>,
        /// The message to reply to in the fallback channel.
        fallback_reply_to: Option<MessageRef>,
    },
    /// Edit a message the bot posted: a stage's approval message, or a given one.
    Edit {
        /// The channel of the message.
        channel: ChannelRef,
        /// The message, when known; else the stage's approval message.
        message: Option<MessageRef>,
        /// The stage whose approval message to edit.
        stage: Option<StageId>,
        /// New text.
        content: String,
    },
    /// Add the bot's reaction to a message (a stage's approval message, or a given one).
    React {
        /// The channel of the message.
        channel: ChannelRef,
        /// The message, when known.
        message: Option<MessageRef>,
        /// The stage whose approval message to react on.
        stage: Option<StageId>,
        /// The emoji.
        emoji: String,
    },
    /// Remove someone's reaction.
    Unreact {
        /// The channel.
        channel: ChannelRef,
        /// The message.
        message: MessageRef,
        /// Whose reaction.
        user: ChatUserId,
        /// Which emoji.
        emoji: String,
    },
}

/// An undelivered outbox row.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Row id (delivery order).
    pub id: i64,
    /// What to do.
    pub action: ChatAction,
    /// Delivery attempts so far.
    pub attempts: i64,
}

/// Queues an action.
pub async fn push(
    conn: &mut SqliteConnection,
    action: &ChatAction,
    at: Timestamp,
) -> StoreResult<i64> {
    let mentions = match action {
        ChatAction::Send { mentions, .. } => serde_json::to_string(mentions)
            .map_err(|e| super::corrupt("outbox", format!("mentions: {e}")))?,
        _ => "[]".to_string(),
    };
    let (kind, channel, user, message, stage, reply_to, emoji, content, fallback) = match action {
        ChatAction::Send {
            channel,
            content,
            reply_to,
            stage,
            ..
        } => (
            "send",
            Some(channel),
            None,
            None,
            *stage,
            reply_to.as_ref(),
            None,
            Some(content),
            None,
        ),
        ChatAction::Dm {
            user,
            content,
            fallback,
            fallback_reply_to,
        } => (
            "dm",
            None,
            Some(user),
            None,
            None,
            fallback_reply_to.as_ref(),
            None,
            Some(content),
            fallback.as_ref(),
        ),
        ChatAction::Edit {
            channel,
            message,
            stage,
            content,
        } => (
            "edit",
            Some(channel),
            None,
            message.as_ref(),
            *stage,
            None,
            None,
            Some(content),
            None,
        ),
        ChatAction::React {
            channel,
            message,
            stage,
            emoji,
        } => (
            "react",
            Some(channel),
            None,
            message.as_ref(),
            *stage,
            None,
            Some(emoji),
            None,
            None,
        ),
        ChatAction::Unreact {
            channel,
            message,
            user,
            emoji,
        } => (
            "unreact",
            Some(channel),
            Some(user),
            Some(message),
            None,
            None,
            Some(emoji),
            None,
            None,
        ),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (action, channel, chat_user, message_id, stage_id, reply_to, emoji, content,
                             fallback_channel, mentions, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(kind)
    .bind(channel.map(ChannelRef::as_str))
    .bind(user.map(ChatUserId::as_str))
    .bind(message.map(MessageRef::as_str))
    .bind(stage.map(|s| s.0))
    .bind(reply_to.map(MessageRef::as_str))
    .bind(emoji.map(String::as_str))
    .bind(content.map(String::as_str))
    .bind(fallback.map(ChannelRef::as_str))
    .bind(mentions)
    .bind(ts(at))
    .bind(ts(at))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

fn from_row(r: &SqliteRow) -> StoreResult<Pending> {
    const T: &str = "outbox";
    let s = |c: &str| -> StoreResult<Option<String>> { Ok(r.try_get::<Option<String>, _>(c)?) };
    let need = |c: &str| -> StoreResult<String> {
        s(c)?.ok_or_else(|| super::corrupt(T, format!("{c} missing")))
    };
    let stage = r.try_get::<Option<i64>, _>("stage_id")?.map(StageId);
    let action = match r.try_get::<&str, _>("action")? {
        "send" => ChatAction::Send {
            channel: ChannelRef(need("channel")?),
            content: need("content")?,
            reply_to: s("reply_to")?.map(MessageRef),
            stage,
            mentions: serde_json::from_str(&need("mentions")?)
                .map_err(|e| super::corrupt(T, format!("mentions: {e}")))?,
        },
        "dm" => ChatAction::Dm {
            user: ChatUserId(need("chat_user")?),
            content: need("content")?,
            fallback: s("fallback_channel")?.map(ChannelRef),
            fallback_reply_to: s("reply_to")?.map(MessageRef),
        },
        "edit" => ChatAction::Edit {
            channel: ChannelRef(need("channel")?),
            message: s("message_id")?.map(MessageRef),
            stage,
            content: need("content")?,
        },
        "react" => ChatAction::React {
            channel: ChannelRef(need("channel")?),
            message: s("message_id")?.map(MessageRef),
            stage,
            emoji: need("emoji")?,
        },
        "unreact" => ChatAction::Unreact {
            channel: ChannelRef(need("channel")?),
            message: MessageRef(need("message_id")?),
            user: ChatUserId(need("chat_user")?),
            emoji: need("emoji")?,
        },
        other => return Err(super::corrupt(T, format!("unknown action {other:?}"))),
    };
    Ok(Pending {
        id: r.try_get("id")?,
        action,
        attempts: r.try_get("attempts")?,
    })
}

/// Undelivered actions that are due, after row `after`, in delivery order.
pub async fn due(
    conn: &mut SqliteConnection,
    now: Timestamp,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<Pending>> {
    let rows = sqlx::query(
        "SELECT id, action, channel, chat_user, message_id, stage_id, reply_to, emoji, content,
                fallback_channel, mentions, attempts
         FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= ?
           AND id > ?
         ORDER BY id LIMIT ?",
    )
    .bind(ts(now))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Number of undelivered actions (due or not).
pub async fn undelivered(conn: &mut SqliteConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL",
    )
    .fetch_one(conn)
    .await?)
}

/// Whether an approval message was ever queued for a stage.
pub async fn stage_has_post(conn: &mut SqliteConnection, stage: StageId) -> StoreResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE action = 'send' AND stage_id = ?")
            .bind(stage.0)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Whether the send that posts a stage's approval message was given up.
pub async fn stage_post_given_up(conn: &mut SqliteConnection, stage: StageId) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE action = 'send' AND stage_id = ? AND gave_up_at IS NOT NULL",
    )
    .bind(stage.0)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Marks an action delivered. A delivered direct message's text is not kept: nothing reads
/// it again, and it may carry a one-time sign-in link.
pub async fn delivered(
    conn: &mut SqliteConnection,
    id: i64,
    message: Option<&MessageRef>,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE outbox SET delivered_at = ?, delivered_id = ?,
             content = CASE WHEN action = 'dm' THEN '' ELSE content END
         WHERE id = ?",
    )
    .bind(ts(at))
    .bind(message.map(MessageRef::as_str))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Schedules another attempt.
pub async fn retry_at(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?")
        .bind(error)
        .bind(ts(at))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives up on an action.
pub async fn give_up(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    at: Timestamp,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, gave_up_at = ? WHERE id = ?",
    )
    .bind(error)
    .bind(ts(at))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// When the earliest undelivered action becomes due.
pub async fn next_due_at(conn: &mut SqliteConnection) -> StoreResult<Option<Timestamp>> {
    let at: Option<String> = sqlx::query_scalar(
        "SELECT MIN(next_attempt_at) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL",
    )
    .fetch_one(conn)
    .await?;
    at.map(|s| parse_ts("outbox", &s)).transpose()
}

/// What a stage's approval message was last told to say (its post or latest edit, delivered
/// or not), and whether a post or edit of it is still waiting for delivery.
pub async fn stage_latest_content(
    conn: &mut SqliteConnection,
    stage: StageId,
) -> StoreResult<Option<(String, bool)>> {
    let row: Option<(Option<String>, bool)> = sqlx::query_as(
        "SELECT content, delivered_at IS NULL AND gave_up_at IS NULL FROM outbox
         WHERE stage_id = ? AND action IN ('send', 'edit') ORDER BY id DESC LIMIT 1",
    )
    .bind(stage.0)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(content, waiting)| content.map(|c| (c, waiting))))
}
