//! Catch-up after (re)connecting: what happened to the approval messages while the bot was
//! not listening is read over REST and handed to the engine, which applies each reaction at
//! most once. Deleted approval messages are posted again, out-of-date ones edited.

use std::collections::BTreeSet;

use serenity::all::{ChannelId, Http, MessageId, UserId};

use super::output::{classify, emoji_name, reaction_type};
use super::text::fit;
use crate::chat::{ChatError, ChatEvent, Reaction};
use crate::domain::{ChannelRef, ChatUserId, MessageRef};
use crate::engine::{Engine, OpenApproval};

/// What one catch-up did, for the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct Report {
    /// Approval messages looked at.
    pub checked: usize,
    /// Reactions handed to the engine (new ones; the engine drops what it had).
    pub reactions: usize,
    /// Messages posted again.
    pub reposted: usize,
    /// Messages edited back to what they should say.
    pub refreshed: usize,
}

/// Most users Discord lists per reactions page.
const PAGE: u8 = 100;

/// Runs one catch-up over every open approval message.
pub async fn run(engine: &Engine, http: &Http, bot: UserId) -> Report {
    let mut report = Report::default();
    let approvals = match engine.open_approvals().await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "catch-up: cannot read the open approvals");
            return report;
        }
    };
    for a in approvals {
        report.checked += 1;
        if let Err(e) = one(engine, http, bot, &a, &mut report).await {
            tracing::warn!(stage = a.stage.0, error = %e, "catch-up of an approval message failed; the next reconnect tries again");
        }
    }
    engine.wake();
    report
}

async fn one(
    engine: &Engine,
    http: &Http,
    bot: UserId,
    a: &OpenApproval,
    report: &mut Report,
) -> anyhow::Result<()> {
    let Some(message) = &a.message else {
        if a.post_given_up && a.pending {
            engine.repost_approval(a.stage).await?;
            report.reposted += 1;
        }
        return Ok(());
    };
    let (Ok(channel), Ok(id)) = (
        a.channel.as_str().parse::<u64>(),
        message.as_str().parse::<u64>(),
    ) else {
        return Ok(());
    };
    let (channel, id) = (ChannelId::new(channel), MessageId::new(id));
    let current = match http.get_message(channel, id).await {
        Ok(m) => m,
        Err(e) => match classify(&e) {
            ChatError::NotFound(_) => {
                tracing::info!(stage = a.stage.0, message = %message, "approval message was deleted; posting it again");
                engine.repost_approval(a.stage).await?;
                report.reposted += 1;
                return Ok(());
            }
            other => return Err(other.into()),
        },
    };
    if !a.update_queued && current.content != fit(&a.content) {
        engine.refresh_approval(a.stage).await?;
        report.refreshed += 1;
    }
    if !a.pending {
        return Ok(());
    }
    for emoji in engine.decision_emojis() {
        let others = current
            .reactions
            .iter()
            .find(|r| emoji_name(&r.reaction_type) == emoji)
            .map_or(0, |r| r.count.saturating_sub(u64::from(r.me)));
        let there: BTreeSet<ChatUserId> = if others == 0 {
            BTreeSet::new()
        } else {
            reactors(http, channel, id, &emoji, bot).await?
        };
        let known: BTreeSet<ChatUserId> = engine
            .known_reactors(message, &emoji)
            .await?
            .into_iter()
            .collect();
        for user in there.difference(&known) {
            report.reactions += 1;
            engine
                .handle(ChatEvent::ReactionAdded(reaction(a, message, &emoji, user)))
                .await;
        }
        for user in known.difference(&there) {
            report.reactions += 1;
            engine
                .handle(ChatEvent::ReactionRemoved(reaction(
                    a, message, &emoji, user,
                )))
                .await;
        }
    }
    Ok(())
}

fn reaction(a: &OpenApproval, message: &MessageRef, emoji: &str, user: &ChatUserId) -> Reaction {
    Reaction {
        message: message.clone(),
        channel: Some(ChannelRef::new(a.channel.as_str())),
        user: user.clone(),
        emoji: emoji.to_string(),
        pressed: None,
    }
}

/// Everyone but the bot who reacted with `emoji`, page by page.
async fn reactors(
    http: &Http,
    channel: ChannelId,
    message: MessageId,
    emoji: &str,
    bot: UserId,
) -> anyhow::Result<BTreeSet<ChatUserId>> {
    let kind = reaction_type(emoji)?;
    let mut users = BTreeSet::new();
    let mut after = None;
    loop {
        let page = http
            .get_reaction_users(channel, message, &kind, PAGE, after)
            .await
            .map_err(|e| classify(&e))?;
        after = page.last().map(|u| u.id.get());
        let full = page.len() == usize::from(PAGE);
        users.extend(
            page.into_iter()
                .filter(|u| u.id != bot && !u.bot)
                .map(|u| ChatUserId(u.id.to_string())),
        );
        if !full {
            return Ok(users);
        }
    }
}
