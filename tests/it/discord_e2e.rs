//! Whole conversations on Discord: the real `licensebot` binary, with the real serenity
//! client inside, against the fake Discord on loopback and the simulated tenant.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::bot::audited;
use crate::support::discord_bot::{self, request_state, DiscordBot, TIMEOUT};
use crate::support::fake_discord::{
    uid, FakeDiscord, Fault, InteractionView, Msg, APPROVALS, BOT, ELSEWHERE, GENERAL, TOKEN,
};

/// A fake Discord and a bot connected to it.
pub(crate) struct Setup {
    pub(crate) fake: FakeDiscord,
    pub(crate) dir: tempfile::TempDir,
    bot: Option<DiscordBot>,
}

impl Setup {
    pub(crate) async fn start() -> Setup {
        let mut s = Setup::configured().await;
        s.boot().await;
        s
    }

    /// A setup whose bot logs everything, down to serenity's and reqwest's traces.
    pub(crate) async fn start_traced() -> Setup {
        let mut s = Setup::configured().await;
        s.boot_logging("trace").await;
        s
    }

    /// The fake Discord and the bot's settings pointing at it; no bot yet.
    pub(crate) async fn configured() -> Setup {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        discord_bot::write_config(dir.path(), &fake.url());
        Setup {
            fake,
            dir,
            bot: None,
        }
    }

    /// Starts the bot and waits until it is connected with its commands registered and its
    /// first catch-up done.
    pub(crate) async fn boot(&mut self) {
        self.boot_logging("info,licensebot=debug").await;
    }

    pub(crate) async fn boot_logging(&mut self, filter: &str) {
        let mark = self.fake.start_mark();
        self.bot = Some(DiscordBot::start_logging(self.dir.path(), filter));
        self.fake.wait_started(mark, TIMEOUT).await;
    }

    /// Starts the bot with `env` overrides and waits until it is ready.
    pub(crate) async fn boot_with(&mut self, env: &[(String, String)]) {
        let mark = self.fake.start_mark();
        self.bot = Some(DiscordBot::start_with(
            self.dir.path(),
            "info,licensebot=debug",
            env,
        ));
        self.fake.wait_started(mark, TIMEOUT).await;
    }

    /// Stops the bot gracefully (SIGTERM).
    pub(crate) async fn stop(&mut self) {
        if let Some(bot) = self.bot.take() {
            bot.stop().await;
        }
        self.fake
            .wait_for("the bot to disconnect", TIMEOUT, |v| {
                (!v.connected()).then_some(())
            })
            .await;
    }

    pub(crate) fn log(&self) -> String {
        self.bot.as_ref().map(|b| b.log()).unwrap_or_default()
    }

    /// Waits for the bot's message in `channel` containing `needle`.
    pub(crate) async fn bot_message(&self, channel: u64, needle: &str) -> Msg {
        self.fake
            .wait_for(&format!("a bot message with {needle:?}"), TIMEOUT, |v| {
                v.bot_message(channel, needle)
            })
            .await
    }

    /// Waits for a DM to `user` containing `needle`.
    pub(crate) async fn dm(&self, user: &str, needle: &str) -> String {
        self.fake
            .wait_for(&format!("a DM to {user} with {needle:?}"), TIMEOUT, |v| {
                v.dms_to(user).into_iter().find(|d| d.contains(needle))
            })
            .await
    }

    /// Waits until message `id` says `needle`.
    pub(crate) async fn edited(&self, id: u64, needle: &str) -> Msg {
        self.fake
            .wait_for(&format!("message {id} to say {needle:?}"), TIMEOUT, |v| {
                v.message(id).filter(|m| m.content.contains(needle))
            })
            .await
    }

    /// Links a person to a UPN by text and waits for the answer.
    pub(crate) async fn link(&self, who: &str, upn: &str) {
        let dir = self.dir.path().to_path_buf();
        discord_bot::link(&self.fake, who, upn, |to| {
            discord_bot::mailed_code(&dir, to)
        })
        .await;
    }

    /// `who` writes `text` in the general channel; waits for the bot's answer there
    /// containing `answer`.
    pub(crate) async fn say(&self, who: &str, text: &str, answer: &str) -> Msg {
        self.fake.say(who, GENERAL, text);
        self.bot_message(GENERAL, answer).await
    }

    /// `who` asks by text (`text`) for what becomes request #`number`; returns its approval
    /// message once the bot reacted on it.
    pub(crate) async fn asks(&self, who: &str, text: &str, number: u32) -> Msg {
        self.say(who, text, &format!("Request #{number} is in"))
            .await;
        self.reacted_approval(&format!("Request #{number}")).await
    }

    /// A started setup where alice asked by text: the setup and the approval message, once
    /// the bot reacted on it.
    pub(crate) async fn alice_asked() -> (Setup, Msg) {
        let s = Setup::start().await;
        let approval = s.alice_requests().await;
        (s, approval)
    }

    /// Alice asks by text; returns the approval message once the bot reacted on it.
    pub(crate) async fn alice_requests(&self) -> Msg {
        self.link("alice", "alice@contoso.example").await;
        self.asks("alice", "!pro request because I build the sales reports", 1)
            .await
    }

    /// The approval message with `needle`, once the bot's ✅ and ❌ are on it.
    pub(crate) async fn reacted_approval(&self, needle: &str) -> Msg {
        self.fake
            .ready_for_a_decision(APPROVALS, needle, TIMEOUT)
            .await
    }
}

pub(crate) fn mention(name: &str) -> String {
    format!("<@{}>", uid(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_request_is_approved_by_reaction_assigned_and_reported() {
    let s = Setup::start().await;

    let approval = s.alice_requests().await;
    assert!(
        approval.content.contains("Request #1, stage 1 of 1"),
        "{}",
        approval.content
    );
    assert!(
        approval.content.contains(&mention("carol")) && approval.content.contains(&mention("dave")),
        "routed to the assign roles by mention: {}",
        approval.content
    );
    assert!(
        !approval.content.contains(&mention("bob")),
        "{}",
        approval.content
    );

    s.fake.react("carol", approval.id, "✅");
    s.edited(approval.id, &format!("Approved by {}", mention("carol")))
        .await;
    let done = s.edited(approval.id, "Done").await;
    assert!(done.edits >= 2, "{done:?}");
    s.dm("alice", "is done").await;
    s.bot_message(GENERAL, "is done").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "completed");

    // How long from the reaction's dispatch to the bot's first REST call about it (the
    // approval edit), and to the DM that follows the assignment.
    let reacted = s.fake.reacted_at("carol", approval.id, "✅");
    let (edit, told) = s.fake.view(|v| {
        let edit = v
            .calls_to("PATCH", &format!("/messages/{}", approval.id))
            .into_iter()
            .find(|c| c.at > reacted)
            .map(|c| c.at)
            .expect("approval edit");
        let told = v
            .calls()
            .iter()
            .filter(|c| c.method == "POST" && c.at > reacted)
            .find(|c| {
                c.json()["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("is done"))
            })
            .map(|c| c.at)
            .expect("done message");
        (edit, told)
    });
    let to_edit = edit.duration_since(reacted);
    let to_done = told.duration_since(reacted);
    eprintln!(
        "latency: reaction dispatch -> approval edit {to_edit:?}; -> assignment done and told {to_done:?}"
    );
    assert!(to_edit < Duration::from_secs(2), "{to_edit:?}");
    assert!(to_done < Duration::from_secs(3), "{to_done:?}");
    s.fake.assert_faithful();
}

/// Alice runs `/pro sub` with `options` in #general; once its answer says `needle`: the
/// interaction's response (callback type, flags) and the answer.
async fn slash_answered(
    fake: &FakeDiscord,
    sub: &str,
    options: &[(&str, Value, u64)],
    needle: &str,
) -> InteractionView {
    let id = fake.slash("alice", GENERAL, sub, options);
    fake.wait_for(&format!("the {sub} answer"), TIMEOUT, |v| {
        v.interaction(id)
            .filter(|(_, m)| m.as_ref().is_some_and(|m| m.content.contains(needle)))
    })
    .await
}

/// The message flag EPHEMERAL: only the one who used the command sees the answer.
const EPHEMERAL: u64 = 64;
/// No flags: everyone in the channel sees the answer.
const PUBLIC: u64 = 0;

/// Alice runs `/pro sub` with `options` in #general ([`slash_answered`]); it is deferred
/// with `flags` and answered, saying `needle`, with the same visibility.
async fn slash_deferred(
    fake: &FakeDiscord,
    (sub, options): (&str, &[(&str, Value, u64)]),
    needle: &str,
    flags: u64,
) {
    assert_deferred_then_answered(slash_answered(fake, sub, options, needle).await, flags);
}

/// The interaction was deferred (response type 5, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE) with
/// these flags, and its answer then carried the same visibility.
fn assert_deferred_then_answered((response, message): InteractionView, flags: u64) {
    assert_eq!(response, Some((5, flags)), "deferred, with flags {flags}");
    assert_eq!(message.expect("answer").flags & EPHEMERAL, flags);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_are_registered_answered_in_place_and_private_where_needed() {
    let s = Setup::start().await;
    let commands = s.fake.view(|v| v.commands()).expect("registered");
    let subs: Vec<String> = commands[0]["options"]
        .as_array()
        .expect("subcommands")
        .iter()
        .map(|o| o["name"].as_str().unwrap_or_default().to_string())
        .collect();
    for sub in [
        "request", "status", "cancel", "release", "link", "help", "buy", "assign",
    ] {
        assert!(subs.iter().any(|s| s == sub), "{sub} in {subs:?}");
    }

    slash_deferred(
        &s.fake,
        ("link", &[("upn", json!("alice@contoso.example"), 3)]),
        "I've mailed a code",
        EPHEMERAL,
    )
    .await;
    // The code answered with /pro verify: only the bot sees a slash command's options.
    let code = discord_bot::mailed_code(s.dir.path(), "alice@contoso.example");
    let (response, _) =
        slash_answered(&s.fake, "verify", &[("code", json!(code), 3)], "Verified").await;
    assert_eq!(response, Some((5, 64)), "deferred, ephemeral");

    slash_deferred(
        &s.fake,
        (
            "request",
            &[("reason", json!("for the finance dashboards"), 3)],
        ),
        "Request #1 is in",
        PUBLIC,
    )
    .await;
    let approval = s.reacted_approval("Request #1").await;
    assert!(
        approval.content.contains("for the finance dashboards"),
        "the reason, not a target: {}",
        approval.content
    );

    // A command whose news goes elsewhere leaves no "thinking…" behind.
    let cancel = s
        .fake
        .slash("alice", GENERAL, "cancel", &[("id", json!(1), 4)]);
    s.edited(approval.id, "Cancelled").await;
    s.fake
        .wait_for("the empty cancel answer to be removed", TIMEOUT, |v| {
            v.calls_to("DELETE", "/messages/@original")
                .first()
                .map(|_| ())
                .filter(|()| v.interaction(cancel).is_some())
        })
        .await;
    assert_eq!(request_state(s.dir.path(), 1).await, "cancelled");
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denial_by_reaction_closes_the_request_and_tells_the_requester() {
    let (s, approval) = Setup::alice_asked().await;

    s.fake.react("dave", approval.id, "❌");

    s.edited(approval.id, &format!("Denied by {}", mention("dave")))
        .await;
    s.dm("alice", "denied").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "denied");
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_approver_reaction_is_removed_and_explained_in_the_channel_when_dms_are_closed() {
    let (s, approval) = Setup::alice_asked().await;
    s.fake.close_dms("mallory");

    s.fake.react("mallory", approval.id, "✅");

    s.fake
        .wait_for("mallory's reaction to be removed", TIMEOUT, |v| {
            let path = format!("/messages/{}/reactions/", approval.id);
            v.calls_to("DELETE", &path)
                .into_iter()
                .find(|c| c.path.ends_with(&uid("mallory").to_string()) && c.status == 204)
        })
        .await;
    // The DM was refused with 50007, so the explanation went to the approvals channel.
    let note = s.bot_message(APPROVALS, &mention("mallory")).await;
    assert!(note.content.contains("approver"), "{}", note.content);
    s.fake.view(|v| {
        assert!(v
            .calls_to("POST", "/channels/")
            .iter()
            .any(|c| c.status == 403
                && c.json()["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("approver"))));
        assert!(v.dms_to("mallory").is_empty());
        let m = v.message(approval.id).expect("approval");
        assert!(!m
            .reactions
            .get("✅")
            .is_some_and(|u| u.contains(&uid("mallory"))));
    });
    assert_eq!(request_state(s.dir.path(), 1).await, "pending");
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_cannot_approve_their_own_request() {
    let s = Setup::start().await;
    let approval = s.asks("carol", "!pro request for my own reports", 1).await;
    let deciders = approval
        .content
        .lines()
        .find(|l| l.starts_with("May decide"))
        .expect("deciders line");
    assert!(!deciders.contains(&mention("carol")), "{deciders}");
    assert!(deciders.contains(&mention("dave")), "{deciders}");

    s.fake.react("carol", approval.id, "✅");

    s.dm("carol", "it is yours").await;
    s.fake
        .wait_for("carol's reaction to be removed", TIMEOUT, |v| {
            v.message(approval.id)
                .filter(|m| !m.reactions["✅"].contains(&uid("carol")))
        })
        .await;
    assert_eq!(request_state(s.dir.path(), 1).await, "pending");
    assert!(!s
        .fake
        .view(|v| v.message(approval.id))
        .expect("approval")
        .content
        .contains("Approved"));
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_and_other_guilds_are_ignored_and_dms_are_answered_by_dm() {
    let s = Setup::start().await;

    s.fake.say("otherbot", GENERAL, "!pro help");
    s.fake.say("alice", ELSEWHERE, "!pro help");
    s.fake.dm_bot("alice", "!pro help");
    s.dm("alice", "Commands:").await;
    s.fake.dm_bot("alice", "!pro status");
    s.dm("alice", "!pro request").await;
    // A mention of the bot addresses it too.
    s.say("judy", &format!("<@{BOT}> help status"), "!pro status")
        .await;

    s.fake.view(|v| {
        let in_general: Vec<String> = v
            .messages_in(GENERAL)
            .into_iter()
            .filter(|m| m.author == BOT)
            .map(|m| m.content)
            .collect();
        assert_eq!(
            in_general.len(),
            1,
            "only judy was answered in #general: {in_general:?}"
        );
        assert!(v.messages_in(ELSEWHERE).iter().all(|m| m.author != BOT));
    });
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_happened_while_the_bot_was_down_is_applied_after_restart() {
    let mut s = Setup::start().await;
    let approval = s.alice_requests().await;
    s.link("judy", "judy@contoso.example").await;
    let judys = s.asks("judy", "!pro request", 2).await;

    s.stop().await;
    s.fake.react("carol", approval.id, "✅");
    s.fake.react("mallory", approval.id, "👍");
    s.fake.delete(judys.id);
    s.boot().await;

    s.edited(approval.id, &format!("Approved by {}", mention("carol")))
        .await;
    s.edited(approval.id, "Done").await;
    s.dm("alice", "is done").await;
    let reposted = s.reacted_approval("Request #2").await;
    assert_ne!(reposted.id, judys.id);
    s.fake
        .wait_for("mallory's reaction to be removed", TIMEOUT, |v| {
            v.message(approval.id).filter(|m| {
                !m.reactions
                    .get("👍")
                    .is_some_and(|u| u.contains(&uid("mallory")))
            })
        })
        .await;
    assert_eq!(request_state(s.dir.path(), 1).await, "completed");
    assert_eq!(
        s.fake.view(|v| v.handshakes().0),
        2,
        "a fresh IDENTIFY after the restart"
    );

    // Restarting again applies nothing twice.
    s.stop().await;
    s.boot().await;
    s.fake
        .wait_for("the catch-up to read the open approval", TIMEOUT, |v| {
            v.calls_to("GET", &format!("/messages/{}", reposted.id))
                .first()
                .map(|_| ())
        })
        .await;
    s.stop().await;
    let audit = discord_bot::audit(s.dir.path(), 1).await;
    let approvals = audited(&audit, "stage_approved");
    assert_eq!(approvals, 1, "{audit:#}");
    let alice_done = s.fake.view(|v| {
        v.dms_to("alice")
            .iter()
            .filter(|d| d.contains("is done"))
            .count()
    });
    assert_eq!(alice_done, 1);
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_drop_mid_flow_is_resumed_and_missed_events_replayed_once() {
    let (s, approval) = Setup::alice_asked().await;

    s.fake.drop_and_wait_for_resume(TIMEOUT).await;
    s.fake.react("carol", approval.id, "✅");
    s.fake.release_resume();

    s.edited(approval.id, &format!("Approved by {}", mention("carol")))
        .await;
    s.edited(approval.id, "Done").await;
    s.dm("alice", "is done").await;
    let (identifies, resumes) = s.fake.view(|v| v.handshakes());
    assert_eq!((identifies, resumes), (1, 1), "resumed, not re-identified");
    // The reaction came twice (replay and catch-up) but counted once.
    let late = s.fake.view(|v| {
        v.messages_in(APPROVALS)
            .iter()
            .filter(|m| m.content.contains("already"))
            .count()
    });
    assert_eq!(late, 0, "{}", s.log());
    assert_eq!(request_state(s.dir.path(), 1).await, "completed");
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_approval_post_and_a_failed_reply_arrive_after_a_retry() {
    let s = Setup::start().await;
    s.fake.fail(Fault::on(
        "POST",
        &format!("/channels/{APPROVALS}/messages"),
        1,
        429,
    ));
    // And a server error on the first reply in #general: retried too.
    s.fake.fail(Fault::on(
        "POST",
        &format!("/channels/{GENERAL}/messages"),
        1,
        500,
    ));
    let started = Instant::now();

    let approval = s.alice_requests().await;

    s.fake.view(|v| {
        let posts = v.calls_to("POST", &format!("/channels/{APPROVALS}/messages"));
        assert_eq!(posts.first().map(|c| c.status), Some(429), "{posts:#?}");
        assert!(posts.iter().any(|c| c.status == 200));
        let approvals: Vec<Msg> = v
            .messages_in(APPROVALS)
            .into_iter()
            .filter(|m| m.content.contains("Request #1"))
            .collect();
        assert_eq!(approvals.len(), 1, "posted once");
    });
    assert!(approval.content.contains("Request #1, stage 1 of 1"));
    assert!(started.elapsed() < TIMEOUT);
    s.fake.view(|v| {
        let replies = v.calls_to("POST", &format!("/channels/{GENERAL}/messages"));
        assert_eq!(replies.first().map(|c| c.status), Some(500), "{replies:#?}");
        assert!(replies.iter().any(|c| c.status == 200));
    });
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_edits_that_were_refused_are_redone_after_a_restart() {
    let mut s = Setup::start().await;
    let approval = s.alice_requests().await;
    s.fake.fail(Fault::on(
        "PATCH",
        &format!("/messages/{}", approval.id),
        2,
        403,
    ));

    s.fake.react("carol", approval.id, "✅");
    s.dm("alice", "is done").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "completed");
    s.fake
        .wait_for("both edits to be refused", TIMEOUT, |v| {
            (v.calls_to("PATCH", &format!("/messages/{}", approval.id))
                .len()
                >= 2)
                .then_some(())
        })
        .await;
    let stale = s.fake.view(|v| v.message(approval.id)).expect("approval");
    assert!(!stale.content.contains("Done"), "{}", stale.content);

    s.stop().await;
    s.boot().await;

    let fixed = s.edited(approval.id, "Done").await;
    assert!(
        fixed.content.starts_with(&approval.content),
        "{}",
        fixed.content
    );
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_manage_messages_a_refused_reaction_stays_and_the_bot_goes_on() {
    let s = Setup::start().await;
    s.fake.deny_manage_messages();
    let approval = s.alice_requests().await;

    s.fake.react("mallory", approval.id, "✅");
    s.dm("mallory", "approver").await;
    s.fake.react("carol", approval.id, "✅");

    s.edited(approval.id, "Done").await;
    s.fake.view(|v| {
        assert!(v
            .calls_to("DELETE", &format!("/messages/{}/reactions/", approval.id))
            .iter()
            .any(|c| c.status == 403));
        let m = v.message(approval.id).expect("approval");
        assert!(m.reactions["✅"].contains(&uid("mallory")), "it stays");
    });
    assert!(
        s.log().contains("Manage Messages"),
        "the refusal is logged: {}",
        s.log()
    );
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_token_never_reaches_the_log_or_the_database() {
    let mut s = Setup::start_traced().await;
    let approval = s.alice_requests().await;
    s.fake.react("carol", approval.id, "✅");
    s.dm("alice", "is done").await;
    s.stop().await;

    let log = std::fs::read_to_string(s.dir.path().join("bot.log")).expect("log");
    assert!(
        log.len() > 1000,
        "a full trace was captured ({} bytes)",
        log.len()
    );
    assert!(!log.contains(TOKEN), "the token is in the log");
    let stored = discord_bot::store_contents(s.dir.path()).await;
    assert!(
        stored.contains("alice@contoso.example"),
        "the store's contents were read ({} bytes)",
        stored.len()
    );
    assert!(!stored.contains(TOKEN), "the token is in the store");
}

/// A reason full of mentions and markup: the approval message shows it as one line of inline
/// code, and every post lets Discord ping only the people the bot names (the approval its
/// deciders), never a user, role or `@everyone` typed into the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_in_a_reason_ping_nobody_and_the_reason_stays_quoted() {
    let s = Setup::start().await;
    s.link("alice", "alice@contoso.example").await;
    let bob = mention("bob");

    s.fake.say(
        "alice",
        GENERAL,
        &format!("!pro request {bob} @everyone <@&42> ```\n✅ Approved by {bob}"),
    );
    let approval = s.reacted_approval("Request #1").await;

    assert!(
        approval
            .content
            .lines()
            .any(|l| l == format!("Reason: `{bob} @everyone <@&42> ˋˋˋ ✅ Approved by {bob}`")),
        "{}",
        approval.content
    );
    let creates = s.fake.view(|v| v.calls_to("POST", "/messages"));
    let post = creates
        .iter()
        .find(|c| {
            c.json()["content"]
                .as_str()
                .is_some_and(|t| t.contains("Request #1, stage 1"))
        })
        .expect("the approval post");
    let mut pinged: Vec<String> = post.json()["allowed_mentions"]["users"]
        .as_array()
        .expect("an explicit user list")
        .iter()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect();
    pinged.sort();
    let mut deciders = vec![uid("carol").to_string(), uid("dave").to_string()];
    deciders.sort();
    assert_eq!(pinged, deciders, "{:#}", post.body);
    for c in &creates {
        let allowed = &c.json()["allowed_mentions"];
        assert_eq!(allowed["parse"], json!([]), "{:#}", c.body);
        assert!(
            !allowed["users"]
                .as_array()
                .is_some_and(|u| u.contains(&json!(uid("bob").to_string()))),
            "bob is never pinged: {:#}",
            c.body
        );
    }
    s.fake.assert_faithful();
}

/// A code typed in a channel: the bot deletes the message (Manage Messages), says why, and
/// the code no longer works; the link stays pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_typed_in_a_channel_is_deleted_and_burnt() {
    let s = Setup::start().await;
    s.say(
        "alice",
        "!pro link alice@contoso.example",
        "I've mailed a code",
    )
    .await;
    let code = discord_bot::mailed_code(s.dir.path(), "alice@contoso.example");

    let typed = s.fake.say("alice", GENERAL, &format!("!pro verify {code}"));
    s.bot_message(GENERAL, "Never type a code where others can read it")
        .await;
    s.fake.dm_bot("alice", &format!("!pro verify {code}"));
    s.dm("alice", "is not proven yet").await;

    let deleted = s.fake.view(|v| {
        v.calls_to("DELETE", &format!("/messages/{typed}"))
            .iter()
            .any(|c| c.status == 204)
    });
    assert!(deleted, "the message with the code was deleted");
    assert!(s.fake.view(|v| v.message(typed)).is_none_or(|m| m.deleted));
    s.fake.assert_faithful();
}

/// The two-person rule on Discord: the requester's reaction counts for nothing, the same
/// approver twice is one approval, and a kill -9 between the first and the second approval
/// (the second given while the bot is down) loses nothing: the purchase is made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_under_the_two_person_rule_takes_two_approvers_across_a_kill() {
    let mut s = Setup::configured().await;
    let two_person = [(
        "LICENSEBOT__POLICY__TWO_PERSON_ABOVE_SEATS".to_string(),
        "2".to_string(),
    )];
    s.boot_with(&two_person).await;
    // carol (no purchase role) asks for three seats.
    s.say("carol", "!pro buy 3", "Request #1 is in").await;
    let approval = s.reacted_approval("Request #1").await;
    assert!(
        approval.content.contains("Two-person rule"),
        "{}",
        approval.content
    );

    s.fake.react("carol", approval.id, "✅");
    s.dm("carol", "it is yours").await;
    s.fake.react("bob", approval.id, "✅");
    s.edited(
        approval.id,
        &format!("1 of 2 approvals: {}", mention("bob")),
    )
    .await;
    s.fake.react("bob", approval.id, "👍");
    s.dm("bob", "you approved request #1 already").await;
    assert_eq!(request_state(s.dir.path(), 1).await, "pending");

    s.bot.take().expect("bot").kill().await;
    s.fake.react("dave", approval.id, "✅");
    s.boot_with(&two_person).await;
    s.edited(
        approval.id,
        &format!("Approved by {} and {}", mention("bob"), mention("dave")),
    )
    .await;
    s.edited(approval.id, "Done").await;
    s.stop().await;
    assert_eq!(request_state(s.dir.path(), 1).await, "completed");
    let audit = discord_bot::audit(s.dir.path(), 1).await;
    assert_eq!(audited(&audit, "stage_approval_counted"), 1, "{audit:#}");
    assert_eq!(audited(&audit, "stage_approved"), 1, "{audit:#}");
    assert_eq!(
        audited(&audit, "stage_completed"),
        1,
        "bought once: {audit:#}"
    );
    s.fake.assert_faithful();
}

/// `user` runs `/pro sub` with `options` in #general; waits for its answer saying `needle`.
async fn slash_by(
    fake: &FakeDiscord,
    user: &str,
    sub: &str,
    options: &[(&str, Value, u64)],
    needle: &str,
) -> Msg {
    let id = fake.slash(user, GENERAL, sub, options);
    let (_, answer) = fake
        .wait_for(
            &format!("{user}'s {sub} answer with {needle:?}"),
            TIMEOUT,
            |v| {
                v.interaction(id)
                    .filter(|(_, m)| m.as_ref().is_some_and(|m| m.content.contains(needle)))
            },
        )
        .await;
    answer.expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dutch_slash_user_is_answered_in_dutch_and_an_english_one_in_english() {
    let s = Setup::start().await;
    s.fake.set_client_locale("bob", "nl");
    let commands = s.fake.view(|v| v.commands()).expect("registered");
    let language = commands[0]["options"]
        .as_array()
        .expect("subcommands")
        .iter()
        .find(|o| o["name"] == "language")
        .expect("/pro language")
        .clone();
    let choices: Vec<&str> = language["options"][0]["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(choices, ["English", "Nederlands"], "each by its own name");

    // The same command, in one guild, by two people whose apps speak two languages.
    let dutch = slash_by(&s.fake, "bob", "help", &[], "Commando's:").await;
    assert!(!dutch.content.contains("Commands:"), "{}", dutch.content);
    let english = slash_by(&s.fake, "alice", "help", &[], "Commands:").await;
    assert!(
        !english.content.contains("Commando's:"),
        "{}",
        english.content
    );
    slash_by(
        &s.fake,
        "bob",
        "language",
        &[],
        "Ik antwoord je in het Nederlands",
    )
    .await;
    slash_by(&s.fake, "alice", "language", &[], "I answer you in English").await;
    // A problem with what was typed is said in the speaker's language too.
    slash_by(
        &s.fake,
        "bob",
        "cancel",
        &[("id", json!(99), 4)],
        "Aanvraag #99",
    )
    .await;
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chosen_language_holds_for_text_commands_and_direct_messages_but_not_approvals() {
    let s = Setup::start().await;
    s.link("alice", "alice@contoso.example").await;
    s.say(
        "alice",
        "!pro language klingon",
        "is not a language I speak: choose en, nl",
    )
    .await;
    s.say(
        "alice",
        "!pro language nl",
        "Vanaf nu antwoord ik je in het Nederlands",
    )
    .await;
    s.say(
        "alice",
        "!pro request because I build the sales reports",
        "Aanvraag #1 is binnen",
    )
    .await;
    // The approvals channel keeps the bot's language.
    let approval = s.reacted_approval("Request #1").await;
    s.fake.react("carol", approval.id, "✅");
    s.edited(approval.id, "Done").await;
    // What the job did is said in her language too; the approvals channel says it in its own.
    let done = "Aanvraag #1 is klaar: Power BI Pro toegewezen aan alice@contoso.example.";
    s.dm("alice", done).await;
    s.bot_message(GENERAL, done).await;
    s.edited(
        approval.id,
        "Done: Power BI Pro assigned to alice@contoso.example",
    )
    .await;
    // Someone who chose nothing still hears the bot's language.
    s.say("bob", "!pro help", "Commands:").await;
    // A denial is told in the requester's language, its reason ("none given") too, while
    // the approval message says it in English.
    s.link("judy", "judy@contoso.example").await;
    slash_by(
        &s.fake,
        "judy",
        "language",
        &[("code", json!("nl"), 3)],
        "Vanaf nu",
    )
    .await;
    s.say(
        "judy",
        "!pro request because I need it",
        "Aanvraag #2 is binnen",
    )
    .await;
    let second = s.reacted_approval("Request #2").await;
    s.fake.react("dave", second.id, "❌");
    s.dm("judy", "is afgewezen: afgewezen door").await;
    s.dm("judy", "geen reden gegeven").await;
    s.edited(second.id, "no reason given").await;
    s.say(
        "alice",
        "!pro language en",
        "From now on I answer you in English",
    )
    .await;
    s.say("alice", "!pro status 1", "#1 a Power BI Pro licence")
        .await;
    s.fake.assert_faithful();
}

/// Waits until the bot's log has said `needle` `times` times.
async fn logged(s: &Setup, needle: &str, times: usize) {
    let deadline = Instant::now() + TIMEOUT;
    while s.log().matches(needle).count() < times {
        assert!(
            Instant::now() < deadline,
            "{needle:?} {times} times in:\n{}",
            s.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_guilds_language_answers_those_who_chose_none() {
    let mut s = Setup::configured().await;
    s.fake.make_community("nl");
    s.boot().await;
    logged(&s, "community=true", 1).await;
    s.say("bob", "!pro help", "Commando's:").await;
    // A slash command follows the person's app over the guild.
    slash_by(&s.fake, "alice", "help", &[], "Commands:").await;
    // The guild turns English: so do the answers to text commands.
    s.fake.make_community("en-GB");
    logged(&s, "community=true", 2).await;
    s.say("bob", "!pro help", "Commands:").await;
    s.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_are_written_in_the_approvals_language_whoever_asked() {
    let mut s = Setup::configured().await;
    s.boot_with(&[(
        "LICENSEBOT__BOT__APPROVALS_LANGUAGE".to_string(),
        "nl".to_string(),
    )])
    .await;
    s.link("alice", "alice@contoso.example").await;
    s.say(
        "alice",
        "!pro request because I build the sales reports",
        "Request #1 is in",
    )
    .await;
    let approval = s.reacted_approval("Aanvraag #1, stap 1 van 1").await;
    s.fake.react("carol", approval.id, "✅");
    s.edited(approval.id, "Goedgekeurd door").await;
    s.edited(
        approval.id,
        "Klaar: Power BI Pro toegewezen aan alice@contoso.example",
    )
    .await;
    s.dm(
        "alice",
        "Request #1 is done: Power BI Pro assigned to alice@contoso.example",
    )
    .await;
    s.fake.assert_faithful();
}
