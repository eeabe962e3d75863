//! Standing messages: one message the bot keeps in a channel and edits as what it says
//! changes (the drift report, the seat alert), posted and edited through the outbox.
//!
//! Its owner stores a [`Standing`] (the outbox row that posted it and what it says) and calls
//! [`say`] in the transaction that decides what it should say now.

use sqlx::AnyConnection;

use super::outbox::{self, ChatAction};
use super::{StoreResult, Timestamp};
use crate::domain::ChannelRef;

/// One standing message as its owner stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// The outbox row that posted it; `None` while none stands.
    pub outbox_id: Option<i64>,
    /// What it says, as compared to decide whether to edit it.
    pub says: Option<String>,
}

/// What to say through a standing message.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    /// The channel it stands in.
    pub channel: &'a ChannelRef,
    /// What it says, as compared with [`Standing::says`]: a message that says this already
    /// is not edited.
    pub says: &'a str,
    /// The whole text posted (`says` with what must not cause an edit by itself, such as
    /// the time of a check).
    pub content: &'a str,
}

/// What to do when no message stands: it was never posted, or its post was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenNone {
    /// Post a new one.
    Post,
    /// Post nothing (the standing is forgotten).
    Leave,
}

/// What [`say`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// The message says it already.
    Already,
    /// An edit of the posted message was queued.
    Edited,
    /// A new message was queued.
    Posted,
    /// The post waits for delivery, so it cannot be edited yet: nothing was queued, and
    /// the standing is unchanged (a later call edits it).
    Waiting,
    /// No message stands and [`WhenNone::Leave`] asked for none.
    Nothing,
}

/// Says `words` through the standing message: edits it once its post was delivered, posts a
/// new one when none stands (as `when_none` says), and updates `standing` to match.
pub async fn say(
    conn: &mut AnyConnection,
    standing: &mut Standing,
    words: Words<'_>,
    when_none: WhenNone,
    at: Timestamp,
) -> StoreResult<Said> {
    if standing.says.as_deref() == Some(words.says) {
        return Ok(Said::Already);
    }
    let posted = match standing.outbox_id {
        Some(id) => outbox::posted_message(&mut *conn, id).await?,
        None => Err(()),
    };
    let said = match (posted, when_none) {
        (Ok(Some(message)), _) => {
            let edit = ChatAction::Edit {
                channel: words.channel.clone(),
                message: Some(message),
                stage: None,
                content: words.content.to_string(),
            };
            outbox::push_now(conn, &edit, at).await?;
            Said::Edited
        }
        (Ok(None), _) => return Ok(Said::Waiting),
        (Err(()), WhenNone::Post) => {
            let post = ChatAction::Send {
                channel: words.channel.clone(),
                content: words.content.to_string(),
                reply_to: None,
                stage: None,
                mentions: Vec::new(),
            };
            standing.outbox_id = Some(outbox::push_now(conn, &post, at).await?);
            Said::Posted
        }
        (Err(()), WhenNone::Leave) => {
            *standing = Standing::default();
            return Ok(Said::Nothing);
        }
    };
    standing.says = Some(words.says.to_string());
    Ok(said)
}
