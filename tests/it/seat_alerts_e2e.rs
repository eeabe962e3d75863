//! Seat alerts end to end: the real binary on the console and the simulated tenant, with
//! `[alerts]` on. One message in the approvals channel when the seats cross a threshold,
//! edited (never reposted) as requests change the numbers and across a restart, edited to
//! say they recovered after a purchase; `/metrics` shows `licensebot_seat_alert`.

use serde_json::Value;

use crate::ops::{endpoint_of_start, get};
use crate::support::Bot;

/// No seat free, or more than half of them in use; the metrics endpoint on.
const ENV: [(&str, &str); 3] = [
    ("LICENSEBOT__ALERTS__FREE_SEATS_BELOW", "1"),
    ("LICENSEBOT__ALERTS__USAGE_ABOVE_PERCENT", "50"),
    ("LICENSEBOT__TELEMETRY__METRICS_ADDR", "127.0.0.1:0"),
];

/// The alert posts in the approvals channel among `records`: (message id, text).
fn alert_posts(records: &[Value]) -> Vec<(String, String)> {
    records
        .iter()
        .filter(|v| v["type"] == "send" && v["channel"] == "license-approvals")
        .filter_map(|v| {
            alert_text(v).map(|c| (v["message_id"].as_str().unwrap_or_default().to_string(), c))
        })
        .collect()
}

/// The edits of alert messages among `records`: (message id, text).
fn alert_edits(records: &[Value]) -> Vec<(String, String)> {
    records
        .iter()
        .filter(|v| v["type"] == "edit")
        .filter_map(|v| {
            alert_text(v).map(|c| (v["message_id"].as_str().unwrap_or_default().to_string(), c))
        })
        .collect()
}

fn alert_text(v: &Value) -> Option<String> {
    v["content"]
        .as_str()
        .filter(|c| c.contains("% in use)"))
        .map(str::to_string)
}

/// The seat alert metric of `kind`, as the `nth` start of the bot serves it.
fn metric(bot: &Bot, nth: usize, kind: &str) -> String {
    let (code, text) = get(&format!("{}/metrics", endpoint_of_start(bot, nth)));
    assert_eq!(code, 200, "{text}");
    let series = format!("licensebot_seat_alert{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .to_string()
}

/// `author` says `content` and the bot runs all that follows; returns what it did.
fn run(bot: &mut Bot, author: &str, content: &str) -> Vec<Value> {
    bot.say(author, content);
    bot.idle()
}

#[test]
fn seat_alert_is_posted_once_edited_as_requests_change_the_seats_and_cleared_by_a_purchase() {
    let (dir, mut bot) = Bot::start_with("", &ENV);
    assert_eq!(
        metric(&bot, 1, "usage"),
        "0",
        "registered at 0 from start-up"
    );
    run(&mut bot, "bob", "!pro buy 3");
    let two = run(
        &mut bot,
        "dave",
        "!pro assign alice@contoso.example judy@contoso.example",
    );
    assert!(
        alert_posts(&two).is_empty(),
        "2 of 4 in use is not above 50 %"
    );

    // Crossing: one message.
    let got = run(&mut bot, "dave", "!pro assign kim@contoso.example");
    let posts = alert_posts(&got);
    assert_eq!(posts.len(), 1, "{got:#?}");
    let (alert, text) = &posts[0];
    assert!(text.contains("1 free of 4 bought (75 % in use)"), "{text}");
    assert_eq!(metric(&bot, 1, "usage"), "1");
    assert_eq!(metric(&bot, 1, "free_seats"), "0");

    // Two more requests change the numbers: the message is edited, never reposted.
    let mut got = run(&mut bot, "dave", "!pro assign ivan@contoso.example");
    got.extend(run(&mut bot, "bob", "!pro buy 1"));
    assert!(alert_posts(&got).is_empty(), "{got:#?}");
    let edits = alert_edits(&got);
    assert_eq!(edits.len(), 2, "{got:#?}");
    assert!(edits.iter().all(|(id, _)| id == alert), "{edits:#?}");
    assert!(edits[0].1.contains("0 free of 4 bought (100 % in use)"));
    assert!(edits[1].1.contains("1 free of 5 bought (80 % in use)"));

    // A restart while it stands: nothing reposted, nothing edited, even when the tick
    // compares the seats again.
    bot.finish();
    let mut bot = Bot::start_in(dir.path(), &ENV);
    bot.advance(600);
    let after = bot.idle();
    assert!(
        alert_posts(&after).is_empty() && alert_edits(&after).is_empty(),
        "{after:#?}"
    );
    assert_eq!(
        metric(&bot, 2, "usage"),
        "1",
        "remembered across the restart"
    );

    // A purchase brings the numbers back: the same message says so; the metric reads 0.
    let got = run(&mut bot, "bob", "!pro buy 5");
    assert!(alert_posts(&got).is_empty(), "{got:#?}");
    let edits = alert_edits(&got);
    assert_eq!(edits.len(), 1, "{got:#?}");
    assert_eq!(&edits[0].0, alert);
    assert!(
        edits[0]
            .1
            .contains("seats recovered: 6 free of 10 bought (40 % in use)"),
        "{}",
        edits[0].1
    );
    assert_eq!(metric(&bot, 2, "usage"), "0");
    assert_eq!(metric(&bot, 2, "free_seats"), "0");
    bot.finish();
}
