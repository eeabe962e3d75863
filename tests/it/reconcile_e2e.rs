//! `licensebot reconcile --json`, the real binary, against the fake Microsoft: who holds
//! Pro comes from Graph's users list filtered on `assignedLicenses`, the licensing group's
//! members from `GET /groups/{id}/members` (group mode), the seats from subscribedSkus. What
//! the records explain is no difference; what they do not is one, with the exit code the
//! command documents (0 none, 1 some, 2 no check).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::bot::{command, request_state, run_ok, sends_in, write_config};
use crate::support::fake_microsoft::{
    Assigned, FakeMicrosoft, Fault, FaultKind, PRO_GROUP, PRO_SKU,
};
use crate::support::Bot;

/// Longer than the fake's group-based licensing takes to apply a membership (two minutes).
const GROUP_APPLIED: Duration = Duration::from_secs(180);

/// What `licensebot reconcile --json` did.
struct Reconciled {
    /// The exit code.
    code: i32,
    /// What it printed on stdout, as JSON (`Null` when it printed none).
    json: Value,
    /// What it printed on stderr.
    stderr: String,
}

impl Reconciled {
    /// The differences of one kind.
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.differences()
            .iter()
            .filter(|d| d["kind"] == kind)
            .collect()
    }

    fn differences(&self) -> &Vec<Value> {
        self.json["differences"]
            .as_array()
            .unwrap_or_else(|| panic!("no differences array: {self:?}"))
    }

    /// The UPNs named by the differences of one kind.
    fn upns_of(&self, kind: &str) -> Vec<&str> {
        self.of_kind(kind)
            .iter()
            .filter_map(|d| d["upn"].as_str())
            .collect()
    }
}

impl std::fmt::Debug for Reconciled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}; stdout {:#}; stderr {}",
            self.code, self.json, self.stderr
        )
    }
}

/// The env of the fake's settings plus `extra`.
fn env_with(fake: &FakeMicrosoft, extra: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let (toml, mut env) = fake.bot_settings(false);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    (toml, env)
}

/// A fresh directory with the fake's settings and the database made (`licensebot
/// migrate`): the directory and its environment.
fn migrated(
    fake: &FakeMicrosoft,
    extra: &[(&str, &str)],
) -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let (toml, env) = env_with(fake, extra);
    write_config(dir.path(), &toml);
    run_ok(
        command(dir.path(), &["migrate"]).envs(env.clone()),
        "migrate",
    );
    (dir, env)
}

/// Runs `licensebot reconcile --json` on the settings in `dir`.
fn reconcile(dir: &Path, env: &[(String, String)]) -> Reconciled {
    let out = command(dir, &["reconcile", "--json"])
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    Reconciled {
        code: out.status.code().expect("an exit code"),
        json: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Migrates a new test directory for the bot on the fake with `extra`, then runs
/// `licensebot reconcile --json` there.
fn reconciled(fake: &FakeMicrosoft, extra: &[(&str, &str)]) -> Reconciled {
    let (dir, env) = migrated(fake, extra);
    reconcile(dir.path(), &env)
}

/// The check could not compare (exit 2) and says so on stderr.
fn assert_not_compared(got: &Reconciled) {
    assert_eq!(got.code, 2, "{got:?}");
    assert!(
        got.stderr.contains("could not be compared with the tenant"),
        "{got:?}"
    );
}

/// Gives the user Pro directly in the fake, as an admin would outside the bot.
fn give_pro_directly(fake: &FakeMicrosoft, upn: &str) {
    let mut state = fake.state();
    let user = state.user_mut(upn);
    user.licenses.push(Assigned::direct(PRO_SKU));
    let bought = state.consumed(PRO_SKU) + 1;
    state.set_enabled("POWER_BI_PRO", bought);
}

/// Takes the user's Pro away in the fake, as an admin would outside the bot.
fn take_pro_away(fake: &FakeMicrosoft, upn: &str) {
    let mut state = fake.state();
    let user = state.user_mut(upn);
    user.licenses.retain(|l| l.sku_id != PRO_SKU);
}

/// Group mode on the fake's Pro licensing group.
fn group_mode() -> [(&'static str, &'static str); 2] {
    [
        ("LICENSEBOT__LICENSING__MODE", "group"),
        ("LICENSEBOT__LICENSING__GROUP_ID", PRO_GROUP),
    ]
}

/// A bot in `console --jsonl` mode on the fake's settings plus `extra`: its directory, its
/// environment (for the commands run on the same directory) and the bot.
fn start_bot(
    fake: &FakeMicrosoft,
    extra: &[(&str, &str)],
) -> (tempfile::TempDir, Vec<(String, String)>, Bot) {
    let (toml, env) = env_with(fake, extra);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (dir, bot) = Bot::start_with(&toml, &pairs);
    (dir, env, bot)
}

/// Alice links and asks for Pro; carol approves the assignment; the bot goes idle.
fn alice_asks_and_carol_approves(fake: &FakeMicrosoft, bot: &mut Bot) {
    bot.link_with("alice", "alice@contoso.example", |to| fake.mailed_code(to));
    bot.say("alice", "!pro request because I build the sales reports");
    let got = bot.idle();
    bot.approve("carol", &got, "assign the licence");
}

/// A bot on the fake that has granted alice Pro through request #1 (linked, asked,
/// approved by carol), still running: its directory, its environment and the bot.
fn alice_granted_pro(
    fake: &FakeMicrosoft,
    extra: &[(&str, &str)],
) -> (tempfile::TempDir, Vec<(String, String)>, Bot) {
    let (dir, env, mut bot) = start_bot(fake, extra);
    alice_asks_and_carol_approves(fake, &mut bot);
    assert_eq!(request_state(dir.path(), 1), "completed");
    assert_eq!(fake.licences_of("alice@contoso.example"), ["POWER_BI_PRO"]);
    (dir, env, bot)
}

#[test]
fn a_tenant_where_only_a_group_gives_pro_has_no_difference_in_direct_mode() {
    let fake = FakeMicrosoft::start();
    let got = reconciled(&fake, &[]);

    assert_eq!(got.code, 0, "{got:?}");
    assert_eq!(got.json["differences"], json!([]), "{got:?}");
    let filtered = fake.requests().iter().any(|r| {
        r.is("GET", "/v1.0/users")
            && r.query_param("$filter")
                .is_some_and(|f| f.starts_with("assignedLicenses/any("))
    });
    assert!(filtered, "the holders are read from Graph");
}

#[test]
fn a_direct_licence_no_request_explains_is_unexplained() {
    let fake = FakeMicrosoft::start();
    give_pro_directly(&fake, "judy@contoso.example");
    let got = reconciled(&fake, &[]);

    assert_eq!(got.code, 1, "{got:?}");
    assert_eq!(got.differences().len(), 1, "{got:?}");
    let unexplained = got.of_kind("unexplained_licence");
    assert_eq!(unexplained.len(), 1, "{got:?}");
    assert_eq!(unexplained[0]["upn"], "judy@contoso.example");
    assert!(unexplained[0]["request_id"].is_null(), "{got:?}");
}

#[test]
fn in_group_mode_a_member_no_request_added_is_a_membership_difference() {
    let fake = FakeMicrosoft::start();
    let got = reconciled(&fake, &group_mode());

    assert_eq!(got.code, 1, "{got:?}");
    assert_eq!(
        got.upns_of("membership"),
        ["gina@contoso.example"],
        "{got:?}"
    );
    assert_eq!(got.differences().len(), 1, "{got:?}");
    assert_eq!(
        fake.count("GET", &format!("/groups/{PRO_GROUP}/members")),
        1
    );
}

#[test]
fn in_group_mode_a_member_without_the_licence_is_a_membership_difference_too() {
    let fake = FakeMicrosoft::start();
    {
        let mut state = fake.state();
        let judy = state.user("judy@contoso.example").unwrap().id.clone();
        let group = state.group_mut(PRO_GROUP);
        group.members.push(judy);
    }
    let got = reconciled(&fake, &group_mode());

    assert_eq!(got.code, 1, "{got:?}");
    let mut members = got.upns_of("membership");
    members.sort();
    assert_eq!(
        members,
        ["gina@contoso.example", "judy@contoso.example"],
        "{got:?}"
    );
}

#[test]
fn a_licence_the_bot_granted_is_neither_unexplained_nor_missing_within_the_hour() {
    let fake = FakeMicrosoft::start();
    let (dir, env, bot) = alice_granted_pro(&fake, &[]);
    bot.finish();

    let held = reconcile(dir.path(), &env);
    take_pro_away(&fake, "alice@contoso.example");
    let gone = reconcile(dir.path(), &env);

    assert_eq!(held.code, 0, "{held:?}");
    assert!(held.upns_of("unexplained_licence").is_empty(), "{held:?}");
    assert_eq!(gone.code, 0, "granted less than an hour ago: {gone:?}");
    assert!(gone.upns_of("missing_licence").is_empty(), "{gone:?}");
}

#[test]
fn the_periodic_check_reports_a_granted_licence_gone_once_the_hour_has_passed() {
    let fake = FakeMicrosoft::start();
    let (_dir, _env, mut bot) = alice_granted_pro(&fake, &[("LICENSEBOT__RECONCILE__EVERY", "1h")]);
    take_pro_away(&fake, "alice@contoso.example");

    bot.advance(2 * 3600);
    let got = bot.idle();

    let reports = sends_in(&got, "license-approvals").join("\n");
    assert!(
        reports.contains("alice@contoso.example no longer holds POWER_BI_PRO"),
        "{got:#?}"
    );
    bot.finish();
}

#[test]
fn graph_unreachable_is_exit_2_with_a_message() {
    let fake = FakeMicrosoft::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1.0", closed.local_addr().unwrap());
    drop(closed);
    let got = reconciled(&fake, &[("LICENSEBOT__BACKEND__GRAPH__GRAPH_URL", &url)]);

    assert_not_compared(&got);
    assert!(got.json.is_null(), "nothing on stdout: {got:?}");
}

#[test]
fn graph_answering_503_to_every_call_is_exit_2() {
    let fake = FakeMicrosoft::start();
    let (dir, env) = migrated(&fake, &[]);
    fake.inject(Fault::on(
        "GET",
        "/v1.0/",
        1000,
        FaultKind::unavailable("0"),
    ));

    let got = reconcile(dir.path(), &env);

    assert_not_compared(&got);
}

#[test]
fn the_json_has_exactly_the_documented_keys() {
    let fake = FakeMicrosoft::start();
    give_pro_directly(&fake, "judy@contoso.example");
    let got = reconciled(&fake, &[]);

    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&got.json),
        BTreeSet::from(["checked_at".into(), "differences".into()])
    );
    let checked_at = got.json["checked_at"].as_str().unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(checked_at).unwrap();
    let age = chrono::Utc::now().signed_duration_since(at);
    assert!(age < chrono::Duration::seconds(60), "{checked_at}");
    let difference = &got.differences()[0];
    let expected = ["detail", "kind", "request_id", "upn"].map(String::from);
    assert_eq!(keys(difference), BTreeSet::from(expected));
    assert!(difference["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[test]
fn a_failed_request_whose_licence_shows_is_a_stuck_request_left_failed() {
    let fake = FakeMicrosoft::start();
    let (dir, env, mut bot) = start_bot(&fake, &[]);
    bot.say("dave", "!pro request for xavier@contoso.example");
    let got = bot.idle();
    bot.approve("carol", &got, "Request #1");
    bot.finish();
    assert_eq!(request_state(dir.path(), 1), "failed", "mutually exclusive");
    {
        let mut state = fake.state();
        let xavier = state.user_mut("xavier@contoso.example");
        xavier.licenses = vec![Assigned::direct(PRO_SKU)];
    }

    let got = reconcile(dir.path(), &env);

    assert_eq!(got.code, 1, "{got:?}");
    let stuck = got.of_kind("stuck_request");
    assert_eq!(stuck.len(), 1, "{got:?}");
    assert_eq!(stuck[0]["upn"], "xavier@contoso.example");
    assert_eq!(stuck[0]["request_id"], 1);
    assert!(got.upns_of("unexplained_licence").is_empty(), "{got:?}");
    assert_eq!(
        request_state(dir.path(), 1),
        "failed",
        "reconcile only compares"
    );
}

#[test]
fn holders_beyond_one_page_are_all_read() {
    let fake = FakeMicrosoft::start();
    let people = fake.add_members(1000);
    for upn in &people {
        give_pro_directly(&fake, upn);
    }
    let got = reconciled(&fake, &[]);

    assert_eq!(got.code, 1, "{}", got.stderr);
    assert_eq!(got.upns_of("unexplained_licence").len(), 1000);
    assert_eq!(fake.count("GET", "/v1.0/users"), 2, "two pages of 999");
}

#[test]
fn members_beyond_one_page_are_all_read() {
    let fake = FakeMicrosoft::start();
    let people = fake.add_members(1000);
    {
        let mut state = fake.state();
        let ids: Vec<String> = people
            .iter()
            .map(|p| state.user(p).unwrap().id.clone())
            .collect();
        let group = state.group_mut(PRO_GROUP);
        group.members.extend(ids);
    }
    let got = reconciled(&fake, &group_mode());

    assert_eq!(got.code, 1, "{}", got.stderr);
    assert_eq!(got.upns_of("membership").len(), 1001, "gina and the 1000");
    assert_eq!(
        fake.count("GET", &format!("/groups/{PRO_GROUP}/members")),
        2,
        "two pages of 999"
    );
}

#[test]
fn in_group_mode_a_member_the_bot_added_is_no_difference() {
    let fake = FakeMicrosoft::start();
    let mut extra = group_mode().to_vec();
    extra.extend([
        ("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", "2"),
        ("LICENSEBOT__JOBS__VERIFY_INTERVAL", "100ms"),
    ]);
    let (dir, env, mut bot) = start_bot(&fake, &extra);
    alice_asks_and_carol_approves(&fake, &mut bot);
    let while_applying = reconcile(dir.path(), &env);
    fake.advance(GROUP_APPLIED);
    bot.advance(GROUP_APPLIED.as_secs());
    bot.idle();
    bot.finish();

    let applied = reconcile(dir.path(), &env);

    assert_eq!(request_state(dir.path(), 1), "completed");
    for got in [&while_applying, &applied] {
        assert_eq!(
            got.upns_of("membership"),
            ["gina@contoso.example"],
            "{got:?}"
        );
        assert_eq!(got.differences().len(), 1, "{got:?}");
    }
}

#[test]
fn more_seats_assigned_than_bought_is_a_seat_count_difference() {
    let fake = FakeMicrosoft::start();
    fake.state().set_enabled("POWER_BI_PRO", 0);
    let got = reconciled(&fake, &[]);

    assert_eq!(got.code, 1, "{got:?}");
    let seats = got.of_kind("seat_count");
    assert_eq!(seats.len(), 1, "{got:?}");
    assert!(seats[0]["upn"].is_null() && seats[0]["request_id"].is_null());
    assert!(
        seats[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("1 seats") && d.contains("only 0")),
        "{got:?}"
    );
}

#[test]
fn a_next_page_that_fails_fails_the_whole_check() {
    let fake = FakeMicrosoft::start();
    for upn in fake.add_members(1000) {
        give_pro_directly(&fake, &upn);
    }
    let (dir, env) = migrated(&fake, &[]);
    let first_page = fake.hold("GET", "/v1.0/users");
    let running = command(dir.path(), &["reconcile", "--json"])
        .envs(env.iter().cloned())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fake.holding(first_page) {
        assert!(
            Instant::now() < deadline,
            "the first page was never asked for"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Every later read of the users list fails: the second page cannot be had.
    fake.inject(Fault::on(
        "GET",
        "/v1.0/users",
        100,
        FaultKind::unavailable("0"),
    ));
    fake.release(first_page);

    let out = running.wait_with_output().unwrap();

    assert_eq!(out.status.code(), Some(2), "not a check on half a list");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let next_pages = fake
        .requests()
        .iter()
        .filter(|r| r.query_param("$skiptoken").is_some())
        .count();
    assert!(next_pages >= 1, "the second page was asked for");
}
