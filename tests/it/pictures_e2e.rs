//! The seat chart end to end: `!pro seats` on the console saves the chart as a PNG file and
//! says where; on Discord (the real binary with serenity inside, against the fake Discord)
//! the reply and the slash command's answer carry it as an uploaded file with its alt text,
//! in the reader's language. The seat history behind it keeps one row a day.

use serde_json::Value;

use crate::discord_e2e::Setup;
use crate::support::bot::contents;
use crate::support::fake_discord::{png_size, Upload, GENERAL};
use crate::support::{db, Bot};

/// The `picture` records among `records`: (message id, path).
fn pictures(records: &[Value]) -> Vec<(String, String)> {
    records
        .iter()
        .filter(|v| v["type"] == "picture")
        .map(|v| {
            (
                v["message_id"].as_str().unwrap_or_default().to_string(),
                v["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn seats_on_the_console_saves_the_chart_and_the_history_keeps_a_row_a_day() {
    let budget = ("LICENSEBOT__POLICY__MONTHLY_BUDGET", "100");
    let (dir, mut bot) = Bot::start_with("", &[budget]);
    bot.say("bob", "!pro seats");
    let got = bot.idle();
    let reply = got
        .iter()
        .find(|v| {
            v["type"] == "send" && v["content"].as_str().unwrap_or("").contains("seats bought")
        })
        .unwrap_or_else(|| panic!("the text answer: {got:#?}"));
    let saved = pictures(&got);
    assert_eq!(saved.len(), 1, "{got:#?}");
    assert_eq!(
        saved[0].0, reply["message_id"],
        "the picture is the answer's"
    );
    assert!(saved[0].1.ends_with("-seats.png"), "{saved:?}");
    let png = std::fs::read(&saved[0].1).expect("the saved chart");
    // With a budget, the spend panel is drawn below the seats.
    assert_eq!(png_size(&png), Some((800, 660)));
    std::fs::remove_file(&saved[0].1).expect("remove the chart");
    // Asked by direct message, the chart comes with the direct answer.
    bot.dm("bob", "!pro seats");
    let direct = bot.idle();
    let dm = direct
        .iter()
        .find(|v| v["type"] == "dm")
        .unwrap_or_else(|| panic!("the direct answer: {direct:#?}"));
    let saved = pictures(&direct);
    assert_eq!(saved.len(), 1, "{direct:#?}");
    assert_eq!(saved[0].0, dm["message_id"]);
    std::fs::remove_file(&saved[0].1).expect("remove the chart");

    // The tick reads the seats again a day (and an hour) later: the history has a row for
    // each day it read them, and two more `seats` that day replace that day's row. (One
    // move of the clock, so the count does not depend on the hour the test runs at.)
    bot.advance(86_400 + 3_600);
    bot.idle();
    let rows = || db::open(dir.path()).scalar("SELECT COUNT(*) FROM seat_history");
    assert_eq!(rows(), 2, "the tick read the seats on the new day");
    bot.say("bob", "!pro seats");
    let again = bot.idle();
    bot.say("bob", "!pro seats");
    bot.idle();
    bot.finish();
    assert_eq!(pictures(&again).len(), 1, "{again:#?}");
    assert_eq!(rows(), 2, "the day's row was replaced");
    let db = db::open(dir.path());
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM outbox WHERE picture IS NOT NULL"),
        0,
        "a delivered picture is not kept"
    );
    assert!(contents(&again).contains("seats bought"));
}

/// The one file a message carries: the chart.
fn the_chart(files: &[Upload]) -> &Upload {
    assert_eq!(files.len(), 1, "{files:?}");
    let chart = &files[0];
    assert_eq!(chart.filename, "seats.png");
    assert_eq!(chart.content_type.as_deref(), Some("image/png"));
    chart
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_on_discord_attaches_the_chart_with_its_alt_text_in_the_readers_language() {
    let s = Setup::start().await;
    let reply = s.say("bob", "!pro seats", "seats bought").await;
    let chart = the_chart(&reply.attachments);
    assert_eq!(
        chart.png_size(),
        Some((800, 400)),
        "no budget, no spend panel"
    );
    let alt = chart.description.as_deref().unwrap_or_default();
    assert!(alt.contains("seats bought and assigned"), "{alt}");

    // A Dutch app's slash command: the deferred answer is filled with the chart, described
    // in Dutch.
    s.fake.set_client_locale("carol", "nl");
    let id = s.fake.slash("carol", GENERAL, "seats", &[]);
    let (_, answer) = s
        .fake
        .wait_for(
            "carol's seats answer",
            crate::support::discord_bot::TIMEOUT,
            |v| {
                v.interaction(id).filter(|(_, m)| {
                    m.as_ref()
                        .is_some_and(|m| m.content.contains("gekocht") && !m.attachments.is_empty())
                })
            },
        )
        .await;
    let answer = answer.expect("an answer");
    let chart = the_chart(&answer.attachments);
    assert_eq!(chart.png_size(), Some((800, 400)));
    let alt = chart.description.as_deref().unwrap_or_default();
    assert!(alt.contains("Grafiek van de"), "{alt}");
    s.fake.assert_faithful();
}
