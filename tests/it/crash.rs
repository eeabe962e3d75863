//! Crash safety of the real binary. The bot runs as a process on the fake Discord, with the
//! Microsoft Graph backend and Partner Center purchases on the fake Microsoft, and dies at
//! each step of a purchase (a request with no free seat: buy, then assign) and of an
//! assignment (a free seat): by SIGKILL while a call is held in flight, or by a crash point
//! (`LICENSEBOT_CRASH_AT`, which aborts) between two steps that no call separates. After a
//! restart every request must reach its end state with exactly one quantity change per
//! purchase (counted at the fake Partner Center), one `assignLicense` per assignment (counted
//! at the fake Graph), and the requester told once (counted at the fake Discord).
//!
//! Each test prints one row of the crash matrix (`CRASH-MATRIX | …`); README's Reliability
//! section shows them.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use crate::support::discord_bot::{self, DiscordBot, TIMEOUT};
use crate::support::fake_discord::{uid, FakeDiscord, HoldId, Msg, APPROVALS, BOT, GENERAL};
use crate::support::fake_microsoft::{Assigned, FakeMicrosoft, SignInActivity, PRO_GROUP, PRO_SKU};

/// What is being done when the bot dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Judy asks with no seat free: a purchase stage (Partner Center) then an assignment;
    /// Dave, who holds both roles, approves both with one reaction.
    Purchase,
    /// Alice asks with a seat free: one assignment stage, approved by Carol.
    Assignment,
    /// The same in group mode: Alice is made a member of the licensing group, whose licence
    /// the fake's group-based licensing applies at once.
    Joining,
}

impl Flow {
    fn requester(self) -> &'static str {
        match self {
            Flow::Purchase => "judy",
            Flow::Assignment | Flow::Joining => "alice",
        }
    }

    fn upn(self) -> String {
        format!("{}@contoso.example", self.requester())
    }

    fn approver(self) -> &'static str {
        match self {
            Flow::Purchase => "dave",
            Flow::Assignment | Flow::Joining => "carol",
        }
    }

    /// Group mode's settings: the fake's licensing group, its licence applied at once.
    fn group_env(self, ms: &FakeMicrosoft) -> Vec<(String, String)> {
        if self != Flow::Joining {
            return Vec::new();
        }
        ms.state().group_licence_delay = chrono::Duration::zero();
        vec![
            ("LICENSEBOT__LICENSING__MODE".into(), "group".into()),
            ("LICENSEBOT__LICENSING__GROUP_ID".into(), PRO_GROUP.into()),
        ]
    }
}

/// Where the bot dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Crash point `after_decision_stored`: the decision is committed, nothing said about it,
    /// its job not started.
    DecisionStored,
    /// SIGKILL once the decision is told (the approval message edited) while the job's first
    /// call, the approver's role re-check, is held at Graph: no change made yet.
    JobStarted,
    /// SIGKILL while the change is held at Microsoft (the Partner Center PATCH of the
    /// quantity, or the `$batch` with `assignLicense`): made there, not answered.
    ChangeInFlight,
    /// Crash point `after_backend_call`: the change answered and read back, its outcome not
    /// stored.
    BackendAnswered,
    /// Crash point `after_outcome_stored`: the outcome committed, nothing said about it.
    OutcomeStored,
    /// SIGKILL while Discord holds the edit that marks the approval message done.
    ApprovalEditInFlight,
    /// Crash point `after_message_posted`: the first message posted after the decision
    /// exists at Discord, the outbox does not know it.
    MessagePosted,
    /// SIGKILL while Discord holds the post that tells the requester it is done.
    DoneMessageInFlight,
}

impl Step {
    /// The crash point armed for the run that dies, if the step has one.
    fn crash_point(self) -> Option<&'static str> {
        match self {
            Step::DecisionStored => Some("after_decision_stored"),
            Step::BackendAnswered => Some("after_backend_call"),
            Step::OutcomeStored => Some("after_outcome_stored"),
            Step::MessagePosted => Some("after_message_posted"),
            _ => None,
        }
    }
}

/// The fakes, the bot's directory and the running bot.
struct Rig {
    discord: FakeDiscord,
    ms: FakeMicrosoft,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    bot: Option<DiscordBot>,
}

impl Rig {
    /// Fakes for `flow` and the bot's settings; the bot is not started.
    async fn new(flow: Flow) -> Rig {
        let discord = FakeDiscord::start().await;
        let ms = FakeMicrosoft::start();
        if flow == Flow::Purchase {
            // Gina's seat is the only one: nothing is free.
            ms.state().set_enabled("POWER_BI_PRO", 1);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (toml, mut env) = ms.bot_settings(true);
        env.extend(flow.group_env(&ms));
        discord_bot::write_config_with(dir.path(), &discord.url(), &toml);
        Rig {
            discord,
            ms,
            dir,
            env,
            bot: None,
        }
    }

    /// Starts the bot (with a crash point armed, if given) and waits until it is connected
    /// and has registered its commands.
    async fn boot(&mut self, crash_at: Option<&str>) {
        let mark = self.discord.start_mark();
        let mut env = self.env.clone();
        if let Some(point) = crash_at {
            env.push(("LICENSEBOT_CRASH_AT".into(), point.into()));
        }
        self.bot = Some(DiscordBot::start_with(
            self.dir.path(),
            "info,licensebot=debug",
            &env,
        ));
        self.discord.wait_started(mark, TIMEOUT).await;
    }

    fn bot(&mut self) -> DiscordBot {
        self.bot.take().expect("a running bot")
    }

    async fn disconnected(&self) {
        self.discord
            .wait_for("the dead bot's gateway to close", TIMEOUT, |v| {
                (!v.connected()).then_some(())
            })
            .await;
    }

    /// Kills the bot with SIGKILL.
    async fn kill(&mut self) {
        self.bot().kill().await;
        self.disconnected().await;
    }

    /// Waits for the bot to die at its armed crash point.
    async fn crashed_at(&mut self, point: &str) {
        let bot = self.bot();
        let log_path = bot.dir.join("bot.log");
        let status = bot.exited().await;
        let log = std::fs::read_to_string(log_path).unwrap_or_default();
        assert_eq!(
            status.signal(),
            Some(6),
            "the bot should abort (SIGABRT) at {point}: {status}; log:\n{log}"
        );
        assert!(
            log.contains(&format!("crash point {point} reached")),
            "{log}"
        );
        self.disconnected().await;
    }

    /// Stops the bot gracefully.
    async fn stop(&mut self) {
        self.bot().stop().await;
        self.disconnected().await;
    }

    async fn bot_message(&self, channel: u64, needle: &str) -> Msg {
        self.discord
            .wait_for(&format!("a bot message with {needle:?}"), TIMEOUT, |v| {
                v.bot_message(channel, needle)
            })
            .await
    }

    /// Links the requester, asks, and returns the first approval message once the bot's
    /// reactions are on it (and every stage is posted).
    async fn ask(&self, flow: Flow) -> Msg {
        let who = flow.requester();
        discord_bot::link(&self.discord, who, &flow.upn(), |to| {
            self.ms.mailed_code(to)
        })
        .await;
        self.discord.say(who, GENERAL, "!pro request");
        self.bot_message(GENERAL, "Request #1 is in").await;
        if flow == Flow::Purchase {
            self.bot_message(APPROVALS, "Request #1, stage 2 of 2")
                .await;
        }
        self.discord
            .ready_for_a_decision(APPROVALS, "Request #1, stage 1", TIMEOUT)
            .await
    }

    /// One number from the bot's database.
    async fn scalar(&self, sql: &str) -> i64 {
        discord_bot::store_scalar(self.dir.path(), sql).await
    }

    /// Waits until every request has ended, no job is left and the outbox is delivered.
    async fn settled(&self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let open = self
                .scalar(
                    "SELECT COUNT(*) FROM requests
                     WHERE state NOT IN ('completed', 'denied', 'cancelled', 'expired', 'failed')",
                )
                .await;
            let jobs = self
                .scalar("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')")
                .await;
            let owed = self
                .scalar(
                    "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND gave_up_at IS NULL",
                )
                .await;
            if open == 0 && jobs == 0 && owed == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not settled: {open} open request(s), {jobs} job(s), {owed} message(s) owed; \
                 fake Discord:\n{}\nlog:\n{}",
                self.discord.describe(),
                std::fs::read_to_string(self.dir.path().join("bot.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What the fakes saw, once the bot settled after its restart.
#[derive(Debug)]
struct Observed {
    state: String,
    quantity_changes: Vec<(i64, i64)>,
    assign_calls: usize,
    dms: Vec<String>,
    replies: Vec<String>,
    /// Message creates the bot repeated with a nonce Discord had seen (answered with the
    /// first message, creating nothing).
    nonce_repeats: usize,
}

impl Observed {
    /// Prints this run's row of the crash matrix: the `step` it died at, what ran, and the
    /// calls that changed the tenant.
    fn print_row(&self, step: Step, what: &str, calls: &str) {
        println!(
            "CRASH-MATRIX | {step:?} | {what} | {} | {:?} | {calls} | {} DM(s), {} reply(ies) | {} nonce repeat(s)",
            self.state,
            self.quantity_changes,
            self.dms.len(),
            self.replies.len(),
            self.nonce_repeats
        );
    }
}

/// The messages of `said` that tell a request is done.
fn done_in(said: &[String]) -> Vec<&String> {
    said.iter().filter(|t| t.contains("is done")).collect()
}

/// Dies at `step` of `flow`, restarts, and checks the end: completed, one quantity change per
/// purchase, one `assignLicense`, the requester told once; prints the matrix row.
async fn crash_and_recover(flow: Flow, step: Step) {
    let mut rig = Rig::new(flow).await;
    // A crash point armed from the start is first reached at the step; except a message
    // posted, which happens from the first line on: that one is armed by a restart.
    let armed_early = step.crash_point().filter(|_| step != Step::MessagePosted);
    rig.boot(armed_early).await;
    let approval = rig.ask(flow).await;
    if step == Step::MessagePosted {
        rig.stop().await;
        rig.boot(step.crash_point()).await;
    }

    die_at(&mut rig, flow, step, &approval).await;

    rig.boot(None).await;
    rig.settled().await;
    rig.stop().await;
    check_recovered(&rig, flow, step).await;
}

/// Approves, and has the bot die at `step`: killed while an answer is held, or stopped at
/// its crash point.
async fn die_at(rig: &mut Rig, flow: Flow, step: Step, approval: &Msg) {
    match step {
        Step::JobStarted => die_in_role_check(rig, flow, approval).await,
        Step::ChangeInFlight => {
            let held = match flow {
                Flow::Purchase => rig.ms.hold("PATCH", "/subscriptions/"),
                Flow::Assignment => rig.ms.hold_with("POST", "/$batch", Some("assignLicense")),
                Flow::Joining => rig.ms.hold("POST", "/members/$ref"),
            };
            rig.discord.react(flow.approver(), approval.id, "✅");
            wait_until("the change to be held at Microsoft", || {
                rig.ms.holding(held)
            })
            .await;
            rig.kill().await;
            rig.ms.release(held);
        }
        Step::ApprovalEditInFlight => {
            let edit = format!("/messages/{}", approval.id);
            let held = rig.discord.hold("PATCH", &edit, Some("Done"));
            die_while_discord_holds(rig, flow, approval, held, "the done edit").await;
        }
        Step::DoneMessageInFlight => {
            let held = rig.discord.hold("POST", "/messages", Some("is done"));
            die_while_discord_holds(rig, flow, approval, held, "the done message").await;
        }
        Step::DecisionStored
        | Step::BackendAnswered
        | Step::OutcomeStored
        | Step::MessagePosted => {
            rig.discord.react(flow.approver(), approval.id, "✅");
            rig.crashed_at(step.crash_point().expect("a crash point"))
                .await;
        }
    }
}

/// Approves, and kills the bot while the job's read of its decider's roles is held.
async fn die_in_role_check(rig: &mut Rig, flow: Flow, approval: &Msg) {
    let approved = format!("Approved by <@{}>", uid(flow.approver()));
    // The job reads its decider's roles fresh: alone, or inside the $batch that also reads
    // its targets.
    let held = [
        rig.ms.hold("GET", "/roleManagement/"),
        rig.ms.hold_with("POST", "/$batch", Some("roleManagement")),
    ];
    rig.discord.react(flow.approver(), approval.id, "✅");
    rig.discord
        .wait_for(
            "the decision told and the job's role check held",
            TIMEOUT,
            |v| {
                // The edit as sent, not the message as it is now: on a loaded machine the
                // held read can outlast the Graph timeout (2 s), be retried and the job
                // finish, and the "Done" edit replace "Approved by".
                let told = v
                    .calls_to("PATCH", &format!("/messages/{}", approval.id))
                    .iter()
                    .any(|c| c.body.contains(&approved));
                (told && held.iter().any(|&h| rig.ms.holding(h))).then_some(())
            },
        )
        .await;
    rig.kill().await;
    for h in held {
        rig.ms.release(h);
    }
}

/// Approves, and kills the bot once the fake Discord holds `what` (caught by `held`).
async fn die_while_discord_holds(
    rig: &mut Rig,
    flow: Flow,
    approval: &Msg,
    held: HoldId,
    what: &str,
) {
    rig.discord.react(flow.approver(), approval.id, "✅");
    rig.discord
        .wait_for(&format!("{what} to be held"), TIMEOUT, |v| {
            v.holding(held).then_some(())
        })
        .await;
    rig.kill().await;
    rig.discord.release(held);
}

/// The end after the restart: completed, one quantity change per purchase, one
/// `assignLicense`, the requester told once by DM and by reply, every approval message
/// showing the outcome, the audit chain intact; prints the matrix row.
async fn check_recovered(rig: &Rig, flow: Flow, step: Step) {
    let observed = observe(rig, flow).await;
    observed.print_row(
        step,
        &format!("{flow:?}"),
        &observed.assign_calls.to_string(),
    );

    assert_eq!(observed.state, "completed", "{observed:#?}");
    let changes = match flow {
        Flow::Purchase => vec![(1, 2)],
        Flow::Assignment | Flow::Joining => vec![],
    };
    assert_eq!(observed.quantity_changes, changes, "{observed:#?}");
    if flow == Flow::Joining {
        assert_eq!(
            observed.assign_calls, 0,
            "never assigned directly: {observed:#?}"
        );
        let members = rig.ms.members_of(PRO_GROUP);
        let alice = members.iter().filter(|m| **m == flow.upn()).count();
        assert_eq!(alice, 1, "a member once: {members:?}");
    } else {
        assert_eq!(observed.assign_calls, 1, "{observed:#?}");
    }
    assert_eq!(rig.ms.licences_of(&flow.upn()), ["POWER_BI_PRO"]);
    let assigned = format!("Power BI Pro assigned to {}", flow.upn());
    for (kind, said) in [("DM", &observed.dms), ("reply", &observed.replies)] {
        let done = done_in(said);
        assert_eq!(done.len(), 1, "told done once by {kind}: {observed:#?}");
        assert!(
            done[0].contains(&assigned),
            "told what the bot did, not that nothing changed: {observed:#?}"
        );
        let mut unique = said.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), said.len(), "no {kind} twice: {observed:#?}");
    }
    rig.discord.view(|v| {
        let approvals: Vec<Msg> = v
            .messages_in(APPROVALS)
            .into_iter()
            .filter(|m| m.author == BOT)
            .collect();
        let stages = if flow == Flow::Purchase { 2 } else { 1 };
        assert_eq!(
            approvals.len(),
            stages,
            "one message per stage: {approvals:#?}"
        );
        assert!(
            approvals.iter().all(|m| m.content.contains("Done")),
            "every approval message shows the outcome: {approvals:#?}"
        );
    });
    let audit = discord_bot::audit(rig.dir.path(), 1).await;
    assert_eq!(audit["chain"]["intact"], true, "{audit:#}");
    rig.discord.assert_faithful();
}

/// Polls a condition of a fake that has no change notification (the fake Microsoft).
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn observe(rig: &Rig, flow: Flow) -> Observed {
    let who = flow.requester();
    let mention = format!("<@{}>", uid(who));
    let (dms, replies, nonce_repeats) = rig.discord.view(|v| {
        let dms = v.dms_to(who);
        let replies: Vec<String> = v
            .messages_in(GENERAL)
            .into_iter()
            .filter(|m| m.author == BOT && m.content.contains(&mention))
            .map(|m| m.content)
            .collect();
        let creates = v.calls_to("POST", "/messages");
        assert!(
            creates
                .iter()
                .all(|c| c.json()["enforce_nonce"] == true && c.json()["nonce"].is_string()),
            "every message create carries an enforced nonce: {creates:#?}"
        );
        let mut nonces: Vec<String> = creates
            .iter()
            .filter(|c| c.status == 200 && c.json()["enforce_nonce"] == true)
            .filter_map(|c| c.json()["nonce"].as_str().map(str::to_string))
            .collect();
        let sent = nonces.len();
        nonces.sort();
        nonces.dedup();
        (dms, replies, sent - nonces.len())
    });
    let state = discord_bot::request_state(rig.dir.path(), 1).await;
    let assign_calls = rig.ms.ops("POST", "/assignLicense");
    let quantity_changes = rig.ms.state().quantity_changes.clone();
    Observed {
        state,
        quantity_changes,
        assign_calls,
        dms,
        replies,
        nonce_repeats,
    }
}

/// One test a case: `run(What::what, At::at)` (or `run(At::at)`), for the flows killed at each crash point and
/// for the scheduled messages below.
macro_rules! crash_cases {
    ($run:ident($what:ident, $at:ident) { $($name:ident: $w:ident at $s:ident;)* }) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $run($what::$w, $at::$s).await;
        }
    )*};
    ($run:ident($at:ident) { $($name:ident: at $s:ident;)* }) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $run($at::$s).await;
        }
    )*};
}

crash_cases! { crash_and_recover(Flow, Step) {
    purchase_dying_after_its_decision_is_stored_ends_once: Purchase at DecisionStored;
    purchase_killed_when_its_job_started_ends_once: Purchase at JobStarted;
    purchase_killed_while_partner_center_holds_the_change_ends_once: Purchase at ChangeInFlight;
    purchase_dying_after_the_backend_answered_ends_once: Purchase at BackendAnswered;
    purchase_dying_after_its_outcome_is_stored_ends_once: Purchase at OutcomeStored;
    purchase_killed_while_the_approval_edit_is_held_ends_once: Purchase at ApprovalEditInFlight;
    purchase_dying_after_a_message_is_posted_ends_once: Purchase at MessagePosted;
    purchase_killed_while_the_done_message_is_held_ends_once: Purchase at DoneMessageInFlight;
    assignment_dying_after_its_decision_is_stored_ends_once: Assignment at DecisionStored;
    assignment_killed_when_its_job_started_ends_once: Assignment at JobStarted;
    assignment_killed_while_graph_holds_assign_license_ends_once: Assignment at ChangeInFlight;
    assignment_dying_after_the_backend_answered_ends_once: Assignment at BackendAnswered;
    assignment_dying_after_its_outcome_is_stored_ends_once: Assignment at OutcomeStored;
    assignment_killed_while_the_approval_edit_is_held_ends_once: Assignment at ApprovalEditInFlight;
    assignment_dying_after_a_message_is_posted_ends_once: Assignment at MessagePosted;
    assignment_killed_while_the_done_message_is_held_ends_once: Assignment at DoneMessageInFlight;
    joining_dying_after_its_decision_is_stored_ends_once: Joining at DecisionStored;
    joining_killed_while_graph_holds_the_membership_ends_once: Joining at ChangeInFlight;
    joining_dying_after_the_backend_answered_ends_once: Joining at BackendAnswered;
    joining_dying_after_its_outcome_is_stored_ends_once: Joining at OutcomeStored;
}}

/// Alice gives back the Pro licence she has from the licensing group, in group mode, and the
/// bot dies at `step` of taking her out of the group (no approval: the job runs at once).
/// After the restart she is out of the group, the request completed and she is told once.
async fn leaving_crash_and_recover(step: Step) {
    let mut rig = Rig::new(Flow::Joining).await;
    {
        let mut state = rig.ms.state();
        let alice = state
            .user("alice@contoso.example")
            .expect("alice")
            .id
            .clone();
        let group = state.group_mut(PRO_GROUP);
        group.members.push(alice);
        let user = state.user_mut("alice@contoso.example");
        user.licenses.push(Assigned::inherited(PRO_SKU, PRO_GROUP));
    }
    rig.boot(step.crash_point()).await;
    discord_bot::link(&rig.discord, "alice", "alice@contoso.example", |to| {
        rig.ms.mailed_code(to)
    })
    .await;
    if step == Step::ChangeInFlight {
        let held = rig.ms.hold("DELETE", "/members/");
        rig.discord.say("alice", GENERAL, "!pro release");
        wait_until("the removal to be held at Graph", || rig.ms.holding(held)).await;
        rig.kill().await;
        rig.ms.release(held);
    } else {
        rig.discord.say("alice", GENERAL, "!pro release");
        rig.crashed_at(step.crash_point().expect("a crash point"))
            .await;
    }
    rig.boot(None).await;
    rig.settled().await;
    rig.stop().await;

    let state = discord_bot::request_state(rig.dir.path(), 1).await;
    let removals = rig.ms.ops("DELETE", "/members/");
    let mention = format!("<@{}>", uid("alice"));
    let (dms, replies) = rig.discord.view(|v| {
        let done = |t: &String| t.contains("is done");
        let dms: Vec<String> = v.dms_to("alice").into_iter().filter(done).collect();
        let replies: Vec<String> = v
            .messages_in(GENERAL)
            .into_iter()
            .filter(|m| m.author == BOT && m.content.contains(&mention))
            .map(|m| m.content)
            .filter(done)
            .collect();
        (dms, replies)
    });
    println!(
        "CRASH-MATRIX | {step:?} | Leaving | {state} | [] | {removals} removal(s) | {} DM(s), {} reply(ies) | -",
        dms.len(),
        replies.len()
    );
    assert_eq!(state, "completed");
    let members = rig.ms.members_of(PRO_GROUP);
    assert_eq!(
        members,
        ["gina@contoso.example"],
        "alice is out of the group"
    );
    assert!(rig.ms.licences_of("alice@contoso.example").is_empty());
    assert_eq!(rig.ms.ops("POST", "/assignLicense"), 0);
    assert!(
        (1..=2).contains(&removals),
        "taken out, at most once more after a kill: {removals}"
    );
    assert_eq!(dms.len(), 1, "told once by DM: {dms:?}");
    assert_eq!(replies.len(), 1, "told once in the channel: {replies:?}");
    let audit = discord_bot::audit(rig.dir.path(), 1).await;
    assert_eq!(audit["chain"]["intact"], true, "{audit:#}");
}

/// Judy asks with no seat free; alice holds Pro directly and has not signed in for 100 days,
/// so the purchase stage lists her; carol answers ♻️, and after the grace period (a second
/// here) one job takes alice's licence and gives it to judy. The bot dies at `step` of that
/// job; after the restart the licence has moved exactly once: judy holds it, alice does not,
/// nothing was bought, judy is told once.
async fn reclaim_crash_and_recover(step: Step) {
    let mut rig = Rig::new(Flow::Purchase).await;
    {
        let mut state = rig.ms.state();
        state.set_enabled("POWER_BI_PRO", 2);
        let alice = state.user_mut("alice@contoso.example");
        alice.licenses.push(Assigned::direct(PRO_SKU));
        let long_ago = chrono::Utc::now() - chrono::Duration::days(100);
        alice.sign_in = Some(SignInActivity {
            last_sign_in: Some(long_ago),
            last_non_interactive: Some(long_ago),
            last_successful: Some(long_ago),
        });
    }
    rig.env.extend([
        ("LICENSEBOT__RECLAIM__GRACE".to_string(), "1s".to_string()),
        (
            "LICENSEBOT__SCHEDULER__TICK".to_string(),
            "100ms".to_string(),
        ),
    ]);
    rig.boot(step.crash_point()).await;
    let purchase = rig.ask(Flow::Purchase).await;
    assert!(
        purchase.content.contains("alice@contoso.example"),
        "{}",
        purchase.content
    );
    if step == Step::ChangeInFlight {
        let held = rig.ms.hold("POST", "/assignLicense");
        rig.discord.react("carol", purchase.id, "♻️");
        wait_until("the removal to be held at Graph", || rig.ms.holding(held)).await;
        rig.kill().await;
        rig.ms.release(held);
    } else {
        rig.discord.react("carol", purchase.id, "♻️");
        rig.crashed_at(step.crash_point().expect("a crash point"))
            .await;
    }
    rig.boot(None).await;
    rig.settled().await;
    rig.stop().await;

    let observed = observe(&rig, Flow::Purchase).await;
    let changes = rig.ms.ops("POST", "/assignLicense");
    observed.print_row(step, "Reclaim", &format!("{changes} licence change(s)"));
    assert_eq!(observed.state, "completed", "{observed:#?}");
    assert!(
        observed.quantity_changes.is_empty(),
        "nothing bought: {observed:#?}"
    );
    assert_eq!(rig.ms.licences_of("judy@contoso.example"), ["POWER_BI_PRO"]);
    assert!(rig.ms.licences_of("alice@contoso.example").is_empty());
    assert!(
        (2..=3).contains(&changes),
        "one removal, one assignment (a held one repeated at most once): {changes}"
    );
    let done = done_in(&observed.dms);
    assert_eq!(done.len(), 1, "judy told once: {observed:#?}");
    let audit = discord_bot::audit(rig.dir.path(), 1).await;
    assert_eq!(audit["chain"]["intact"], true, "{audit:#}");
}

crash_cases! { reclaim_crash_and_recover(Step) {
    reclaim_killed_while_graph_holds_the_removal_moves_once: at ChangeInFlight;
    reclaim_dying_after_the_backend_answered_moves_once: at BackendAnswered;
    reclaim_dying_after_its_outcome_is_stored_moves_once: at OutcomeStored;
}}

crash_cases! { leaving_crash_and_recover(Step) {
    leaving_killed_while_graph_holds_the_removal_ends_once: at ChangeInFlight;
    leaving_dying_after_the_backend_answered_ends_once: at BackendAnswered;
    leaving_dying_after_its_outcome_is_stored_ends_once: at OutcomeStored;
}}

/// An assignment killed while Graph holds `assignLicense`, on a Graph that shows changes
/// late: after the restart the job reads back (the change may be made) before assigning
/// again, so `assignLicense` is still called once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_assignment_graph_shows_late_is_not_assigned_twice() {
    let flow = Flow::Assignment;
    let mut rig = Rig::new(flow).await;
    rig.env.extend([
        (
            "LICENSEBOT__JOBS__VERIFY_INTERVAL".to_string(),
            "50ms".to_string(),
        ),
        (
            "LICENSEBOT__JOBS__VERIFY_ATTEMPTS".to_string(),
            "5".to_string(),
        ),
    ]);
    rig.boot(None).await;
    let approval = rig.ask(flow).await;
    rig.ms.state().readback_lag = 3;
    let held = rig.ms.hold_with("POST", "/$batch", Some("assignLicense"));
    rig.discord.react(flow.approver(), approval.id, "✅");
    wait_until("assignLicense to be held", || rig.ms.holding(held)).await;
    rig.kill().await;
    rig.ms.release(held);

    rig.boot(None).await;
    rig.settled().await;
    rig.stop().await;

    let observed = observe(&rig, flow).await;
    assert_eq!(observed.state, "completed", "{observed:#?}");
    assert_eq!(observed.assign_calls, 1, "{observed:#?}");
    let done = done_in(&observed.dms);
    assert_eq!(done.len(), 1, "{observed:#?}");
    assert!(
        done[0].contains("Power BI Pro assigned to alice@contoso.example"),
        "{observed:#?}"
    );
}

/// A scheduled action on a request nobody decides (reminder after 1 s, escalation after 2 s,
/// expiry after 3 s, checked every 100 ms; on PostgreSQL 1 s, 5 s and 9 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheduled {
    Reminder,
    Escalation,
    Expiry,
}

impl Scheduled {
    /// Its visit of the crash point `after_schedule_stored` (they come in this order).
    fn visit(self) -> u32 {
        match self {
            Scheduled::Reminder => 1,
            Scheduled::Escalation => 2,
            Scheduled::Expiry => 3,
        }
    }

    /// Text that only its message carries.
    fn needle(self) -> &'static str {
        match self {
            Scheduled::Reminder => "⏰ Reminder",
            Scheduled::Escalation => "📣",
            Scheduled::Expiry => "expired after",
        }
    }
}

/// Where the bot dies around a scheduled action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScheduleStep {
    /// Crash point `after_schedule_stored`: the action and what it says are committed,
    /// nothing delivered.
    Stored,
    /// SIGKILL while Discord holds the action's post (made there, not answered).
    PostHeld,
}

/// Dies at `step` of `action`, restarts, and checks that every scheduled action happened
/// once: one reminder, one escalation, one expiry told to the requester once; one audit event
/// each.
async fn schedule_crash_and_recover(action: Scheduled, step: ScheduleStep) {
    let flow = Flow::Assignment;
    let mut rig = Rig::new(flow).await;
    // On PostgreSQL a bot started after one died waits out the dead one's gateway lease
    // (3 s in tests) before it acts: the actions are spaced wider than that, so the one
    // after the crash is not yet due when the new bot takes over (an expiry that is due
    // makes a pending escalation moot, as it should).
    let (escalate, expire) = match crate::support::postgres::server() {
        Some(_) => ("5s", "9s"),
        None => ("2s", "3s"),
    };
    for (k, v) in [
        ("LICENSEBOT__POLICY__REMIND_AFTER", "1s"),
        ("LICENSEBOT__POLICY__ESCALATE_AFTER", escalate),
        ("LICENSEBOT__POLICY__EXPIRE_AFTER", expire),
        ("LICENSEBOT__SCHEDULER__TICK", "100ms"),
    ] {
        rig.env.push((k.to_string(), v.to_string()));
    }
    let point = format!("after_schedule_stored@{}", action.visit());
    match step {
        ScheduleStep::Stored => {
            rig.boot(Some(&point)).await;
            rig.ask(flow).await;
            rig.crashed_at("after_schedule_stored").await;
        }
        ScheduleStep::PostHeld => {
            let held = rig.discord.hold("POST", "/messages", Some(action.needle()));
            rig.boot(None).await;
            rig.ask(flow).await;
            rig.discord
                .wait_for("the scheduled post to be held", TIMEOUT, |v| {
                    v.holding(held).then_some(())
                })
                .await;
            rig.kill().await;
            rig.discord.release(held);
        }
    }

    rig.boot(None).await;
    rig.settled().await;
    rig.stop().await;

    let (reminders, escalations, expired_dms) = rig.discord.view(|v| {
        let approvals: Vec<Msg> = v
            .messages_in(APPROVALS)
            .into_iter()
            .filter(|m| m.author == BOT)
            .collect();
        let count = |needle: &str| {
            approvals
                .iter()
                .filter(|m| m.content.contains(needle))
                .count()
        };
        let expired_dms = v
            .dms_to(flow.requester())
            .iter()
            .filter(|d| d.contains("expired after"))
            .count();
        (
            count(Scheduled::Reminder.needle()),
            count(Scheduled::Escalation.needle()),
            expired_dms,
        )
    });
    let audited = |what: &'static str| {
        let dir = rig.dir.path().to_path_buf();
        async move {
            discord_bot::store_scalar(
                &dir,
                &format!("SELECT COUNT(*) FROM audit_events WHERE action = '{what}'"),
            )
            .await
        }
    };
    let (reminded, escalated) = (audited("reminder_sent").await, audited("escalated").await);
    let state = discord_bot::request_state(rig.dir.path(), 1).await;
    println!(
        "SCHEDULE-CRASH | {action:?} | {step:?} | {state} | {reminders} reminder(s), {escalations} escalation(s), expiry told {expired_dms} time(s) by DM | audit: {reminded} reminder_sent, {escalated} escalated"
    );
    assert_eq!(state, "expired");
    assert_eq!((reminders, escalations, expired_dms), (1, 1, 1));
    assert_eq!((reminded, escalated), (1, 1));
    let audit = discord_bot::audit(rig.dir.path(), 1).await;
    assert_eq!(audit["chain"]["intact"], true, "{audit:#}");
    rig.discord.assert_faithful();
}

crash_cases! { schedule_crash_and_recover(Scheduled, ScheduleStep) {
    reminder_dying_after_it_is_stored_is_said_once: Reminder at Stored;
    reminder_killed_while_its_post_is_held_is_said_once: Reminder at PostHeld;
    escalation_dying_after_it_is_stored_is_said_once: Escalation at Stored;
    escalation_killed_while_its_post_is_held_is_said_once: Escalation at PostHeld;
    expiry_dying_after_it_is_stored_is_told_once: Expiry at Stored;
    expiry_killed_while_its_post_is_held_is_told_once: Expiry at PostHeld;
}}

/// Killed between storing a link's code and mailing it (crash point
/// `after_link_proof_stored`): after a restart the pending link is still there, no mail went
/// out (so no code works that was never recorded, and the recorded one reached nobody), and a
/// new `link` mails a code that proves it.
#[test]
fn a_link_dying_between_its_code_stored_and_mailed_loses_nothing() {
    use crate::support::bot::{mailed_code, mails};
    use crate::support::Bot;

    let (dir, mut bot) = Bot::start_with("", &[("LICENSEBOT_CRASH_AT", "after_link_proof_stored")]);
    bot.input(
        serde_json::json!({"type": "message", "channel": "general", "author": "alice",
                                 "content": "!pro link alice@contoso.example"}),
    );
    let status = bot.wait_exit();
    assert_eq!(status.signal(), Some(6), "aborted at the crash point");
    assert!(mails(dir.path()).is_empty(), "no mail went out");

    let mut bot = Bot::start_in(dir.path(), &[]);
    bot.say("alice", "!pro request");
    let refused = bot.idle();
    bot.link("alice", "alice@contoso.example");
    bot.say("alice", "!pro request");
    let asked = bot.idle();
    bot.finish();

    println!(
        "LINK-CRASH | code stored, mail not sent | pending link kept; mails after restart {}; verified with the new code",
        mails(dir.path()).len()
    );
    assert!(
        crate::support::bot::contents(&refused).contains("is not proven yet"),
        "the pending link survived: {refused:#?}"
    );
    assert_eq!(mails(dir.path()).len(), 1);
    assert!(!mailed_code(dir.path(), "alice@contoso.example").is_empty());
    crate::support::bot::approval_with(&asked, "Request #1");
}
