//! Whole conversations with the real binary in `console --jsonl` mode, with
//! `backend.kind = "graph"` and `purchase = "partner_center"` pointed at the fake Microsoft on
//! loopback: the same lifecycle as on the simulated tenant, carried out through HTTP.

use std::time::Duration;

use serde_json::Value;

use crate::support::bot::{
    approval_with, assert_bought_and_assigned, assert_dm, assert_dm_says, assert_says, command,
    contents, dms_to, id, request_state, requests_json, sends_in, write_config,
};
use crate::support::fake_microsoft::{
    FakeMicrosoft, Fault, FaultKind, CLIENT_SECRET, PC_CLIENT_SECRET,
};
use crate::support::Bot;

/// Starts a bot on the fake, with Partner Center purchases when `pc`, and extra env.
fn start(fake: &FakeMicrosoft, pc: bool, extra_env: &[(&str, &str)]) -> (tempfile::TempDir, Bot) {
    let (toml, env) = fake.bot_settings(pc);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    env.extend_from_slice(extra_env);
    Bot::start_with(&toml, &env)
}

fn restart(fake: &FakeMicrosoft, dir: &std::path::Path, pc: bool) -> Bot {
    let (_toml, env) = fake.bot_settings(pc);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Bot::start_in(dir, &env)
}

fn link(bot: &mut Bot, ms: &FakeMicrosoft, who: &str, upn: &str) {
    bot.link_with(who, upn, |to| ms.mailed_code(to));
}

/// The Graph calls the fake received ("METHOD path"), printed as those made for `what`.
fn graph_calls(fake: &FakeMicrosoft, what: &str) -> Vec<String> {
    let calls: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1.0/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    eprintln!("Graph calls for {what} ({}): {calls:#?}", calls.len());
    calls
}

/// The fake's settings written to a fresh directory (Partner Center purchases when `pc`):
/// the directory and the environment that goes with them.
fn configured(fake: &FakeMicrosoft, pc: bool) -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let (toml, env) = fake.bot_settings(pc);
    write_config(dir.path(), &toml);
    (dir, env)
}

/// `licensebot check-config` run on the settings in `dir` with this environment.
fn check_config(
    dir: &std::path::Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> std::process::Output {
    command(dir, &["check-config"]).envs(env).output().unwrap()
}

/// A fresh fake (no Partner Center) and a bot on it: the fake, the bot's directory and the
/// bot.
fn fresh() -> (FakeMicrosoft, tempfile::TempDir, Bot) {
    let fake = FakeMicrosoft::start();
    let (dir, bot) = start(&fake, false, &[]);
    (fake, dir, bot)
}

/// A bot on a fresh fake (no Partner Center) with `who` linked to `upn`: the fake, the
/// bot's directory and the bot.
fn linked(who: &str, upn: &str) -> (FakeMicrosoft, tempfile::TempDir, Bot) {
    linked_with(who, upn, &[])
}

/// [`linked`], the bot started with extra environment.
fn linked_with(
    who: &str,
    upn: &str,
    extra_env: &[(&str, &str)],
) -> (FakeMicrosoft, tempfile::TempDir, Bot) {
    let fake = FakeMicrosoft::start();
    let (dir, mut bot) = start(&fake, false, extra_env);
    link(&mut bot, &fake, who, upn);
    (fake, dir, bot)
}

/// The bot said Power BI Pro is assigned to alice, and request #1 is completed.
fn assert_assigned_to_alice(got: &[Value], dir: &std::path::Path) {
    assert!(
        contents(got).contains("Power BI Pro assigned to alice@contoso.example"),
        "{got:#?}"
    );
    assert_eq!(request_state(dir, 1), "completed");
}

/// alice asks to link alice@contoso.example, and the bot ends: what it said.
fn alice_links(mut bot: Bot) -> Vec<Value> {
    bot.say("alice", "!pro link alice@contoso.example");
    let got = bot.idle();
    bot.finish();
    got
}

/// Dave asks for a licence for `upn` and carol approves: what the bot said to the approval.
fn dave_asks_and_carol_approves(bot: &mut Bot, upn: &str) -> Vec<Value> {
    bot.say("dave", &format!("!pro request for {upn}"));
    let got = bot.idle();
    bot.approve("carol", &got, "Request #1")
}

/// A tenant with no Pro seat free (one bought, Gina's) and Judy asking for one with `ask`:
/// the fake, the bot's directory, the bot, and its answer.
fn judy_asks_with_no_seat_free(
    pc: bool,
    extra_env: &[(&str, &str)],
    ask: &str,
) -> (FakeMicrosoft, tempfile::TempDir, Bot, Vec<Value>) {
    let fake = FakeMicrosoft::start();
    fake.state().set_enabled("POWER_BI_PRO", 1);
    let (dir, mut bot) = start(&fake, pc, extra_env);
    link(&mut bot, &fake, "judy", "judy@contoso.example");
    bot.say("judy", ask);
    let got = bot.idle();
    (fake, dir, bot, got)
}

#[test]
fn a_request_with_a_free_seat_is_assigned_in_graph() {
    let (fake, dir, mut bot) = linked("alice", "alice@contoso.example");
    fake.clear_requests();

    bot.say("alice", "!pro request because I build the sales reports");
    let got = bot.idle();
    let approval = approval_with(&got, "assign the licence");
    let text = approval["content"].as_str().unwrap();
    assert!(text.contains("Seats: 1 free of 2"), "{text}");
    // The person and the seats were read in one call; the rest are the approvers' roles.
    let calls = graph_calls(&fake, "a request");
    assert_eq!(fake.count("POST", "/$batch"), 1, "{calls:#?}");
    assert_eq!(fake.ops("GET", "/subscribedSkus"), 1, "{calls:#?}");
    assert_eq!(fake.count("GET", "/subscribedSkus"), 0, "{calls:#?}");
    assert_eq!(fake.count("GET", "/users/alice"), 0, "{calls:#?}");
    assert!(
        text.contains("@carol") && text.contains("@dave") && !text.contains("@bob"),
        "routed by the roles Graph holds: {text}"
    );
    let m = id(approval);
    fake.clear_requests();

    bot.react("carol", &m, "✅");
    let got = bot.idle();

    assert_dm_says(&got, "alice", &["is done", "alice@contoso.example"]);
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(fake.licences_of("alice@contoso.example"), ["POWER_BI_PRO"]);
    let calls = graph_calls(&fake, "one approved assignment");
    assert_eq!(fake.ops("POST", "/assignLicense"), 1);
    assert!(calls.len() <= 6, "{calls:#?}");
    bot.finish();
}

/// Routing reads the approvers' roles together: on a bot just started none is cached, so
/// each is a Graph call, and the request waits for all of them. Three reads held at the fake
/// are all in flight at once; read one after another, the second would wait for the first
/// held one, whose client timeout is set longer than the test waits.
#[test]
fn routing_reads_the_approvers_roles_together() {
    let env = [("LICENSEBOT__BACKEND__GRAPH__TIMEOUT", "60s")];
    let (fake, dir, mut bot) = linked_with("alice", "alice@contoso.example", &env);
    let holds: Vec<_> = (0..3)
        .map(|_| fake.hold("GET", "/roleAssignments"))
        .collect();
    bot.say("alice", "!pro request because I build the sales reports");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !holds.iter().all(|h| fake.holding(*h)) {
        let in_flight = holds.iter().filter(|h| fake.holding(**h)).count();
        if std::time::Instant::now() > deadline {
            holds.iter().for_each(|h| fake.release(*h));
            panic!("only {in_flight} of the three approvers' role reads were sent at once");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    holds.iter().for_each(|h| fake.release(*h));
    let got = bot.idle();
    let approval = approval_with(&got, "assign the licence");
    let text = approval["content"].as_str().unwrap();
    assert!(
        text.contains("@carol") && text.contains("@dave") && !text.contains("@bob"),
        "routed by the roles Graph holds: {text}"
    );
    assert_eq!(request_state(dir.path(), 1), "pending");
    bot.finish();
}

#[test]
fn no_free_seat_buys_through_partner_center_then_assigns() {
    let (fake, dir, mut bot, got) =
        judy_asks_with_no_seat_free(true, &[], "!pro request for the finance dashboards");
    let purchase = approval_with(&got, "stage 1 of 2: buy 1 seat, monthly");
    let text = purchase["content"].as_str().unwrap();
    assert!(text.contains("Seats: 0 free of 1"), "{text}");
    assert!(text.contains("@bob") && !text.contains("@carol"), "{text}");
    let assign = approval_with(&got, "stage 2 of 2: assign the licence");
    let (pm, am) = (id(purchase), id(assign));

    bot.react("carol", &am, "✅");
    bot.idle();
    assert_eq!(
        fake.count("PATCH", "/subscriptions/"),
        0,
        "nothing bought yet"
    );
    bot.react("bob", &pm, "✅");
    let got = bot.idle();

    assert_bought_and_assigned(&got, 2, "judy@contoso.example");
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(fake.state().quantity_changes, [(1, 2)]);
    assert_eq!(fake.licences_of("judy@contoso.example"), ["POWER_BI_PRO"]);
    bot.finish();
}

#[test]
fn a_missing_usage_location_is_set_in_graph_before_assigning() {
    let (fake, dir, mut bot) = fresh();

    let got = dave_asks_and_carol_approves(&mut bot, "ivan@contoso.example");

    assert_says(
        &contents(&got),
        &["Power BI Pro assigned to ivan@contoso.example"],
    );
    assert_eq!(request_state(dir.path(), 1), "completed");
    let patch = fake.wait_for(Duration::from_secs(1), |r| r.method == "PATCH");
    assert_eq!(patch.body, r#"{"usageLocation":"NL"}"#);
    assert_eq!(
        fake.state()
            .user("ivan@contoso.example")
            .unwrap()
            .usage_location
            .as_deref(),
        Some("NL")
    );
    bot.finish();
}

#[test]
fn e5_users_are_told_and_guests_refused_from_what_graph_says() {
    let (fake, _dir, mut bot) = linked("frank", "frank@contoso.example");

    bot.say("frank", "!pro request");
    let frank = bot.idle();
    // A guest is refused when linking already: no link, no mail, no request.
    bot.say(
        "grace",
        "!pro link grace_fabrikam.example#EXT#@contoso.example",
    );
    let grace = bot.idle();
    assert_eq!(fake.state().mails.len(), 1, "only frank's code was mailed");

    assert_says(
        &contents(&frank),
        &["already has Power BI Pro through SPE_E5"],
    );
    assert_says(&contents(&grace), &["is a guest account"]);
    assert!(sends_in(&frank, "license-approvals").is_empty());
    assert!(sends_in(&grace, "license-approvals").is_empty());
    assert_eq!(fake.ops("POST", "/assignLicense"), 0);
    bot.finish();
}

/// Gina's Pro comes from the licensing group (Graph's `licenseAssignmentStates`): asking
/// for Pro, giving it back and an approver's revoke are each answered with the group and its
/// owner, and nothing is opened or changed in Graph (no removal from the user, which Graph
/// would refuse, and no seat freed that a group still uses).
#[test]
fn a_licence_from_a_group_is_named_with_its_owners_and_left_alone() {
    let (fake, dir, mut bot) = linked("gina", "gina@contoso.example");
    let group = "the group Power BI Pro users (owners: carol@contoso.example)";

    bot.say("gina", "!pro request");
    let asked = bot.idle();
    bot.say("gina", "!pro release");
    let released = bot.idle();
    bot.say("dave", "!pro revoke gina@contoso.example");
    let revoked = bot.idle();
    bot.say("gina", "!pro status");
    let status = bot.idle();
    bot.finish();

    assert!(
        contents(&status).contains(&format!("Your POWER_BI_PRO licence: from {group}.")),
        "{status:#?}"
    );

    for (said, expected) in [
        (&asked, "already has Power BI Pro through"),
        (&released, "would free no seat"),
        (&revoked, "would change nothing"),
    ] {
        assert!(contents(said).contains(expected), "{said:#?}");
        assert!(contents(said).contains(group), "{said:#?}");
        assert!(sends_in(said, "license-approvals").is_empty(), "{said:#?}");
    }
    assert_eq!(fake.ops("POST", "/assignLicense"), 0);
    assert_eq!(fake.ops("DELETE", "/members/"), 0);
    let requests = requests_json(dir.path());
    assert_eq!(requests.as_array().map(Vec::len), Some(0), "{requests:#?}");
}

#[test]
fn a_reaction_counts_only_with_the_role_graph_shows() {
    let env = [("LICENSEBOT__BACKEND__GRAPH__ROLE_CACHE_TTL", "0s")];
    let (fake, dir, mut bot) = linked_with("alice", "alice@contoso.example", &env);
    let m = bot.request("alice", "Request #1");

    // Bob is only a Billing Administrator in Graph.
    bot.react("bob", &m, "✅");
    let got = bot.idle();
    assert_dm(&got, "bob", "needs one of these roles");
    assert_eq!(request_state(dir.path(), 1), "pending");

    // Carol loses License Administrator in Graph; her reaction no longer counts.
    let carol = fake
        .state()
        .user("carol@contoso.example")
        .unwrap()
        .id
        .clone();
    fake.state()
        .role_assignments
        .retain(|a| a.principal_id != carol);
    bot.react("carol", &m, "✅");
    bot.idle();
    assert_eq!(request_state(dir.path(), 1), "pending");
    assert!(fake.licences_of("alice@contoso.example").is_empty());
    bot.finish();
}

#[test]
fn throttled_assignment_is_retried_by_the_job_queue_and_done_once() {
    let fake = FakeMicrosoft::start();
    fake.inject(Fault::on_batch_item(
        "POST",
        "/assignLicense",
        1,
        FaultKind::throttle("0.2"),
    ));
    let (dir, mut bot) = start(&fake, false, &[]);
    dave_asks_and_carol_approves(&mut bot, "alice@contoso.example");
    assert_eq!(fake.ops("POST", "/assignLicense"), 1);
    assert_ne!(
        request_state(dir.path(), 1),
        "completed",
        "the first try was throttled"
    );

    bot.advance(30);
    let got = bot.idle();

    assert_assigned_to_alice(&got, dir.path());
    assert_eq!(fake.ops("POST", "/assignLicense"), 2);
    assert_eq!(
        fake.state()
            .consumed(crate::support::fake_microsoft::PRO_SKU),
        2
    );
    bot.finish();
}

#[test]
fn a_kill_while_partner_center_holds_the_change_buys_exactly_once() {
    let (fake, dir, mut bot, got) = judy_asks_with_no_seat_free(true, &[], "!pro request");
    let pm = id(approval_with(&got, "Request #1, stage 1 of 2"));
    let held = fake.hold("PATCH", "/subscriptions/");

    // Dave holds both roles: one reaction clears both stages; the purchase job starts.
    bot.react("dave", &pm, "✅");
    fake.wait_for(Duration::from_secs(20), |r| r.method == "PATCH");
    bot.kill();

    let mut bot = restart(&fake, dir.path(), true);
    fake.release(held);
    let got = bot.idle();

    let all = contents(&got);
    assert!(
        all.contains("Power BI Pro assigned to judy@contoso.example"),
        "{all}"
    );
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(
        fake.state().quantity_changes,
        [(1, 2)],
        "exactly one quantity change"
    );
    assert_eq!(fake.state().subscription.quantity, 2);
    assert_eq!(fake.licences_of("judy@contoso.example"), ["POWER_BI_PRO"]);
    bot.finish();
}

#[test]
fn secrets_and_tokens_never_reach_the_log_or_the_database() {
    let (fake, dir, mut bot, got) =
        judy_asks_with_no_seat_free(true, &[("RUST_LOG", "trace")], "!pro request");
    bot.approve("dave", &got, "Request #1, stage 1 of 2");
    fake.expire_tokens();
    // No seat is free again: a second purchase with a renewed Graph token.
    bot.say("bob", "!pro request for ivan@contoso.example");
    let got = bot.idle();
    bot.approve("dave", &got, "Request #2, stage 1 of 2");
    assert_eq!(request_state(dir.path(), 2), "completed");
    bot.finish();

    let mut tokens: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| r.headers.get("authorization"))
        .filter_map(|a| a.strip_prefix("Bearer ").map(str::to_string))
        .collect();
    tokens.sort();
    tokens.dedup();
    assert!(
        tokens.len() >= 3,
        "graph, partner center and a renewed graph token: {tokens:?}"
    );
    let log = std::fs::read(dir.path().join("bot.log")).unwrap();
    assert!(log.len() > 10_000, "trace logging was on");
    let mut stores = vec![("bot.log", log)];
    for name in ["bot.db", "bot.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(name)) {
            stores.push((name, bytes));
        }
    }
    for (name, bytes) in &stores {
        let text = String::from_utf8_lossy(bytes);
        for secret in [CLIENT_SECRET, PC_CLIENT_SECRET]
            .iter()
            .map(|s| s.to_string())
            .chain(tokens.iter().cloned())
        {
            assert!(!text.contains(&secret), "{name} holds a secret or token");
        }
    }
}

#[test]
fn check_config_reports_seats_and_roles_from_graph() {
    let fake = FakeMicrosoft::start();
    let (dir, env) = configured(&fake, true);

    let out = check_config(dir.path(), env.clone());

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_says(
        &stdout,
        &[
            "microsoft graph: token acquired",
            "POWER_BI_PRO: 2 seats bought, 1 assigned, 1 free",
            "approver bob (bob@contoso.example): BillingAdministrator",
            "approver dave (dave@contoso.example): GlobalAdministrator",
            "partner center: the subscription has 2 seats",
        ],
    );
    assert!(!stdout.contains(CLIENT_SECRET));

    // The last value set for a variable is the one the command gets.
    let wrong_secret = [("FAKE_GRAPH_SECRET".into(), "not-the-secret".into())];
    let wrong_secret = env.into_iter().chain(wrong_secret);
    let out = check_config(dir.path(), wrong_secret);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("token: FAILED") && stdout.contains("AADSTS7000215"),
        "{stdout}"
    );
    assert!(!stdout.contains("not-the-secret"));
}

#[test]
fn check_config_names_a_missing_secret_variable() {
    let fake = FakeMicrosoft::start();
    let (dir, env) = configured(&fake, false);

    let out = check_config(
        dir.path(),
        env.into_iter().filter(|(k, _)| k != "FAKE_GRAPH_SECRET"),
    );

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("FAKE_GRAPH_SECRET") && stdout.contains("backend.graph.client_secret_env"),
        "{stdout}"
    );
}

#[test]
fn a_bulk_assignment_of_a_hundred_users_goes_out_in_batches() {
    let fake = FakeMicrosoft::start();
    let upns = fake.add_members(100);
    let (dir, mut bot) = start(&fake, false, &[]);

    // Dave is a Global Administrator: his own bulk assignment needs no other approver.
    fake.clear_requests();
    bot.say("dave", &format!("!pro assign {}", upns.join(" ")));
    let got = bot.idle();

    for upn in &upns {
        assert_eq!(fake.licences_of(upn), ["POWER_BI_PRO"], "{upn}");
    }
    assert_eq!(request_state(dir.path(), 100), "completed");
    let calls = graph_calls(&fake, "a 100-user assign command");
    assert_eq!(fake.ops("POST", "/assignLicense"), 100);
    let batches_with_writes = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1.0/$batch" && r.body.contains("assignLicense"))
        .count();
    assert_eq!(batches_with_writes, 5, "20 assignments a call");
    assert_eq!(
        fake.count("GET", "/v1.0/users/u"),
        0,
        "no target read alone"
    );
    // The command reads the 100 targets and the seats in one call; the job reads the
    // decider's roles with the targets in one, assigns in five and reads back in one.
    assert_eq!(fake.count("POST", "/v1.0/$batch"), 8, "{calls:#?}");
    // The rest: the approvers' roles, not cached yet on a bot just started.
    assert!(calls.len() <= 14, "{calls:#?}");
    assert!(dms_to(&got, "dave").len() <= 2, "one summary: {got:#?}");
    bot.finish();
}

#[test]
fn an_assignment_seen_late_by_graph_is_verified_not_redone() {
    let fake = FakeMicrosoft::start();
    fake.state().readback_lag = 3;
    let (dir, mut bot) = start(
        &fake,
        false,
        &[
            ("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", "2"),
            ("LICENSEBOT__JOBS__VERIFY_INTERVAL", "100ms"),
        ],
    );
    dave_asks_and_carol_approves(&mut bot, "alice@contoso.example");
    assert_ne!(request_state(dir.path(), 1), "completed", "not visible yet");
    assert_eq!(fake.ops("POST", "/assignLicense"), 1);

    bot.advance(120);
    let got = bot.idle();

    assert_assigned_to_alice(&got, dir.path());
    assert_eq!(
        fake.ops("POST", "/assignLicense"),
        1,
        "never assigned twice"
    );
    bot.finish();
}

#[test]
fn a_refused_assignment_fails_with_graphs_words_and_request_id_on_record() {
    let (_fake, dir, mut bot) = fresh();
    let got = dave_asks_and_carol_approves(&mut bot, "xavier@contoso.example");

    assert_eq!(request_state(dir.path(), 1), "failed");
    assert_says(&contents(&got), &["mutually exclusive"]);
    let db = crate::support::db::open(dir.path());
    let calls = db.call_refs("assign_licence");
    assert_eq!(
        calls.len(),
        1,
        "a permanent refusal is not retried: {calls:?}"
    );
    assert!(calls[0].0.contains("mutually exclusive"), "{calls:?}");
    let request_id = calls[0].1.clone().unwrap_or_default();
    assert!(
        uuid::Uuid::parse_str(&request_id).is_ok(),
        "Graph's request-id is kept: {calls:?}"
    );
    bot.finish();
}

#[test]
fn a_manual_purchase_goes_on_when_graph_shows_the_seats() {
    let (fake, dir, mut bot, got) = judy_asks_with_no_seat_free(
        false,
        &[("LICENSEBOT__BACKEND__PURCHASE", "manual")],
        "!pro request",
    );

    let got = bot.approve("dave", &got, "Request #1, stage 1 of 2");
    assert_says(&contents(&got), &["purchase task for request #1"]);
    assert_eq!(request_state(dir.path(), 1), "approved");

    // Bought in the admin center: Graph's subscribedSkus shows the new seat.
    fake.state().set_enabled("POWER_BI_PRO", 2);
    assert_says(
        &bot.answer("bob", "!pro purchased 1"),
        &["Power BI Pro assigned to judy@contoso.example"],
    );
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(fake.licences_of("judy@contoso.example"), ["POWER_BI_PRO"]);
    assert_eq!(
        fake.count("PATCH", "/subscriptions/"),
        0,
        "no Partner Center in manual mode"
    );
    bot.finish();
}

/// The proof mail through Graph `sendMail`: from the configured sender's mailbox to the
/// directory user's own address, plain text, not kept in Sent Items.
#[test]
fn the_proof_code_is_mailed_through_graph_send_mail() {
    let (fake, _dir, bot) = linked("alice", "alice@contoso.example");

    let mails = fake.state().mails.clone();
    assert_eq!(mails.len(), 1);
    let (sender, body) = &mails[0];
    assert_eq!(sender, "licensebot@contoso.example");
    assert_eq!(body["message"]["body"]["contentType"], "Text");
    assert_eq!(
        body["message"]["toRecipients"][0]["emailAddress"]["address"],
        "alice@contoso.example"
    );
    assert_eq!(body["saveToSentItems"], false);
    assert_eq!(
        fake.count("POST", "/v1.0/users/licensebot@contoso.example/sendMail"),
        1
    );
    bot.finish();
}

/// Graph throttles the send (429, `Retry-After: 1`): the bot waits and sends once more.
#[test]
fn a_throttled_proof_mail_is_sent_again_after_the_wait() {
    let (fake, _dir, mut bot) = fresh();
    fake.fail_once("POST", "/sendMail", FaultKind::throttle("1"));

    let started = std::time::Instant::now();
    link(&mut bot, &fake, "alice", "alice@contoso.example");

    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(fake.count("POST", "/sendMail"), 2);
    assert_eq!(fake.state().mails.len(), 1);
    bot.finish();
}

/// A mail Graph refuses (500; a sender that is no mailbox, 404): the person is told, the
/// code is burnt, nothing is proven.
#[test]
fn a_proof_mail_that_cannot_be_sent_is_said_and_proves_nothing() {
    let (fake, dir, bot) = fresh();
    fake.fail_once("POST", "/sendMail", FaultKind::ServerError);

    let got = alice_links(bot);

    assert_says(
        &contents(&got),
        &["I couldn't send the mail to the mailbox of alice@contoso.example"],
    );
    let db = crate::support::db::open(dir.path());
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM links WHERE code_hash IS NOT NULL"),
        0
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'proof_failed'"),
        1
    );

    let (_dir, bot) = start(
        &fake,
        false,
        &[("LICENSEBOT__LINKS__MAIL_SENDER", "nobody@contoso.example")],
    );
    let got = alice_links(bot);
    assert_says(&contents(&got), &["I couldn't send the mail"]);
    assert!(fake.state().mails.is_empty());
}
