//! A catalogue of hostile and broken input, table-driven: every case gets a clear answer (or,
//! where the bot is not addressed at all, silence) and changes no state, asserted on the
//! store: requests, stages, jobs, links, away flags and the simulated tenant.

use licensebot::chat::console::{Input, LineReader, MAX_LINE_BYTES};
use licensebot::domain::ChannelRef;

use crate::engine::harness::{Harness, Said};

/// Which message a reaction is on.
#[derive(Clone, Copy)]
enum On {
    /// The approval message of request #1 (alice's pending request).
    Approval,
    /// The approval message of request #2 (already cancelled).
    Closed,
    /// Some other message id.
    Raw(&'static str),
}

enum Act {
    Say(&'static str, String),
    React(&'static str, On, &'static str),
    Unreact(&'static str, On, &'static str),
}

enum Expect {
    /// A reply (or DM) to the actor containing this text.
    Answer(&'static str),
    /// Not addressed to the bot, or not a decision: nothing is said, nothing changes.
    Silent,
}

struct Case {
    name: &'static str,
    /// Done before the state snapshot (legitimate steps the hostile one builds on).
    before: Vec<Act>,
    act: Vec<Act>,
    expect: Expect,
}

fn say(who: &'static str, text: impl Into<String>) -> Act {
    Act::Say(who, text.into())
}

/// `who` sends one message.
fn says(name: &'static str, who: &'static str, text: impl Into<String>, expect: Expect) -> Case {
    one(name, say(who, text), expect)
}

/// One act.
fn one(name: &'static str, act: Act, expect: Expect) -> Case {
    case(name, vec![act], expect)
}

/// alice sends one message.
fn alice_says(name: &'static str, text: impl Into<String>, expect: Expect) -> Case {
    says(name, "alice", text, expect)
}

fn case(name: &'static str, act: Vec<Act>, expect: Expect) -> Case {
    Case {
        name,
        before: Vec::new(),
        act,
        expect,
    }
}

/// The whole catalogue, group by group.
fn cases() -> Vec<Case> {
    [
        size_and_encoding(),
        not_addressed(),
        injected_upns(),
        proving_others_links(),
        undoing_others_links(),
        refused_by_policy(),
        bad_ids(),
        approver_commands_by_others(),
        bad_purchases(),
        bad_approver_commands(),
        reactions(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Size and encoding.
fn size_and_encoding() -> Vec<Case> {
    use Expect::{Answer, Silent};
    vec![
        alice_says(
            "oversize message",
            format!("!pro request {}", "a".repeat(2000)),
            Answer("too long"),
        ),
        alice_says(
            "huge message",
            format!("!pro {}", "b".repeat(200_000)),
            Answer("too long"),
        ),
        alice_says(
            "huge message not addressed to the bot",
            "c".repeat(200_000),
            Silent,
        ),
        alice_says(
            "only zero-width after the prefix",
            "!pro \u{200b}\u{200d}\u{feff}",
            Answer("Commands:"),
        ),
        alice_says(
            "bidi override hiding a command word",
            "!pro \u{202e}yub 5",
            Answer("don't know that command"),
        ),
        alice_says(
            "control characters",
            "!pro \u{0007}\u{0000}\u{001b}[31m",
            Answer("don't know that command"),
        ),
        alice_says(
            "emoji soup",
            "!pro 🤖🤖🤖",
            Answer("don't know that command"),
        ),
    ]
}

/// Look-alike prefixes and spoofed mentions: not addressed to the bot.
fn not_addressed() -> Vec<Case> {
    use Expect::Silent;
    vec![
        alice_says("fullwidth exclamation prefix", "！pro request", Silent),
        alice_says("cyrillic o in the prefix", "!prо request", Silent),
        alice_says("inverted exclamation prefix", "¡pro request", Silent),
        alice_says("prefix glued to a word", "!professional request", Silent),
        alice_says("mention of someone else", "<@!999999> request", Silent),
        alice_says("look-alike bot name", "@licensebotx request", Silent),
        alice_says(
            "prefix in the middle of a line",
            "please !pro buy 5",
            Silent,
        ),
    ]
}

/// UPNs carrying injections.
fn injected_upns() -> Vec<Case> {
    use Expect::Answer;
    vec![
        alice_says(
            "link with a path",
            "!pro link x@contoso.example/../../admin",
            Answer("not a valid UPN"),
        ),
        alice_says(
            "link with an OData filter",
            "!pro link alice@contoso.example?$filter=true",
            Answer("not a valid UPN"),
        ),
        alice_says(
            "link with SQL quoting",
            "!pro link x'or'1'='1@contoso.example",
            Answer("not a valid UPN"),
        ),
        alice_says(
            "link with an SQL comment",
            "!pro link a'--@contoso.example",
            Answer("can't find"),
        ),
        alice_says(
            "link with a second argument",
            "!pro link alice@contoso.example or 1 eq 1",
            Answer("not expected"),
        ),
        alice_says(
            "link with a trailing quote",
            "!pro link alice@contoso.example' or 1 eq 1",
            Answer("not a valid UPN"),
        ),
        alice_says(
            "link with a newline and a command",
            "!pro link judy@contoso.example\n!pro buy 5",
            Answer("not expected"),
        ),
        alice_says(
            "link with percent-encoding",
            "!pro link %2e%2e@contoso.example",
            Answer("not a valid UPN"),
        ),
        alice_says(
            "link to nobody",
            "!pro link nobody@contoso.example",
            Answer("can't find"),
        ),
        alice_says(
            "link to an approver's account",
            "!pro link dave@contoso.example",
            Answer("by the bot's configuration"),
        ),
        alice_says(
            "link a mention instead of a UPN",
            "!pro link @judy",
            Answer("Usage"),
        ),
    ]
}

/// Proving links that are not yours.
fn proving_others_links() -> Vec<Case> {
    use Expect::Answer;
    vec![
        says(
            "verify without a pending link",
            "mallory",
            "!pro verify 12345678",
            Answer("no link waiting for a code"),
        ),
        alice_says(
            "verify with seven digits",
            "!pro verify 1234567",
            Answer("give the 8-digit code from the mail"),
        ),
        alice_says(
            "verify with letters in the code",
            "!pro verify 1234abcd",
            Answer("give the 8-digit code from the mail"),
        ),
        says(
            "attest a link by a non-approver",
            "mallory",
            "!pro link @judy ivan@contoso.example",
            Answer("Only approvers can confirm"),
        ),
        says(
            "attest a link by an approver without an assign role",
            "bob",
            "!pro link @mallory ivan@contoso.example",
            Answer("needs one of these roles"),
        ),
        says(
            "attest a link to an approver's account",
            "carol",
            "!pro link @mallory dave@contoso.example",
            Answer("by the bot's configuration"),
        ),
        says(
            "attest a link to a disabled account",
            "carol",
            "!pro link @mallory heidi@contoso.example",
            Answer("is disabled"),
        ),
        says(
            "link to a guest account",
            "mallory",
            "!pro link grace_fabrikam.example#EXT#@contoso.example",
            Answer("is a guest account"),
        ),
    ]
}

/// Undoing links that are not yours to undo.
fn undoing_others_links() -> Vec<Case> {
    use Expect::Answer;
    vec![
        says(
            "unlink someone else by a non-approver",
            "mallory",
            "!pro unlink @alice",
            Answer("Only approvers can undo someone else's link"),
        ),
        says(
            "unlink someone else's UPN by a non-approver",
            "mallory",
            "!pro unlink alice@contoso.example",
            Answer("Only approvers can undo someone else's link"),
        ),
        says(
            "unlink an approver's configured link",
            "carol",
            "!pro unlink @dave",
            Answer("by the bot's configuration"),
        ),
        says(
            "unlink an approver's own configured link",
            "carol",
            "!pro unlink",
            Answer("by the bot's configuration"),
        ),
        says(
            "unlink without a link",
            "mallory",
            "!pro unlink",
            Answer("nothing to undo"),
        ),
        says(
            "unlink a UPN nobody linked",
            "carol",
            "!pro unlink ivan@contoso.example",
            Answer("No chat account is linked"),
        ),
        says(
            "unlink with two targets",
            "carol",
            "!pro unlink @alice @judy",
            Answer("was not expected here"),
        ),
        says(
            "revoke two people at once",
            "carol",
            "!pro revoke @alice @judy",
            Answer("one person at a time"),
        ),
        says(
            "request for a fake guest",
            "dave",
            "!pro request for fake_x.com#EXT#@contoso.example",
            Answer("can't find"),
        ),
    ]
}

/// Requests that policy refuses.
fn refused_by_policy() -> Vec<Case> {
    use Expect::Answer;
    let long_reason = "x".repeat(501);
    vec![
        says(
            "request without a link",
            "mallory",
            "!pro request",
            Answer("link your chat account"),
        ),
        alice_says(
            "request for someone else by a non-approver",
            "!pro request for judy@contoso.example",
            Answer("Only approvers"),
        ),
        says(
            "request for an unlinked mention",
            "dave",
            "!pro request for @ghost",
            Answer("has not verified a link"),
        ),
        alice_says(
            "request with an oversize reason",
            format!("!pro request {long_reason}"),
            Answer("reason is too long"),
        ),
        alice_says(
            "second open request for the same person",
            "!pro request again",
            Answer("already an open request"),
        ),
        says(
            "request for a disabled account",
            "dave",
            "!pro request for heidi@contoso.example",
            Answer("is disabled"),
        ),
        says(
            "request for someone holding E5",
            "dave",
            "!pro request for frank@contoso.example",
            Answer("through SPE_E5"),
        ),
        says(
            "request for a guest",
            "dave",
            "!pro request for grace_fabrikam.example#EXT#@contoso.example",
            Answer("guest account"),
        ),
    ]
}

/// Ids.
fn bad_ids() -> Vec<Case> {
    use Expect::Answer;
    vec![
        alice_says(
            "status of an unknown request",
            "!pro status 99999",
            Answer("There is no request"),
        ),
        says(
            "status of someone else's request",
            "judy",
            "!pro status 1",
            Answer("not yours"),
        ),
        alice_says(
            "status with an overflowing id",
            "!pro status 999999999999999999999999",
            Answer("Usage"),
        ),
        alice_says(
            "cancel with a negative id",
            "!pro cancel -1",
            Answer("Usage"),
        ),
        alice_says("cancel request zero", "!pro cancel 0", Answer("Usage")),
        says(
            "cancel someone else's request",
            "judy",
            "!pro cancel 1",
            Answer("not yours"),
        ),
        says(
            "cancel a closed request",
            "judy",
            "!pro cancel 2",
            Answer("already cancelled"),
        ),
        alice_says(
            "cancel an unknown request",
            "!pro cancel 424242",
            Answer("There is no request"),
        ),
    ]
}

/// Approver commands from people who are not approvers.
fn approver_commands_by_others() -> Vec<Case> {
    use Expect::Answer;
    vec![
        alice_says(
            "audit by a non-approver",
            "!pro audit 1",
            Answer("Only approvers"),
        ),
        alice_says(
            "buy by a non-approver",
            "!pro buy 5",
            Answer("Only approvers"),
        ),
        alice_says(
            "assign by a non-approver",
            "!pro assign judy@contoso.example",
            Answer("Only approvers"),
        ),
        alice_says(
            "away by a non-approver",
            "!pro away on",
            Answer("Only approvers"),
        ),
    ]
}

/// Purchases approvers cannot make.
fn bad_purchases() -> Vec<Case> {
    use Expect::Answer;
    vec![
        says("buy zero seats", "bob", "!pro buy 0", Answer("Usage")),
        says("buy negative seats", "bob", "!pro buy -5", Answer("Usage")),
        says(
            "buy too many seats",
            "bob",
            "!pro buy 1001",
            Answer("Usage"),
        ),
        says(
            "buy a huge number of seats",
            "bob",
            "!pro buy 99999999999999999999999999",
            Answer("Usage"),
        ),
        says(
            "buy in scientific notation",
            "bob",
            "!pro buy 1e3",
            Answer("Usage"),
        ),
        says(
            "buy with an unknown billing cycle",
            "bob",
            "!pro buy 5 weekly",
            Answer("Usage"),
        ),
    ]
}

/// Other approver commands that cannot be done.
fn bad_approver_commands() -> Vec<Case> {
    use Expect::Answer;
    let many: Vec<String> = (0..101).map(|i| format!("@u{i}")).collect();
    vec![
        says(
            "assign over a hundred people",
            "dave",
            format!("!pro assign {}", many.join(" ")),
            Answer("too many"),
        ),
        says(
            "assign only people who cannot get it",
            "dave",
            "!pro assign heidi@contoso.example frank@contoso.example @ghost",
            Answer("is disabled"),
        ),
        says(
            "revoke someone without a licence",
            "dave",
            "!pro revoke judy@contoso.example",
            Answer("no Power BI Pro licence"),
        ),
        says(
            "away with a bad word",
            "dave",
            "!pro away sometimes",
            Answer("Usage"),
        ),
        alice_says(
            "help on an unknown command",
            "!pro help nothing",
            Answer("Usage"),
        ),
        alice_says(
            "release without a licence",
            "!pro release",
            Answer("no Power BI Pro licence"),
        ),
        says(
            "purchased without a purchase task",
            "bob",
            "!pro purchased 1",
            Answer("no purchase waiting"),
        ),
        says(
            "purchased by an approver who cannot buy",
            "carol",
            "!pro purchased 1",
            Answer("needs one of these roles"),
        ),
    ]
}

/// Reactions.
fn reactions() -> Vec<Case> {
    use Expect::{Answer, Silent};
    // (name, who, emoji, expected) of one reaction on alice's pending approval message.
    let on_approval = [
        ("reaction with another emoji", "carol", "🎉", Silent),
        ("homoglyph check mark", "carol", "✔", Silent),
        ("homoglyph ballot box", "carol", "☑", Silent),
        (
            "reaction by a non-approver",
            "mallory",
            "✅",
            Answer("Only approvers can decide"),
        ),
        ("self-approval", "alice", "✅", Answer("You can't decide")),
        (
            "approval without the stage's role",
            "bob",
            "✅",
            Answer("needs one of these roles"),
        ),
    ];
    let approved = || vec![Act::React("carol", On::Approval, "✅")];
    let mut cases = vec![
        one(
            "reaction on a message that is no approval",
            Act::React("carol", On::Raw("u1"), "✅"),
            Silent,
        ),
        one(
            "reaction on an unknown message id",
            Act::React("carol", On::Raw("m999999999999999999999999"), "✅"),
            Silent,
        ),
    ];
    cases.extend(
        on_approval.into_iter().map(|(name, who, emoji, expect)| {
            one(name, Act::React(who, On::Approval, emoji), expect)
        }),
    );
    cases.extend([
        one(
            "removing a reaction that decided nothing",
            Act::Unreact("carol", On::Approval, "✅"),
            Silent,
        ),
        one(
            "decision on a closed request",
            Act::React("carol", On::Closed, "✅"),
            Answer("already cancelled"),
        ),
        // The same reaction added again without being removed can only be a replay (a
        // gateway resume, a catch-up after a restart): it is applied once, so it says nothing.
        Case {
            name: "replayed approval",
            before: approved(),
            act: approved(),
            expect: Silent,
        },
        Case {
            name: "removed then added again",
            before: approved(),
            act: vec![
                Act::Unreact("carol", On::Approval, "✅"),
                Act::React("carol", On::Approval, "✅"),
            ],
            expect: Answer("your decision changes nothing"),
        },
        Case {
            name: "denial after an approval",
            before: approved(),
            act: vec![Act::React("dave", On::Approval, "❌")],
            expect: Answer("your decision changes nothing"),
        },
    ]);
    cases
}

/// The state that hostile input must not change.
async fn snapshot(h: &Harness) -> Vec<String> {
    // `string_agg … ORDER BY` reads the same on both databases the store runs on.
    let queries = [
        "SELECT string_agg(id || ':' || kind || ':' || state, ',' ORDER BY id) FROM requests",
        "SELECT string_agg(id || ':' || state || ':' || COALESCE(decided_by, '-'), ',' ORDER BY id) FROM stages",
        "SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM jobs",
        "SELECT string_agg(chat_user || '=' || upn, ',' ORDER BY chat_user) FROM links",
        "SELECT string_agg(chat_user || '=' || away, ',' ORDER BY chat_user) FROM approver_status",
    ];
    let tenant_queries = [
        "SELECT string_agg(upn || '=' || sku_part_number, ',' ORDER BY upn, sku_part_number) FROM assignments",
        "SELECT string_agg(sku_part_number || '=' || enabled, ',' ORDER BY sku_part_number) FROM skus",
        "SELECT string_agg(upn || '=' || COALESCE(usage_location, '-'), ',' ORDER BY upn) FROM users",
    ];
    let mut out = Vec::new();
    let asked = queries
        .iter()
        .map(|q| (q, h.store.pool()))
        .chain(tenant_queries.iter().map(|q| (q, h.tenant_db.pool())));
    for (q, pool) in asked {
        let v: Option<String> = sqlx::query_scalar(q).fetch_one(pool).await.unwrap();
        out.push(v.unwrap_or_default());
    }
    out
}

async fn run(h: &Harness, acts: &[Act], approval: &str, closed: &str) {
    for a in acts {
        match a {
            Act::Say(who, text) => {
                h.say(who, text).await;
            }
            Act::React(who, on, emoji) | Act::Unreact(who, on, emoji) => {
                let message = match on {
                    On::Approval => approval,
                    On::Closed => closed,
                    On::Raw(id) => id,
                };
                if matches!(a, Act::React(..)) {
                    h.react(who, message, emoji).await;
                } else {
                    h.unreact(who, message, emoji).await;
                }
            }
        }
        h.engine.settle().await;
    }
}

#[tokio::test]
async fn every_hostile_input_gets_a_clear_answer_and_changes_nothing() {
    let all = cases();
    assert!(all.len() >= 50, "the catalogue has {} classes", all.len());
    let mut failures = Vec::new();
    for c in all {
        // Alice has a pending request (#1); Judy's request (#2) was cancelled.
        let h = Harness::linked(&["alice", "judy"]).await;
        h.say("alice", "!pro request").await;
        h.say("judy", "!pro request").await;
        h.say("judy", "!pro cancel 2").await;
        h.engine.settle().await;
        let approval = h.approval("Request #1");
        let closed = h.approval("Request #2, stage 1");
        run(&h, &c.before, &approval, &closed).await;
        let before = snapshot(&h).await;
        h.clear();
        run(&h, &c.act, &approval, &closed).await;
        let after = snapshot(&h).await;
        if before != after {
            failures.push(format!(
                "{}: state changed\n  before {before:?}\n  after  {after:?}",
                c.name
            ));
        }
        let said = h.said();
        let told = h.text();
        match c.expect {
            Expect::Silent => {
                if said.iter().any(|s| !matches!(s, Said::Unreact { .. })) {
                    failures.push(format!("{}: expected silence, got {said:#?}", c.name));
                }
            }
            Expect::Answer(needle) => {
                if !told.contains(needle) {
                    failures.push(format!(
                        "{}: expected an answer containing {needle:?}, got {told}",
                        c.name
                    ));
                }
            }
        }
        if told.contains("Something went wrong") {
            failures.push(format!("{}: internal error: {told}", c.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn broken_console_lines_are_refused_with_a_reason() {
    let general = ChannelRef("general".into());
    let long = format!(
        r#"{{"type":"message","channel":"general","author":"a","content":"{}"}}"#,
        "x".repeat(70_000)
    );
    for (name, line) in [
        ("not JSON", "{not json"),
        ("a JSON array", "[]"),
        ("JSON null", "null"),
        ("unknown type", r#"{"type":"explode"}"#),
        (
            "missing fields",
            r#"{"type":"reaction_add","message_id":"m1"}"#,
        ),
        ("extra fields", r#"{"type":"wait_idle","now":true}"#),
        (
            "author with spaces",
            r#"{"type":"message","channel":"general","author":"a b","content":"x"}"#,
        ),
        (
            "empty author",
            r#"{"type":"message","channel":"general","author":"","content":"x"}"#,
        ),
        (
            "channel with a path",
            r#"{"type":"message","channel":"../etc","author":"a","content":"x"}"#,
        ),
        ("negative advance", r#"{"type":"advance","seconds":-5}"#),
        ("advance as text", r#"{"type":"advance","seconds":"5"}"#),
        (
            "overlong emoji",
            r#"{"type":"reaction_add","message_id":"m1","user":"a","emoji":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
        ),
        ("oversize line", long.as_str()),
    ] {
        let got = Input::from_json(line);
        assert!(got.is_err(), "{name}: {got:?}");
    }
    for (name, line) in [
        ("no colon", "alice says hello"),
        ("bad reaction sign", "bob *✅ m7"),
        ("bad advance", "/advance soon"),
        ("name with spaces before the colon", "alice smith: hi"),
    ] {
        assert!(Input::from_human(line, &general).is_err(), "{name}");
    }
}

#[tokio::test]
async fn undecodable_and_overlong_console_lines_are_refused_alone() {
    let mut over_and_bad = vec![b'a'; MAX_LINE_BYTES];
    over_and_bad.extend_from_slice(b"\xff\xff");
    let cases: Vec<(&str, Vec<u8>, &str)> =
        vec![
        ("Latin-1 text", b"alice: caf\xe9".to_vec(), "not UTF-8"),
        ("a lone continuation byte", b"alice: \x80".to_vec(), "not UTF-8"),
        ("a UTF-16 byte-order mark", b"\xff\xfealice: hi".to_vec(), "not UTF-8"),
        ("an overlong encoding of /", b"alice: \xc0\xaf".to_vec(), "not UTF-8"),
        ("an encoded surrogate", b"alice: \xed\xa0\x80".to_vec(), "not UTF-8"),
        ("a code point past U+10FFFF", b"\xf4\x90\x80\x80".to_vec(), "not UTF-8"),
        (
            "a character cut by the line end",
            b"alice: \xe2\x9c".to_vec(),
            r"not UTF-8: \xe2\x9c at byte 7",
        ),
        (
            "a JSON string carrying a raw bad byte",
            b"{\"type\":\"message\",\"channel\":\"general\",\"author\":\"a\",\"content\":\"\xfe\"}"
                .to_vec(),
            "not UTF-8",
        ),
        (
            "one byte over the limit",
            vec![b'a'; MAX_LINE_BYTES + 1],
            "longer than",
        ),
        ("four megabytes", vec![b'a'; 4 << 20], "longer than"),
        ("over the limit and not UTF-8", over_and_bad, "longer than"),
    ];
    let mut failures = Vec::new();
    for (name, bad, reason) in cases {
        let mut input = bad;
        input.extend_from_slice(b"\nbob: !pro help\n");
        let mut reader = LineReader::new(&input[..]);

        let refused = reader.next_line().await;
        let next = reader.next_line().await;
        let end = reader.next_line().await;

        match refused {
            Ok(Some(Err(e))) if e.to_string().contains(reason) => {}
            other => failures.push(format!("{name}: expected {reason:?}, got {other:?}")),
        }
        if !matches!(&next, Ok(Some(Ok(line))) if line == "bob: !pro help") {
            failures.push(format!("{name}: the next line was lost: {next:?}"));
        }
        if !matches!(end, Ok(None)) {
            failures.push(format!("{name}: expected the end, got {end:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
