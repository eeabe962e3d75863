//! Discord faults, from the fake Discord, with the bot on the simulated tenant.

use std::time::Duration;

use super::report;
use crate::support::bot::audited;
use crate::support::discord_bot::{self, DiscordBot, TIMEOUT};
use crate::support::fake_discord::{self as fd, FakeDiscord, APPROVALS, BOT, GENERAL};

// ---------------------------------------------------------------------------------------
// Discord: the bot on the fake Discord and the simulated tenant; alice asks, carol approves.

/// The fake Discord and a connected bot.
struct OnDiscord {
    fake: FakeDiscord,
    dir: tempfile::TempDir,
    _bot: DiscordBot,
}

impl OnDiscord {
    /// Starts the fake (with `before` applied) and the bot, and waits until it is connected.
    async fn start(before: impl FnOnce(&FakeDiscord)) -> OnDiscord {
        let fake = FakeDiscord::start().await;
        before(&fake);
        let dir = tempfile::tempdir().expect("tempdir");
        discord_bot::write_config(dir.path(), &fake.url());
        let bot = DiscordBot::start(dir.path());
        fake.wait_for("the bot to connect", TIMEOUT, |v| {
            v.connected().then_some(())
        })
        .await;
        OnDiscord {
            fake,
            dir,
            _bot: bot,
        }
    }

    /// Alice links and asks; returns the approval message once the bot reacted on it.
    async fn alice_asks(&self) -> fd::Msg {
        self.alice_links().await;
        self.alice_requests().await
    }

    /// Alice proves her link (the mailed code, answered by DM).
    async fn alice_links(&self) {
        let dir = self.dir.path().to_path_buf();
        discord_bot::link(&self.fake, "alice", "alice@contoso.example", |to| {
            discord_bot::mailed_code(&dir, to)
        })
        .await;
    }

    /// Alice asks (her link proven); returns the approval message once the bot reacted on it.
    async fn alice_requests(&self) -> fd::Msg {
        self.fake.say("alice", GENERAL, "!pro request");
        self.fake
            .ready_for_a_decision(APPROVALS, "Request #1", TIMEOUT)
            .await
    }

    /// Waits until the approval message says it is done and nothing is owed in chat.
    async fn done(&self, approval: u64) {
        self.fake
            .wait_for("the approval marked done", TIMEOUT, |v| {
                v.message(approval).filter(|m| m.content.contains("Done"))
            })
            .await;
        let deadline = std::time::Instant::now() + TIMEOUT;
        while self.owed().await > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{}",
                self.fake.describe()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Messages the bot still owes (undelivered, not given up).
    async fn owed(&self) -> i64 {
        crate::support::discord_bot::store_scalar(
            self.dir.path(),
            "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL",
        )
        .await
    }

    /// Bot messages to alice that say it is done: (DMs, replies in #general).
    fn told_done(&self) -> (usize, usize) {
        self.fake.view(|v| {
            let dms = v
                .dms_to("alice")
                .iter()
                .filter(|d| d.contains("is done"))
                .count();
            let replies = v
                .messages_in(GENERAL)
                .iter()
                .filter(|m| m.author == BOT && m.content.contains("is done"))
                .count();
            (dms, replies)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_gateway_drop_is_resumed_and_the_missed_reaction_applied_once() {
    let d = OnDiscord::start(|_| {}).await;
    let approval = d.alice_asks().await;

    d.fake.drop_and_wait_for_resume(TIMEOUT).await;
    d.fake.react("carol", approval.id, "✅");
    d.fake.release_resume();
    d.done(approval.id).await;

    let (identifies, resumes) = d.fake.view(|v| v.handshakes());
    let approvals = audited(&discord_bot::audit(d.dir.path(), 1).await, "stage_approved");
    let told = d.told_done();
    report(
        "Discord gateway connection dropped (resumable close 4000); a reaction arrives while the bot is away",
        "serenity resumes the session; the missed reaction is replayed and applied once; the request completes",
        &format!(
            "identifies {identifies}, resumes {resumes}; approvals applied {approvals}; {}; told done {told:?} (DM, reply)",
            discord_bot::request_state(d.dir.path(), 1).await
        ),
    );
    assert_eq!((identifies, resumes), (1, 1));
    assert_eq!(approvals, 1);
    assert_eq!(told, (1, 1));
    d.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_rest_429_on_the_approval_post_is_retried_and_posted_once() {
    let d = OnDiscord::start(|f| {
        f.fail(fd::Fault::on(
            "POST",
            &format!("/channels/{APPROVALS}/messages"),
            1,
            429,
        ))
    })
    .await;
    let approval = d.alice_asks().await;

    let (statuses, posted) = d.fake.view(|v| {
        let statuses: Vec<u16> = v
            .calls_to("POST", &format!("/channels/{APPROVALS}/messages"))
            .iter()
            .map(|c| c.status)
            .collect();
        let posted = v
            .messages_in(APPROVALS)
            .iter()
            .filter(|m| m.content.contains("Request #1"))
            .count();
        (statuses, posted)
    });
    report(
        "Discord REST 429 (retry_after 0.25 s, rate-limit headers) on posting the approval message",
        "the outbox keeps the post and retries it; posted once, with the bot's reactions",
        &format!(
            "POST statuses {statuses:?}; approval messages {posted}; reactions on it: {:?}",
            approval.reactions.keys().collect::<Vec<_>>()
        ),
    );
    assert_eq!(statuses.first(), Some(&429));
    assert_eq!(posted, 1);
    d.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_500_on_the_approval_edit_is_retried_and_edited() {
    let d = OnDiscord::start(|_| {}).await;
    let approval = d.alice_asks().await;
    d.fake.fail(fd::Fault::on(
        "PATCH",
        &format!("/messages/{}", approval.id),
        1,
        500,
    ));

    d.fake.react("carol", approval.id, "✅");
    d.done(approval.id).await;

    let statuses: Vec<u16> = d.fake.view(|v| {
        v.calls_to("PATCH", &format!("/messages/{}", approval.id))
            .iter()
            .map(|c| c.status)
            .collect()
    });
    let told = d.told_done();
    report(
        "Discord REST 500 on editing the approval message",
        "the outbox retries the edit; the message ends showing the outcome; the requester told once",
        &format!("PATCH statuses {statuses:?}; told done {told:?} (DM, reply)"),
    );
    assert_eq!(statuses.first(), Some(&500));
    assert_eq!(told, (1, 1));
    d.fake.assert_faithful();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_closed_dms_leave_the_requester_told_once_by_reply() {
    // Alice proves her link first (its code is answered by DM); then her DMs close.
    let d = OnDiscord::start(|_| {}).await;
    d.alice_links().await;
    d.fake.close_dms("alice");
    let approval = d.alice_requests().await;

    d.fake.react("carol", approval.id, "✅");
    d.done(approval.id).await;

    let refused = d.fake.view(|v| {
        v.calls()
            .iter()
            .filter(|c| c.method == "POST" && c.status == 403)
            .count()
    });
    let told = d.told_done();
    let owed = d.owed().await;
    report(
        "the requester's DMs are closed (403, code 50007)",
        "the DM is given up at once, not retried; the requester is told once, by the reply under their request",
        &format!("DMs refused {refused}; told done {told:?} (DM, reply); messages still owed {owed}"),
    );
    assert!(refused >= 1);
    assert_eq!(told, (0, 1));
    assert_eq!(owed, 0);
    d.fake.assert_faithful();
}
