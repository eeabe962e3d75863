//! Tests of the message and reaction parser: one fact per unit test, then property tests.

use proptest::prelude::*;

use super::*;
use crate::domain::Term;

fn cfg() -> ParserConfig {
    ParserConfig {
        prefix: "!pro".to_string(),
        bot_mentions: vec![
            "@licensebot".to_string(),
            "<@123456>".to_string(),
            "<@!123456>".to_string(),
        ],
    }
}

fn parse(text: &str) -> Parsed {
    parse_message(text, &cfg())
}

fn command(text: &str) -> Command {
    match parse(text) {
        Parsed::Command(c) => c,
        other => panic!("{text:?} gave {other:?}, not a command"),
    }
}

/// The command and problem of a `Usage` answer, the problem as the English catalogue says it.
fn usage(text: &str) -> (CommandName, Option<String>) {
    static ENGLISH: std::sync::LazyLock<crate::texts::Texts> =
        std::sync::LazyLock::new(|| crate::texts::Texts::load(crate::texts::Language::En));
    match parse(text) {
        Parsed::Usage { command, problem } => (command, problem.map(|p| p.render(&ENGLISH))),
        other => panic!("{text:?} gave {other:?}, not a usage answer"),
    }
}

/// The problem text of a `Usage` answer for `name`, which must be present.
fn problem(text: &str, name: CommandName) -> String {
    let (command, problem) = usage(text);
    assert_eq!(command, name, "{text:?}");
    problem.unwrap_or_else(|| panic!("{text:?} gave no problem text"))
}

/// Asserts that each text is a usage answer for `name` whose problem says exactly what its
/// case says.
fn assert_problems(name: CommandName, cases: &[(&str, &str)]) {
    for (text, says) in cases {
        assert_eq!(problem(text, name), *says, "{text:?}");
    }
}

fn upn(s: &str) -> Target {
    Target::Upn(Upn::parse(s).expect("test UPN is valid"))
}

fn mention(s: &str) -> Target {
    Target::Mention(ChatUserId::new(s))
}

fn request(target: Option<Target>, reason: Option<&str>) -> Command {
    Command::Request {
        target,
        term: None,
        reason: reason.map(str::to_string),
    }
}

fn days(n: u32) -> Term {
    Term::of_days(n).expect("a test term is in range")
}

/// A term: `for 30d`, `2w`, `3m` (months of 30 days), before or after the person, once each.
#[test]
fn a_request_may_name_a_term_and_a_person_in_either_order() {
    let cfg = cfg();
    let with = |target: Option<Target>, term: u32, reason: Option<&str>| Command::Request {
        target,
        term: Some(days(term)),
        reason: reason.map(str::to_string),
    };
    for (text, expected) in [
        ("!pro request for 30d", with(None, 30, None)),
        (
            "!pro request for 2w because of the audit",
            with(None, 14, Some("because of the audit")),
        ),
        (
            "!pro request for 3M: quarter close",
            with(None, 90, Some("quarter close")),
        ),
        (
            "!pro request for @erin for 30d new hire",
            with(Some(mention("erin")), 30, Some("new hire")),
        ),
        (
            "!pro request for 30d for erin@contoso.com",
            with(Some(upn("erin@contoso.com")), 30, None),
        ),
    ] {
        assert_eq!(
            parse_message(text, &cfg),
            Parsed::Command(expected),
            "{text}"
        );
    }
    // A reason that merely starts with `for` stays a reason.
    assert_eq!(
        parse_message("!pro request for the 30 dashboards", &cfg),
        Parsed::Command(request(None, Some("for the 30 dashboards")))
    );
}

#[test]
fn a_term_out_of_range_or_named_twice_is_refused_with_the_usage() {
    let cfg = cfg();
    for (text, problem) in [
        (
            "!pro request for 0d",
            ArgProblem::BadTerm {
                token: "0d".into(),
                max: 3650,
            },
        ),
        (
            "!pro request for 200m",
            ArgProblem::BadTerm {
                token: "200m".into(),
                max: 3650,
            },
        ),
        (
            "!pro request for 30d for 2w",
            ArgProblem::Unexpected { token: "2w".into() },
        ),
        (
            "!pro request for @erin for @bob",
            ArgProblem::OneAtATime {
                token: "@bob".into(),
            },
        ),
        ("!pro extend for soon", ArgProblem::NeedTerm),
        ("!pro extend for", ArgProblem::NeedTerm),
    ] {
        match parse_message(text, &cfg) {
            Parsed::Usage {
                problem: Some(p), ..
            } => assert_eq!(p, problem, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn extend_takes_an_optional_term() {
    let cfg = cfg();
    for (text, term) in [
        ("!pro extend", None),
        ("!pro extend 30d", Some(days(30))),
        ("!pro extend for 2w", Some(days(14))),
    ] {
        assert_eq!(
            parse_message(text, &cfg),
            Parsed::Command(Command::Extend { term }),
            "{text}"
        );
    }
}

// ---- addressing ----------------------------------------------------------------------

/// The prefix in any case, the console mention or a Discord mention (with or without `!`)
/// addresses the bot; alone it asks for help.
#[test]
fn the_prefix_or_a_mention_addresses_the_bot() {
    let help = || Command::Help { topic: None };
    for (text, expected) in [
        ("!pro", help()),
        ("@licensebot", help()),
        ("!PRO seats", Command::Seats),
        ("!Pro seats", Command::Seats),
        ("@LicenseBot seats", Command::Seats),
        ("<@123456> seats", Command::Seats),
        ("<@!123456> seats", Command::Seats),
        ("@licensebot request", request(None, None)),
    ] {
        assert_eq!(command(text), expected, "{text:?}");
    }
}

/// The prefix glued to a word or in the middle of a message, and a mention of someone else,
/// do not address the bot.
#[test]
fn text_not_addressed_to_the_bot_is_ignored() {
    for text in [
        "!professional seats",
        "!proseats",
        "try !pro seats",
        "<@999> seats",
        "<@1234567> seats",
        "@licensebotty seats",
    ] {
        assert_eq!(parse(text), Parsed::Ignore, "{text:?}");
    }
}

#[test]
fn look_alike_prefixes_are_not_the_prefix() {
    for text in [
        "\u{FF01}pro request", // fullwidth !
        "\u{00A1}pro request", // inverted !
        "!pr\u{043E} request", // Cyrillic о
        "!\u{0440}ro request", // Cyrillic р
        "\u{01C3}pro request", // Latin retroflex click
        "@licensebo\u{0442} request",
    ] {
        assert_eq!(parse(text), Parsed::Ignore, "{text:?}");
    }
}

#[test]
fn look_alike_prefix_asking_for_pro_is_only_a_suggestion() {
    assert_eq!(
        parse("\u{FF01}pro request a Power BI Pro licence"),
        Parsed::Suggest
    );
}

#[test]
fn zero_width_characters_inside_the_command_word_are_ignored() {
    assert_eq!(command("!pro req\u{200B}uest"), request(None, None));
    assert_eq!(command("!pro se\u{2060}at\u{00AD}s"), Command::Seats);
}

#[test]
fn invisible_and_unicode_spaces_around_the_prefix_are_ignored() {
    assert_eq!(
        command("\u{FEFF}\u{3000} !pro\u{00A0}\u{00A0}seats\n"),
        Command::Seats
    );
    assert_eq!(command("!pro\tseats"), Command::Seats);
}

#[test]
fn command_words_are_case_insensitive() {
    assert_eq!(command("!pro ReQuEsT"), request(None, None));
    assert_eq!(command("!pro PENDING"), Command::Pending);
}

#[test]
fn unknown_command_word_is_unknown() {
    assert_eq!(parse("!pro requests"), Parsed::Unknown);
    assert_eq!(parse("!pro hello there"), Parsed::Unknown);
    assert_eq!(parse("@licensebot !pro"), Parsed::Unknown);
}

#[test]
fn empty_prefix_in_config_addresses_nothing() {
    let cfg = ParserConfig {
        prefix: "  ".to_string(),
        bot_mentions: vec![String::new()],
    };
    assert_eq!(parse_message("seats", &cfg), Parsed::Ignore);
    assert_eq!(parse_message("", &cfg), Parsed::Ignore);
}

// ---- unaddressed text ----------------------------------------------------------------

#[test]
fn english_ask_for_a_pro_licence_is_a_suggestion() {
    assert_eq!(parse("can I get a Power BI Pro license?"), Parsed::Suggest);
    assert_eq!(parse("Who hands out POWERBI PRO licences"), Parsed::Suggest);
    assert_eq!(parse("need a power-bi-pro licence"), Parsed::Suggest);
}

#[test]
fn dutch_ask_for_a_pro_licence_is_a_suggestion() {
    assert_eq!(parse("mag ik een Power BI Pro licentie?"), Parsed::Suggest);
    assert_eq!(parse("wie regelt Power BI Pro licenties"), Parsed::Suggest);
}

#[test]
fn ask_with_invisible_characters_and_no_break_spaces_is_a_suggestion() {
    assert_eq!(
        parse("Power\u{00A0}BI\u{200B} Pro li\u{00AD}cense please"),
        Parsed::Suggest
    );
}

#[test]
fn chatter_is_ignored() {
    assert_eq!(parse("power bi is great"), Parsed::Ignore);
    assert_eq!(parse("I need a license for Tableau"), Parsed::Ignore);
    assert_eq!(parse("Power BI Pro rocks"), Parsed::Ignore);
    assert_eq!(parse(""), Parsed::Ignore);
    assert_eq!(parse("   \u{200B} "), Parsed::Ignore);
}

// ---- length ----------------------------------------------------------------------------

#[test]
fn addressed_message_over_the_cap_is_too_long() {
    let text = format!("!pro request {}", "x".repeat(MAX_MESSAGE_CHARS));
    assert_eq!(parse(&text), Parsed::TooLong);
    let text = format!("@licensebot request {}", "x".repeat(MAX_MESSAGE_CHARS));
    assert_eq!(parse(&text), Parsed::TooLong);
}

#[test]
fn huge_addressed_message_is_too_long() {
    let text = format!("!pro {}", "a b\u{200B}".repeat(1_000_000));
    assert_eq!(parse(&text), Parsed::TooLong);
}

#[test]
fn unaddressed_message_over_the_cap_is_ignored_even_when_asking() {
    let text = format!(
        "can I get a Power BI Pro license? {}",
        "x".repeat(MAX_MESSAGE_CHARS)
    );
    assert_eq!(parse(&text), Parsed::Ignore);
}

#[test]
fn message_of_exactly_the_cap_is_parsed() {
    let mut text = format!("!pro assign {}@", "@a ".repeat(660));
    let last = "b".repeat(MAX_MESSAGE_CHARS - text.chars().count());
    text.push_str(&last);
    assert_eq!(text.chars().count(), MAX_MESSAGE_CHARS);
    assert_eq!(
        command(&text),
        Command::Assign {
            targets: vec![mention("a"), mention(&last)]
        }
    );
}

#[test]
fn message_one_character_over_the_cap_is_too_long() {
    let head = "!pro seats";
    let text = format!("{head}{}", " ".repeat(MAX_MESSAGE_CHARS + 1 - head.len()));
    assert_eq!(text.chars().count(), MAX_MESSAGE_CHARS + 1);
    assert_eq!(parse(&text), Parsed::TooLong);
    assert_eq!(
        parse(&text[..MAX_MESSAGE_CHARS]),
        Parsed::Command(Command::Seats)
    );
}

#[test]
fn cap_counts_characters_not_bytes() {
    let text = format!("!pro request {}", "é".repeat(MAX_MESSAGE_CHARS - 13));
    assert_eq!(usage(&text).0, CommandName::Request);
}

// ---- request ---------------------------------------------------------------------------

/// What follows `request` is the reason, unquoted and with its spaces collapsed: a leading
/// "because" or "for <words>" is part of it, quotes round the whole of it go, and nothing (or
/// nothing but quotes and blanks) is no reason.
#[test]
fn request_words_are_the_reason() {
    for (text, reason) in [
        ("!pro request", None),
        (
            "!pro request because I share reports",
            Some("because I share reports"),
        ),
        (
            "!pro request for the finance dashboards",
            Some("for the finance dashboards"),
        ),
        ("!pro request forecasting work", Some("forecasting work")),
        (
            "!pro request \u{201C}I share reports\u{201D}",
            Some("I share reports"),
        ),
        ("!pro request \"I share reports\"", Some("I share reports")),
        ("!pro request 'I share reports'", Some("I share reports")),
        (
            "!pro request \"sales\" and \"ops\"",
            Some("\"sales\" and \"ops\""),
        ),
        ("!pro request \"", Some("\"")),
        ("!pro request \"\"", None),
        ("!pro request \" \u{200B} \"", None),
        (
            "!pro request \u{2018}team\u{2019}s dashboards\u{2019}",
            Some("'team's dashboards'"),
        ),
        (
            "!pro request I build the finance dashboards",
            Some("I build the finance dashboards"),
        ),
        (
            "!pro request  I\nshare\u{00A0}\u{00A0}reports ",
            Some("I share reports"),
        ),
    ] {
        assert_eq!(command(text), request(None, reason), "{text:?}");
    }
}

#[test]
fn request_reason_at_the_limit_is_kept() {
    let reason = "r".repeat(MAX_REASON_CHARS);
    assert_eq!(
        command(&format!("!pro request {reason}")),
        request(None, Some(&reason))
    );
}

#[test]
fn request_reason_over_the_limit_is_a_usage_error() {
    let reason = "r".repeat(MAX_REASON_CHARS + 1);
    for text in [
        format!("!pro request {reason}"),
        format!("!pro request for @bob {reason}"),
    ] {
        assert_eq!(
            problem(&text, CommandName::Request),
            "the reason is too long (at most 500 characters)"
        );
    }
}

/// `request for` names a UPN (lower-cased) or a console or Discord mention, which may end in
/// a colon or comma; the words after it are the reason.
#[test]
fn request_for_a_target() {
    let bob = || upn("bob@contoso.com");
    for (text, target, reason) in [
        ("!pro request for Bob@Contoso.com", bob(), None),
        ("!pro request for @Bob", mention("bob"), None),
        ("!pro request for <@987>", mention("987"), None),
        (
            "!pro request for <@!987> he builds reports",
            mention("987"),
            Some("he builds reports"),
        ),
        (
            "!pro request FOR bob@contoso.com \u{201C}new analyst\u{201D}",
            bob(),
            Some("new analyst"),
        ),
        (
            "!pro request for bob@contoso.com: new analyst",
            bob(),
            Some("new analyst"),
        ),
        (
            "!pro request for @bob, new analyst",
            mention("bob"),
            Some("new analyst"),
        ),
    ] {
        assert_eq!(command(text), request(Some(target), reason), "{text:?}");
    }
}

#[test]
fn request_for_without_a_valid_target_is_a_usage_error() {
    assert_problems(
        CommandName::Request,
        &[
            (
                "!pro request for",
                "say who: a UPN (name@contoso.com) or a mention (@name)",
            ),
            (
                "!pro request for bob@localhost",
                "`bob@localhost` is not a valid UPN: the domain must be a DNS name such as contoso.com",
            ),
            (
                "!pro request for reporting",
                "`reporting` is not a UPN (name@contoso.com) or a mention (@name)",
            ),
        ],
    );
}

// ---- targets ---------------------------------------------------------------------------

#[test]
fn at_sign_name_at_domain_is_read_as_an_invalid_upn() {
    let p = problem("!pro revoke @alice@contoso.com", CommandName::Revoke);
    assert!(p.contains("is not a valid UPN"), "{p}");
}

#[test]
fn malformed_mentions_are_refused() {
    for (token, text) in [
        ("@", "!pro revoke @"),
        ("<@abc>", "!pro revoke <@abc>"),
        ("<@>", "!pro revoke <@>"),
        ("<@123", "!pro revoke <@123"),
        ("<@!!1>", "!pro revoke <@!!1>"),
        ("21 digits", "!pro revoke <@123456789012345678901>"),
        ("65 chars", &format!("!pro revoke @{}", "a".repeat(65))),
        ("@bob!", "!pro revoke @bob!"),
    ] {
        let p = problem(text, CommandName::Revoke);
        assert!(p.contains("is not a valid mention"), "{token}: {p}");
    }
}

#[test]
fn longest_valid_mentions_are_accepted() {
    let name = "a".repeat(64);
    assert_eq!(
        command(&format!("!pro revoke @{name}")),
        Command::Revoke {
            target: mention(&name),
            reason: None
        }
    );
    let id = "1".repeat(20);
    assert_eq!(
        command(&format!("!pro revoke <@{id}>")),
        Command::Revoke {
            target: mention(&id),
            reason: None
        }
    );
}

#[test]
fn problem_text_quotes_a_long_token_shortened() {
    let token = "x".repeat(300);
    let p = problem(&format!("!pro revoke {token}"), CommandName::Revoke);
    assert!(p.chars().count() < 150, "{p}");
    assert!(p.contains("..."), "{p}");
}

// ---- link ------------------------------------------------------------------------------

#[test]
fn link_takes_a_upn() {
    assert_eq!(
        command("!pro link Alice@Contoso.com"),
        Command::Link {
            user: None,
            upn: Upn::parse("alice@contoso.com").expect("valid")
        }
    );
}

#[test]
fn link_with_a_mention_and_a_upn_is_an_attestation() {
    assert_eq!(
        command("!pro link @Alice alice@contoso.com"),
        Command::Link {
            user: Some(ChatUserId::new("alice")),
            upn: Upn::parse("alice@contoso.com").expect("valid")
        }
    );
}

#[test]
fn verify_takes_eight_digits_in_groups_or_not() {
    for text in [
        "!pro verify 12345678",
        "!pro verify 1234 5678",
        "!pro verify 1234-5678",
    ] {
        assert_eq!(
            command(text),
            Command::Verify {
                code: "12345678".into()
            },
            "{text}"
        );
    }
}

#[test]
fn a_bad_code_is_refused_without_repeating_it() {
    for text in [
        "!pro verify",
        "!pro verify 1234567",
        "!pro verify 123456789",
        "!pro verify 1234567x",
        "!pro verify 12345678 extra",
    ] {
        let p = problem(text, CommandName::Verify);
        assert_eq!(p, "give the 8-digit code from the mail", "{text}");
    }
}

/// A link needs one UPN: not a mention, not an invalid UPN, not two.
#[test]
fn link_without_one_valid_upn_is_a_usage_error() {
    assert_problems(
        CommandName::Link,
        &[
            ("!pro link", "give your UPN, such as name@contoso.com"),
            (
                "!pro link @alice",
                "link needs your UPN (name@contoso.com), not a mention",
            ),
            (
                "!pro link <@42>",
                "link needs your UPN (name@contoso.com), not a mention",
            ),
            ("!pro link alice", "`alice` is not a valid UPN: it has no @"),
            (
                "!pro link a@contoso.com b@contoso.com",
                "`b@contoso.com` was not expected here",
            ),
        ],
    );
}

// ---- status, cancel, audit --------------------------------------------------------------

#[test]
fn status_without_id_is_own_status() {
    assert_eq!(command("!pro status"), Command::Status { id: None });
}

#[test]
fn status_takes_an_id_with_or_without_hash() {
    assert_eq!(
        command("!pro status 12"),
        Command::Status {
            id: Some(RequestId(12))
        }
    );
    assert_eq!(
        command("!pro STATUS #12"),
        Command::Status {
            id: Some(RequestId(12))
        }
    );
}

#[test]
fn status_with_a_bad_id_is_a_usage_error() {
    assert_problems(
        CommandName::Status,
        &[
            ("!pro status twelve", "`twelve` is not a request number"),
            ("!pro status 12 13", "`13` was not expected here"),
        ],
    );
}

#[test]
fn cancel_takes_an_id() {
    assert_eq!(
        command("!pro cancel #7"),
        Command::Cancel { id: RequestId(7) }
    );
}

#[test]
fn cancel_without_id_is_a_usage_error() {
    assert_eq!(
        problem("!pro cancel", CommandName::Cancel),
        "give a request number, such as #12"
    );
}

#[test]
fn cancel_refuses_zero_negative_and_overflowing_ids() {
    for bad in ["0", "-1", "#-1", "+1", "99999999999999999999999", "#"] {
        problem(&format!("!pro cancel {bad}"), CommandName::Cancel);
    }
}

#[test]
fn cancel_with_extra_words_is_a_usage_error() {
    problem("!pro cancel 7 please", CommandName::Cancel);
}

#[test]
fn audit_takes_an_id() {
    assert_eq!(command("!pro audit 3"), Command::Audit { id: RequestId(3) });
}

#[test]
fn purchased_takes_an_id() {
    assert_eq!(
        command("!pro PURCHASED #4"),
        Command::Purchased { id: RequestId(4) }
    );
    problem("!pro purchased", CommandName::Purchased);
    problem("!pro purchased 4 5", CommandName::Purchased);
}

#[test]
fn audit_without_id_is_a_usage_error() {
    problem("!pro audit", CommandName::Audit);
    problem("!pro audit #3 #4", CommandName::Audit);
}

// ---- commands without arguments -----------------------------------------------------------

#[test]
fn no_argument_commands_parse() {
    assert_eq!(command("!pro release"), Command::Release);
    assert_eq!(command("!pro seats"), Command::Seats);
    assert_eq!(command("!pro pending"), Command::Pending);
    assert_eq!(command("!pro spend"), Command::Spend { month: None });
    assert_eq!(
        command("!pro spend 2026-12"),
        Command::Spend {
            month: crate::domain::Month::parse("2026-12")
        }
    );
}

#[test]
fn no_argument_commands_refuse_arguments() {
    for (text, name) in [
        ("!pro release now", CommandName::Release),
        ("!pro seats all", CommandName::Seats),
        ("!pro pending 3", CommandName::Pending),
    ] {
        let p = problem(text, name);
        assert!(p.ends_with("was not expected here"), "{p}");
    }
}

#[test]
fn seats_remove_takes_a_count() {
    assert_eq!(
        command("!pro seats REMOVE 3"),
        Command::SeatsRemove { seats: 3 }
    );
    problem("!pro seats remove", CommandName::Seats);
    problem("!pro seats remove 0", CommandName::Seats);
    problem("!pro seats remove -2", CommandName::Seats);
    problem("!pro seats remove 2 now", CommandName::Seats);
}

// ---- help ----------------------------------------------------------------------------------

#[test]
fn help_without_topic() {
    assert_eq!(command("!pro help"), Command::Help { topic: None });
}

#[test]
fn help_with_a_topic_is_case_insensitive() {
    assert_eq!(
        command("!pro help BUY"),
        Command::Help {
            topic: Some(CommandName::Buy)
        }
    );
}

#[test]
fn help_with_the_prefix_as_topic_means_no_topic() {
    assert_eq!(command("!pro help !PRO"), Command::Help { topic: None });
}

#[test]
fn help_with_an_unknown_topic_is_a_usage_error() {
    assert_eq!(
        problem("!pro help frobnicate", CommandName::Help),
        "`frobnicate` is not a command"
    );
}

#[test]
fn help_with_two_words_is_a_usage_error() {
    problem("!pro help request for", CommandName::Help);
    problem("!pro help !pro request", CommandName::Help);
}

// ---- buy -----------------------------------------------------------------------------------

#[test]
fn buy_takes_a_seat_count() {
    assert_eq!(
        command("!pro buy 5"),
        Command::Buy {
            seats: 5,
            cycle: None
        }
    );
    assert_eq!(
        command("!pro buy 1000"),
        Command::Buy {
            seats: 1000,
            cycle: None
        }
    );
}

#[test]
fn buy_takes_a_billing_cycle_and_its_aliases() {
    for (word, cycle) in [
        ("monthly", BillingCycle::Monthly),
        ("MONTHLY", BillingCycle::Monthly),
        ("annual", BillingCycle::Annual),
        ("Annually", BillingCycle::Annual),
        ("yearly", BillingCycle::Annual),
    ] {
        assert_eq!(
            command(&format!("!pro buy 2 {word}")),
            Command::Buy {
                seats: 2,
                cycle: Some(cycle)
            },
            "{word}"
        );
    }
}

#[test]
fn buy_refuses_bad_seat_counts() {
    for bad in [
        "",
        "0",
        "1001",
        "-5",
        "+5",
        "1e3",
        "5.0",
        "٣",
        "99999999999999999999999999999",
        "4294967296",
    ] {
        assert_eq!(
            problem(&format!("!pro buy {bad}"), CommandName::Buy),
            "give a number of seats from 1 to 1000",
            "{bad:?}"
        );
    }
}

#[test]
fn buy_refuses_an_unknown_cycle_and_extra_words() {
    assert_problems(
        CommandName::Buy,
        &[
            (
                "!pro buy 3 weekly",
                "`weekly` is not a billing cycle: use monthly or annual",
            ),
            ("!pro buy 3 monthly now", "`now` was not expected here"),
        ],
    );
    problem("!pro buy 3 month", CommandName::Buy);
}

// ---- assign ----------------------------------------------------------------------------------

#[test]
fn assign_takes_one_target() {
    assert_eq!(
        command("!pro assign @bob"),
        Command::Assign {
            targets: vec![mention("bob")]
        }
    );
}

#[test]
fn assign_takes_targets_separated_by_spaces_and_commas() {
    assert_eq!(
        command("!pro assign a@contoso.com,@bob , <@42>,,c@contoso.com"),
        Command::Assign {
            targets: vec![
                upn("a@contoso.com"),
                mention("bob"),
                mention("42"),
                upn("c@contoso.com"),
            ]
        }
    );
}

#[test]
fn assign_drops_duplicates_keeping_first_order() {
    assert_eq!(
        command("!pro assign @Bob b@contoso.com @bob B@Contoso.com <@!7> <@7>"),
        Command::Assign {
            targets: vec![mention("bob"), upn("b@contoso.com"), mention("7")]
        }
    );
}

#[test]
fn assign_takes_the_most_targets_allowed() {
    let names: Vec<String> = (0..MAX_ASSIGN_TARGETS).map(|i| format!("@u{i}")).collect();
    match command(&format!("!pro assign {}", names.join(","))) {
        Command::Assign { targets } => assert_eq!(targets.len(), MAX_ASSIGN_TARGETS),
        other => panic!("{other:?}"),
    }
}

#[test]
fn assign_refuses_one_target_too_many() {
    let names: Vec<String> = (0..=MAX_ASSIGN_TARGETS).map(|i| format!("@u{i}")).collect();
    assert_eq!(
        problem(
            &format!("!pro assign {}", names.join(" ")),
            CommandName::Assign
        ),
        "too many users (at most 100)"
    );
}

#[test]
fn assign_counts_targets_after_dropping_duplicates() {
    let names = vec!["@same"; MAX_ASSIGN_TARGETS + 50].join(" ");
    assert_eq!(
        command(&format!("!pro assign {names}")),
        Command::Assign {
            targets: vec![mention("same")]
        }
    );
}

#[test]
fn assign_without_targets_is_a_usage_error() {
    problem("!pro assign", CommandName::Assign);
    problem("!pro assign , ,", CommandName::Assign);
}

#[test]
fn assign_with_one_bad_target_is_a_usage_error() {
    assert_eq!(
        problem("!pro assign @bob carol", CommandName::Assign),
        "`carol` is not a UPN (name@contoso.com) or a mention (@name)"
    );
}

// ---- revoke ----------------------------------------------------------------------------------

#[test]
fn revoke_takes_one_target() {
    assert_eq!(
        command("!pro revoke bob@contoso.com"),
        Command::Revoke {
            target: upn("bob@contoso.com"),
            reason: None
        }
    );
}

#[test]
fn revoke_takes_a_reason_after_the_target() {
    assert_eq!(
        command("!pro revoke bob@contoso.com left the finance team"),
        Command::Revoke {
            target: upn("bob@contoso.com"),
            reason: Some("left the finance team".into())
        }
    );
}

#[test]
fn unlink_alone_is_your_own_and_with_a_target_someone_elses() {
    assert_eq!(command("!pro unlink"), Command::Unlink { target: None });
    assert_eq!(
        command("!pro unlink bob@contoso.com"),
        Command::Unlink {
            target: Some(upn("bob@contoso.com"))
        }
    );
    assert_eq!(
        problem("!pro unlink @bob @carol", CommandName::Unlink),
        "`@carol` was not expected here"
    );
}

#[test]
fn revoke_without_target_is_a_usage_error() {
    problem("!pro revoke", CommandName::Revoke);
}

#[test]
fn revoke_with_two_targets_is_a_usage_error() {
    assert_eq!(
        problem("!pro revoke @bob @carol", CommandName::Revoke),
        "`@carol` was not expected here: revoke takes one person at a time"
    );
}

// ---- language --------------------------------------------------------------------------------

#[test]
fn language_takes_a_locale_tag_or_nothing() {
    use crate::domain::Language;
    assert_eq!(
        command("!pro language nl"),
        Command::Language {
            choice: Some(Language::Nl)
        }
    );
    assert_eq!(
        command("!pro language EN-gb"),
        Command::Language {
            choice: Some(Language::En)
        }
    );
    assert_eq!(command("!pro language"), Command::Language { choice: None });
}

#[test]
fn language_refuses_one_the_bot_does_not_speak() {
    for text in ["!pro language de", "!pro language klingon"] {
        problem(text, CommandName::Language);
    }
    problem("!pro language nl now", CommandName::Language);
}

// ---- away ------------------------------------------------------------------------------------

#[test]
fn away_takes_on_or_off_in_any_case() {
    assert_eq!(command("!pro away on"), Command::Away { on: true });
    assert_eq!(command("!pro away OFF"), Command::Away { on: false });
}

#[test]
fn away_refuses_other_words() {
    for text in ["!pro away", "!pro away true", "!pro away yes"] {
        assert_eq!(problem(text, CommandName::Away), "say on or off", "{text}");
    }
    problem("!pro away on now", CommandName::Away);
}

// ---- reactions -------------------------------------------------------------------------------

fn approve() -> Vec<String> {
    vec!["\u{2705}".to_string(), "\u{1F44D}".to_string()] // ✅ 👍
}

fn deny() -> Vec<String> {
    vec!["\u{274C}".to_string(), "\u{1F44E}".to_string()] // ❌ 👎
}

/// The verdict of `emoji` with the usual lists (`approve()`, `deny()`).
fn verdict(emoji: &str) -> Option<Verdict> {
    parse_reaction(emoji, &approve(), &deny())
}

#[test]
fn configured_emoji_give_their_verdict() {
    assert_eq!(verdict("\u{2705}"), Some(Verdict::Approve));
    assert_eq!(verdict("\u{274C}"), Some(Verdict::Deny));
}

#[test]
fn variation_selectors_are_ignored_on_both_sides() {
    assert_eq!(verdict("\u{2705}\u{FE0F}"), Some(Verdict::Approve));
    let approve_with_selector = vec!["\u{2714}\u{FE0F}".to_string()]; // ✔️
    assert_eq!(
        parse_reaction("\u{2714}\u{FE0E}", &approve_with_selector, &deny()),
        Some(Verdict::Approve)
    );
}

#[test]
fn skin_tones_are_ignored() {
    assert_eq!(verdict("\u{1F44D}\u{1F3FD}"), Some(Verdict::Approve));
    assert_eq!(verdict("\u{1F44E}\u{1F3FF}\u{FE0F}"), Some(Verdict::Deny));
}

#[test]
fn look_alike_emoji_are_refused() {
    for emoji in [
        "\u{2714}",         // ✔ heavy check mark
        "\u{2611}",         // ☑ ballot box with check
        "\u{2713}",         // ✓ check mark
        "\u{2714}\u{FE0F}", // ✔️
        "\u{2716}",         // ✖ heavy multiplication x
        "\u{274E}",         // ❎
        "x",
        "\u{1F44D}\u{200D}", // 👍 + zero-width joiner
    ] {
        assert_eq!(verdict(emoji), None, "{emoji:?}");
    }
}

#[test]
fn empty_or_modifier_only_reactions_are_refused() {
    let lists = vec![String::new(), "\u{FE0F}".to_string()];
    assert_eq!(parse_reaction("", &lists, &deny()), None);
    assert_eq!(parse_reaction("\u{FE0F}", &lists, &deny()), None);
    assert_eq!(parse_reaction("\u{1F3FB}", &lists, &deny()), None);
}

#[test]
fn emoji_in_both_lists_gives_no_verdict() {
    let both = vec!["\u{2705}".to_string()];
    assert_eq!(parse_reaction("\u{2705}", &both, &both), None);
    let deny_with_selector = vec!["\u{2705}\u{FE0F}".to_string()];
    assert_eq!(parse_reaction("\u{2705}", &both, &deny_with_selector), None);
}

// ---- property tests --------------------------------------------------------------------------

/// A test-only rendering of a command as a person would type it, one token per entry.
/// The flag says whether the token may change case without changing the command.
fn render_tokens(command: &Command) -> Vec<(String, bool)> {
    let word = |w: &str| (w.to_string(), true);
    let target = |t: &Target| match t {
        Target::Upn(u) => (u.as_str().to_string(), true),
        Target::Mention(id) if id.as_str().bytes().all(|b| b.is_ascii_digit()) => {
            // Both Discord forms name the same user; pick one by the id's length.
            let bang = if id.as_str().len() % 2 == 0 { "!" } else { "" };
            (format!("<@{bang}{id}>"), true)
        }
        Target::Mention(id) => (format!("@{id}"), true),
    };
    let reason_words = |r: &Option<String>| -> Vec<(String, bool)> {
        r.iter()
            .flat_map(|r| r.split(' '))
            .map(|w| (w.to_string(), false))
            .collect()
    };
    let id_token = |id: &RequestId| {
        let hash = if id.0 % 2 == 0 { "#" } else { "" };
        (format!("{hash}{}", id.0), true)
    };
    let mut tokens = vec![word(command.name().word())];
    match command {
        Command::Request {
            target: t,
            term,
            reason,
        } => {
            if let Some(t) = t {
                tokens.push(word("for"));
                tokens.push(target(t));
            }
            if let Some(term) = term {
                tokens.push(word("for"));
                tokens.push(word(&term.to_string()));
            }
            tokens.extend(reason_words(reason));
        }
        Command::Extend { term } => {
            if let Some(term) = term {
                tokens.push(word("for"));
                tokens.push(word(&term.to_string()));
            }
        }
        Command::Link { user, upn } => {
            if let Some(u) = user {
                tokens.push(target(&Target::Mention(u.clone())));
            }
            tokens.push(word(upn.as_str()));
        }
        Command::Verify { code } => tokens.push(word(code)),
        Command::Status { id } => tokens.extend(id.iter().map(id_token)),
        Command::Cancel { id } | Command::Audit { id } | Command::Purchased { id } => {
            tokens.push(id_token(id))
        }
        Command::Help { topic } => tokens.extend(topic.iter().map(|t| word(t.word()))),
        Command::Buy { seats, cycle } => {
            tokens.push(word(&seats.to_string()));
            tokens.extend(cycle.iter().map(|c| word(c.as_str())));
        }
        Command::Assign { targets } => tokens.extend(targets.iter().map(target)),
        Command::Revoke { target: t, reason } => {
            tokens.push(target(t));
            tokens.extend(reason_words(reason));
        }
        Command::Unlink { target: t } => tokens.extend(t.as_ref().map(target)),
        Command::Away { on } => tokens.push(word(if *on { "on" } else { "off" })),
        Command::Language { choice } => tokens.extend(choice.iter().map(|l| word(l.as_str()))),
        Command::Spend { month } => tokens.extend(month.iter().map(|m| word(&m.to_string()))),
        Command::Release | Command::Keep | Command::Seats | Command::Pending => {}
        Command::SeatsRemove { seats } => {
            tokens.push(word("remove"));
            tokens.push(word(&seats.to_string()));
        }
    }
    tokens
}

/// A test-only rendering of a command as a person would type it after `prefix`.
fn render(command: &Command, prefix: &str) -> String {
    let mut text = prefix.to_string();
    for (token, _) in render_tokens(command) {
        text.push(' ');
        text.push_str(&token);
    }
    text
}

const SPACES: [char; 8] = [
    ' ', '\t', '\n', '\r', '\u{00A0}', '\u{2003}', '\u{202F}', '\u{3000}',
];
const INVISIBLES: [char; 6] = [
    '\u{200B}', '\u{200D}', '\u{FEFF}', '\u{00AD}', '\u{2060}', '\u{2067}',
];

/// A cycling source of small random choices for [`retype`].
struct Noise<'a> {
    bytes: std::iter::Cycle<std::slice::Iter<'a, u8>>,
}

impl Noise<'_> {
    fn next(&mut self) -> usize {
        usize::from(self.bytes.next().copied().unwrap_or(0))
    }

    fn invisible(&mut self) -> char {
        INVISIBLES[self.next() % INVISIBLES.len()]
    }

    fn token(&mut self, out: &mut String, token: &str, caseable: bool) {
        for c in token.chars() {
            if self.next().is_multiple_of(7) {
                out.push(self.invisible());
            }
            let flip = caseable && self.next().is_multiple_of(2);
            out.push(if flip { c.to_ascii_uppercase() } else { c });
        }
    }

    /// One to three spaces of any kind, maybe with invisibles and (when allowed) a comma.
    fn separator(&mut self, out: &mut String, comma: bool) {
        let n = self.next();
        if comma && n.is_multiple_of(3) {
            out.push(',');
        }
        for _ in 0..=(n / 3) % 3 {
            if self.next().is_multiple_of(3) {
                out.push(self.invisible());
            }
            out.push(SPACES[self.next() % SPACES.len()]);
        }
        if comma && n % 3 == 1 {
            out.push(',');
        }
    }
}

/// Retypes a rendered command with random case, separators and invisible characters,
/// driven by `noise`. Commas are added only between `assign` targets.
fn retype(lead: &str, command: &Command, noise: &[u8]) -> String {
    let mut noise = Noise {
        bytes: noise.iter().cycle(),
    };
    let mut out = String::new();
    noise.separator(&mut out, false);
    noise.token(&mut out, lead, true);
    let is_assign = matches!(command, Command::Assign { .. });
    for (i, (token, caseable)) in render_tokens(command).iter().enumerate() {
        noise.separator(&mut out, is_assign && i > 1);
        noise.token(&mut out, token, *caseable);
    }
    noise.separator(&mut out, false);
    out
}

fn upn_strategy() -> impl Strategy<Value = Upn> {
    "[a-zA-Z0-9]([a-zA-Z0-9_'#~-]{0,10}[a-zA-Z0-9])?@[a-zA-Z0-9]{1,10}\\.(com|nl|Org)"
        .prop_map(|s| Upn::parse(&s).expect("generated UPN is valid"))
}

fn target_strategy() -> impl Strategy<Value = Target> {
    prop_oneof![
        upn_strategy().prop_map(Target::Upn),
        "[a-z0-9_.-]{1,20}".prop_map(|n| Target::Mention(ChatUserId::new(n))),
        "[0-9]{1,20}".prop_map(|d| Target::Mention(ChatUserId::new(d))),
    ]
}

fn reason_strategy() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::collection::vec("[a-zA-Z0-9.,!?()-]{1,12}", 1..20)
            .prop_filter("a reason may not start with `for`", |words| {
                !words[0].eq_ignore_ascii_case("for")
            })
            .prop_map(|words| words.join(" ")),
    )
}

fn id_strategy() -> impl Strategy<Value = RequestId> {
    (1..=i64::MAX).prop_map(RequestId)
}

fn command_strategy() -> impl Strategy<Value = Command> {
    prop_oneof![
        (
            proptest::option::of(target_strategy()),
            proptest::option::of(1..=3650u32),
            reason_strategy()
        )
            .prop_map(|(target, term, reason)| Command::Request {
                target,
                term: term.map(days),
                reason
            }),
        proptest::option::of(1..=3650u32).prop_map(|term| Command::Extend {
            term: term.map(days)
        }),
        Just(Command::Keep),
        upn_strategy().prop_map(|upn| Command::Link { user: None, upn }),
        "[0-9]{8}".prop_map(|code| Command::Verify { code }),
        proptest::option::of(id_strategy()).prop_map(|id| Command::Status { id }),
        id_strategy().prop_map(|id| Command::Cancel { id }),
        id_strategy().prop_map(|id| Command::Purchased { id }),
        Just(Command::Release),
        proptest::option::of(proptest::sample::select(CommandName::ALL.to_vec()))
            .prop_map(|topic| Command::Help { topic }),
        (
            1..=MAX_SEATS_PER_BUY,
            proptest::option::of(proptest::sample::select(BillingCycle::ALL.to_vec()))
        )
            .prop_map(|(seats, cycle)| Command::Buy { seats, cycle }),
        proptest::collection::vec(target_strategy(), 1..10).prop_map(|all| {
            let mut targets: Vec<Target> = Vec::new();
            for t in all {
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
            Command::Assign { targets }
        }),
        (target_strategy(), reason_strategy())
            .prop_map(|(target, reason)| Command::Revoke { target, reason }),
        proptest::option::of(target_strategy()).prop_map(|target| Command::Unlink { target }),
        Just(Command::Seats),
        (1..=MAX_SEATS_PER_BUY).prop_map(|seats| Command::SeatsRemove { seats }),
        Just(Command::Pending),
        proptest::option::of((2000..=9999i32, 1..=12u32)).prop_map(|m| Command::Spend {
            month: m.and_then(|(y, m)| crate::domain::Month::parse(&format!("{y:04}-{m:02}")))
        }),
        any::<bool>().prop_map(|on| Command::Away { on }),
        proptest::option::of(proptest::sample::select(
            crate::domain::Language::ALL.to_vec()
        ))
        .prop_map(|choice| Command::Language { choice }),
        id_strategy().prop_map(|id| Command::Audit { id }),
    ]
}

fn lead_strategy() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec!["!pro", "@licensebot", "<@123456>", "<@!123456>"])
}

/// Strings of any characters, from empty to well over the cap.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<char>(), 0..10_000)
            .prop_map(|cs| cs.into_iter().collect::<String>()),
        (
            lead_strategy(),
            proptest::collection::vec(any::<char>(), 0..3_000)
        )
            .prop_map(|(lead, cs)| format!("{lead} {}", cs.into_iter().collect::<String>())),
        "(!pro|@licensebot|power bi pro|licen[cs]e|request|for|assign|buy|,| |\u{200B}|@|<@!?|>|[0-9]{1,30}|.){0,400}",
    ]
}

/// Tokens an attacker might type after the prefix.
fn adversarial_token() -> impl Strategy<Value = String> {
    let words: Vec<String> = CommandName::ALL
        .iter()
        .map(|c| c.word().to_string())
        .chain(
            [
                "for",
                "on",
                "off",
                "monthly",
                "annual",
                "!pro",
                "@licensebot",
            ]
            .map(String::from),
        )
        .collect();
    prop_oneof![
        proptest::sample::select(words),
        "#?[+-]?[0-9]{0,40}",
        "@[a-zA-Z0-9@._<>!-]{0,80}",
        "<@!?[0-9a-z]{0,30}>?",
        "[a-z0-9.'#-]{0,20}@[a-z0-9.@-]{0,20}",
        "[\"'\u{201C}\u{201D},]{0,4}",
        ".{0,30}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_text_parses_without_panicking(text in any_text()) {
        let parsed = parse(&text);
        if text.chars().count() > MAX_MESSAGE_CHARS {
            prop_assert!(
                matches!(parsed, Parsed::TooLong | Parsed::Ignore),
                "over the cap gave {:?}", parsed
            );
        } else {
            prop_assert_ne!(parsed, Parsed::TooLong);
        }
    }

    #[test]
    fn rendered_commands_parse_back(command in command_strategy(), lead in lead_strategy()) {
        prop_assert_eq!(parse(&render(&command, lead)), Parsed::Command(command));
    }

    #[test]
    fn retyped_commands_parse_back(
        command in command_strategy(),
        lead in lead_strategy(),
        noise in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let text = retype(lead, &command, &noise);
        prop_assert_eq!(parse(&text), Parsed::Command(command), "text {:?}", text);
    }

    #[test]
    fn prefix_and_random_tokens_are_never_ignored(
        lead in lead_strategy(),
        tokens in proptest::collection::vec(adversarial_token(), 0..30),
    ) {
        let text = format!("{lead} {}", tokens.join(" "));
        let parsed = parse(&text);
        prop_assert!(
            !matches!(parsed, Parsed::Ignore | Parsed::Suggest),
            "{:?} gave {:?}", text, parsed
        );
    }

    #[test]
    fn reactions_never_panic(
        emoji in any::<String>(),
        approve in proptest::collection::vec(any::<String>(), 0..4),
        deny in proptest::collection::vec(any::<String>(), 0..4),
    ) {
        let verdict = parse_reaction(&emoji, &approve, &deny);
        if verdict == Some(Verdict::Approve) {
            prop_assert!(approve.iter().any(|a| emoji_base(a).eq(emoji_base(&emoji))));
        }
    }
}
