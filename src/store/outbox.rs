//! `outbox`: what the bot owes people in chat, written in the same transaction as the change
//! it reports and delivered afterwards, so nothing said is lost if the process stops.

use std::sync::LazyLock;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::sql::{bound, insert_later, numbered, update, update_later, Param, Write};
use super::{parse_ts, ts, StoreResult, Timestamp, WriteTx};
use crate::domain::{ChannelRef, ChatUserId, MessageRef, Picture, StageId};

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
    /// Its stage (a post or edit of an approval message) waits for a decision as it is
    /// delivered: the message offers the decision's buttons.
    pub decidable: bool,
    /// The picture a post or direct message carries.
    pub picture: Option<Picture>,
}

/// Queues an action: held back to go with the transaction's next statement or its commit
/// ([`WriteTx::defer`]).
pub fn push(tx: &mut WriteTx<'_>, action: &ChatAction, at: Timestamp) -> StoreResult<()> {
    push_all(tx, std::slice::from_ref(action), at)
}

/// Queues an action at once; returns its id.
pub async fn push_now(
    conn: &mut AnyConnection,
    action: &ChatAction,
    at: Timestamp,
) -> StoreResult<i64> {
    push_with(conn, action, None, at).await
}

/// Queues an action that carries a picture (a post or a direct message; any other action
/// ignores it). The picture is dropped once delivered.
pub async fn push_with(
    conn: &mut AnyConnection,
    action: &ChatAction,
    picture: Option<&Picture>,
    at: Timestamp,
) -> StoreResult<i64> {
    let row = OutboxRow::of(action)?;
    let picture =
        picture.filter(|_| matches!(action, ChatAction::Send { .. } | ChatAction::Dm { .. }));
    let at = ts(at);
    let params = row.params(&at);
    let inserted = bound(&PUSH_WITH_PICTURE, &params)
        .bind(picture.map(|p| p.file_name.as_str()))
        .bind(picture.map(|p| p.description.as_str()))
        .bind(picture.map(|p| p.png.as_slice()))
        .fetch_one(conn)
        .await?;
    Ok(inserted.try_get("id")?)
}

/// [`push_with`]'s statement: a row's [`PUSHED`] columns and its picture, returning its id.
static PUSH_WITH_PICTURE: LazyLock<String> = LazyLock::new(|| {
    numbered(&format!(
        "INSERT INTO outbox ({}, picture_name, picture_description, picture)
         VALUES ({}, ?, ?, ?) RETURNING id",
        PUSHED.join(", "),
        vec!["?"; PUSHED.len()].join(", ")
    ))
});

/// The columns a pushed row fills from its action and time, in the order
/// [`OutboxRow::params`] gives their values.
const PUSHED: [&str; 12] = [
    "action",
    "channel",
    "chat_user",
    "message_id",
    "stage_id",
    "reply_to",
    "emoji",
    "content",
    "fallback_channel",
    "mentions",
    "next_attempt_at",
    "created_at",
];

/// Queues several actions, none carrying a picture, in one statement and in their order (a
/// post with its reactions, a reply with its direct message).
///
/// Held back to go with the transaction's next statement or its commit
/// ([`WriteTx::defer`]).
pub fn push_all(tx: &mut WriteTx<'_>, actions: &[ChatAction], at: Timestamp) -> StoreResult<()> {
    queue(tx, actions, at, false)
}

/// Queues a notice about a request for its requester ([`push_all`]'s order and holding):
/// the bot's own words about the request, made from what it stored, which the same push
/// says in the channel the request was made in when it came from one. Such a direct message
/// carries no sign-in link and no code, so its values may be written into a statement's text
/// as a post's are: on PostgreSQL it goes in one call with the other writes held (see
/// [`super::deferred`]), not in a round trip of its own.
pub fn push_notice(tx: &mut WriteTx<'_>, actions: &[ChatAction], at: Timestamp) -> StoreResult<()> {
    queue(tx, actions, at, true)
}

/// Holds the insert that queues `actions` ([`queued`]).
fn queue(
    tx: &mut WriteTx<'_>,
    actions: &[ChatAction],
    at: Timestamp,
    notice: bool,
) -> StoreResult<()> {
    if let Some(write) = queued(actions, at, notice)? {
        tx.defer(write);
    }
    Ok(())
}

/// The insert that queues `actions` (none for no action). Unless they are a `notice`
/// ([`push_notice`]), one direct message among them makes it private
/// ([`crate::store::sql::Write::private`]): a direct message may carry a one-time link (a
/// sign-in's start link), or answer what a person wrote to the bot alone.
fn queued(actions: &[ChatAction], at: Timestamp, notice: bool) -> StoreResult<Option<Write>> {
    let at = ts(at);
    let rows = actions
        .iter()
        .map(OutboxRow::of)
        .collect::<StoreResult<Vec<_>>>()?;
    let params: Vec<Param<'_>> = rows.iter().flat_map(|row| row.params(&at)).collect();
    let dm = actions.iter().any(|a| matches!(a, ChatAction::Dm { .. }));
    Ok(
        insert_later("queued chat actions", ("outbox", &PUSHED), &params).map(|write| {
            if dm && !notice {
                write.private()
            } else {
                write
            }
        }),
    )
}

/// The columns an action fills in its outbox row; the others stay NULL.
#[derive(Debug, Default)]
struct OutboxRow<'a> {
    kind: &'a str,
    channel: Option<&'a ChannelRef>,
    user: Option<&'a ChatUserId>,
    message: Option<&'a MessageRef>,
    stage: Option<StageId>,
    reply_to: Option<&'a MessageRef>,
    emoji: Option<&'a str>,
    content: Option<&'a str>,
    fallback: Option<&'a ChannelRef>,
    /// The people a post may ping, as a JSON array (empty for every other action).
    mentions: String,
}

impl<'a> OutboxRow<'a> {
    /// The values of its [`PUSHED`] columns, queued `at`.
    fn params<'p>(&'p self, at: &'p str) -> [Param<'p>; PUSHED.len()] {
        [
            Param::from(self.kind),
            self.channel.map(ChannelRef::as_str).into(),
            self.user.map(ChatUserId::as_str).into(),
            self.message.map(MessageRef::as_str).into(),
            Param::Int(self.stage.map(|s| s.0)),
            self.reply_to.map(MessageRef::as_str).into(),
            self.emoji.into(),
            self.content.into(),
            self.fallback.map(ChannelRef::as_str).into(),
            Param::from(self.mentions.as_str()),
            Param::from(at),
            Param::from(at),
        ]
    }

    /// The row that stores `action`.
    fn of(action: &'a ChatAction) -> StoreResult<OutboxRow<'a>> {
        let row = OutboxRow {
            mentions: "[]".to_string(),
            ..OutboxRow::default()
        };
        Ok(match action {
            ChatAction::Send {
                channel,
                content,
                reply_to,
                stage,
                mentions,
            } => OutboxRow {
                kind: "send",
                channel: Some(channel),
                stage: *stage,
                reply_to: reply_to.as_ref(),
                content: Some(content),
                mentions: mentions_json(mentions)?,
                ..row
            },
            ChatAction::Dm {
                user,
                content,
                fallback,
                fallback_reply_to,
            } => OutboxRow {
                kind: "dm",
                user: Some(user),
                reply_to: fallback_reply_to.as_ref(),
                content: Some(content),
                fallback: fallback.as_ref(),
                ..row
            },
            ChatAction::Edit {
                channel,
                message,
                stage,
                content,
            } => OutboxRow {
                kind: "edit",
                channel: Some(channel),
                message: message.as_ref(),
                stage: *stage,
                content: Some(content),
                ..row
            },
            ChatAction::React {
                channel,
                message,
                stage,
                emoji,
            } => OutboxRow {
                kind: "react",
                channel: Some(channel),
                message: message.as_ref(),
                stage: *stage,
                emoji: Some(emoji),
                ..row
            },
            ChatAction::Unreact {
                channel,
                message,
                user,
                emoji,
            } => OutboxRow {
                kind: "unreact",
                channel: Some(channel),
                user: Some(user),
                message: Some(message),
                emoji: Some(emoji),
                ..row
            },
        })
    }
}

/// The people a post may ping, as stored.
fn mentions_json(mentions: &[ChatUserId]) -> StoreResult<String> {
    serde_json::to_string(mentions).map_err(|e| super::corrupt("outbox", format!("mentions: {e}")))
}

fn from_row(r: &AnyRow) -> StoreResult<Pending> {
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
        decidable: r.try_get::<Option<i64>, _>("decidable")? == Some(1),
        picture: match (
            s("picture_name")?,
            r.try_get::<Option<Vec<u8>>, _>("picture")?,
        ) {
            (Some(file_name), Some(png)) => Some(Picture {
                file_name,
                description: s("picture_description")?.unwrap_or_default(),
                png,
            }),
            _ => None,
        },
    })
}

/// Undelivered actions that are due, after row `after`, in delivery order.
pub async fn due(
    conn: &mut AnyConnection,
    now: Timestamp,
    after: i64,
    limit: i64,
) -> StoreResult<Vec<Pending>> {
    let rows = sqlx::query(
        "SELECT id, action, channel, chat_user, message_id, stage_id, reply_to, emoji, content,
                fallback_channel, mentions, attempts, picture_name, picture_description, picture,
                (SELECT CAST(CASE WHEN s.state = 'pending' THEN 1 ELSE 0 END AS BIGINT)
                 FROM stages s WHERE s.id = outbox.stage_id) AS decidable
         FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= $1
           AND id > $2
         ORDER BY id LIMIT $3",
    )
    .bind(ts(now))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Number of undelivered actions (due or not).
pub async fn undelivered(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL",
    )
    .fetch_one(conn)
    .await?)
}

/// Whether an approval message was ever queued for a stage.
pub async fn stage_has_post(conn: &mut AnyConnection, stage: StageId) -> StoreResult<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE action = 'send' AND stage_id = $1")
            .bind(stage.0)
            .fetch_one(conn)
            .await?;
    Ok(n > 0)
}

/// Whether the send that posts a stage's approval message was given up.
pub async fn stage_post_given_up(conn: &mut AnyConnection, stage: StageId) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE action = 'send' AND stage_id = $1 AND gave_up_at IS NOT NULL",
    )
    .bind(stage.0)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

/// Marks actions delivered, each with the message it made (if any), in one statement held
/// back to go with the transaction's next statement or its commit ([`WriteTx::defer`]). A
/// delivered direct message's text is not kept: nothing reads it again, and it may carry a
/// one-time sign-in link. Nor is a delivered picture: the chat has it, and the text stays.
pub fn delivered(tx: &mut WriteTx<'_>, done: &[(i64, Option<&MessageRef>)], at: Timestamp) {
    if done.is_empty() {
        return;
    }
    let whens = " WHEN ? THEN ?".repeat(done.len());
    let ids = vec!["?"; done.len()].join(", ");
    let set = format!(
        "delivered_at = ?, delivered_id = CASE id{whens} END, \
         content = CASE WHEN action = 'dm' THEN '' ELSE content END, \
         picture_name = NULL, picture_description = NULL, picture = NULL"
    );
    let mut params: Vec<Param<'_>> = Vec::with_capacity(1 + done.len() * 3);
    params.push(ts(at).into());
    for (id, message) in done {
        params.push((*id).into());
        params.push(message.map(MessageRef::as_str).into());
    }
    params.extend(done.iter().map(|(id, _)| Param::from(*id)));
    let filter = format!("id IN ({ids})");
    tx.defer(update_later(
        "delivered actions",
        ("outbox", &set, &filter),
        &params,
    ));
}

/// The message an outbox row posted, once delivered; `Err(())` when its delivery was given
/// up (or the row is gone): it will never have one.
pub async fn posted_message(
    conn: &mut AnyConnection,
    id: i64,
) -> StoreResult<Result<Option<MessageRef>, ()>> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT delivered_id, gave_up_at FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(match row {
        None | Some((None, Some(_))) => Err(()),
        Some((delivered, _)) => Ok(delivered.map(MessageRef)),
    })
}

/// Schedules another attempt.
pub async fn retry_at(
    conn: &mut AnyConnection,
    id: i64,
    error: &str,
    at: Timestamp,
) -> StoreResult<()> {
    count_failed_attempt(conn, id, error, "next_attempt_at", at).await
}

/// Gives up on an action.
pub async fn give_up(
    conn: &mut AnyConnection,
    id: i64,
    error: &str,
    at: Timestamp,
) -> StoreResult<()> {
    count_failed_attempt(conn, id, error, "gave_up_at", at).await
}

/// Counts a failed delivery attempt of row `id` with its error, and sets `when_column`
/// (the next attempt, or the giving up) to `at`.
async fn count_failed_attempt(
    conn: &mut AnyConnection,
    id: i64,
    error: &str,
    when_column: &str,
    at: Timestamp,
) -> StoreResult<()> {
    let set = format!("attempts = attempts + 1, last_error = ?, {when_column} = ?");
    update(
        conn,
        "outbox",
        &set,
        "id = ?",
        &[error.into(), ts(at).into(), id.into()],
    )
    .await?;
    Ok(())
}

/// When the earliest undelivered action becomes due.
pub async fn next_due_at(conn: &mut AnyConnection) -> StoreResult<Option<Timestamp>> {
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
    conn: &mut AnyConnection,
    stage: StageId,
) -> StoreResult<Option<(String, bool)>> {
    let row: Option<(Option<String>, i64)> = sqlx::query_as(
        "SELECT content,
                CASE WHEN delivered_at IS NULL AND gave_up_at IS NULL THEN 1 ELSE 0 END
         FROM outbox
         WHERE stage_id = $1 AND action IN ('send', 'edit') ORDER BY id DESC LIMIT 1",
    )
    .bind(stage.0)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(content, waiting)| content.map(|c| (c, waiting != 0))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dm(content: &str) -> ChatAction {
        ChatAction::Dm {
            user: ChatUserId("alice".into()),
            content: content.into(),
            fallback: None,
            fallback_reply_to: None,
        }
    }

    fn post(content: &str) -> ChatAction {
        ChatAction::Send {
            channel: ChannelRef("general".into()),
            content: content.into(),
            reply_to: None,
            stage: None,
            mentions: Vec::new(),
        }
    }

    #[test]
    fn a_direct_message_is_private_unless_it_is_a_notice_about_a_request() {
        let at = chrono::Utc::now();
        let private = |actions: &[ChatAction], notice: bool| {
            queued(actions, at, notice)
                .expect("queued")
                .expect("a write")
                .private
        };
        assert!(!private(&[post("Request 1 is in")], false));
        assert!(private(&[dm("your start link")], false));
        assert!(private(&[post("Request 1"), dm("your start link")], false));
        assert!(!private(
            &[post("Request 1 was approved"), dm("Request 1 was approved")],
            true
        ));
        assert!(!private(&[dm("Request 1 was approved")], true));
        assert!(queued(&[], at, false).expect("queued").is_none());
    }
}
