//! Seat alerts on the simulated tenant: one message in the approvals channel while the seats
//! cross a threshold of `[alerts]`, edited as the numbers change, edited to say they
//! recovered when they do, and stored so a restart neither reposts nor forgets it.

use std::time::Duration;

use super::harness::{Harness, Said};
use licensebot::store::seat_alerts::{self, SeatAlert};

/// Fewer than 2 seats free, or more than 50 % in use.
const ALERTS: [(&str, &str); 2] = [
    ("LICENSEBOT__ALERTS__FREE_SEATS_BELOW", "2"),
    ("LICENSEBOT__ALERTS__USAGE_ABOVE_PERCENT", "50"),
];

/// Messages as (id, text).
type Texts = Vec<(String, String)>;

/// The alert posts and the edits of them, in order.
fn alerts(h: &Harness) -> (Texts, Texts) {
    let mut posts = Vec::new();
    let mut edits = Vec::new();
    for s in h.said() {
        match s {
            Said::Send {
                channel,
                id,
                content,
                ..
            } if channel == "license-approvals" && content.contains("% in use)") => {
                posts.push((id, content))
            }
            Said::Edit { id, content } if content.contains("% in use)") => {
                edits.push((id, content))
            }
            _ => {}
        }
    }
    (posts, edits)
}

/// The seat alert as stored.
async fn stored(h: &Harness) -> SeatAlert {
    let mut conn = h.store.pool().acquire().await.unwrap();
    seat_alerts::get(&mut conn).await.unwrap()
}

/// A harness with the alerts on and 5 seats bought, none assigned.
async fn five_seats() -> Harness {
    let h = Harness::new(&ALERTS).await;
    h.set_pro_seats(5).await;
    h
}

/// `dave` gives Pro to `who@contoso.example` (an approver's own request runs at once).
async fn dave_assigns(h: &Harness, who: &str) {
    h.say_and_settle("dave", &format!("!pro assign {who}@contoso.example"))
        .await;
}

#[tokio::test]
async fn seat_alert_is_posted_once_when_a_threshold_is_crossed_and_edited_as_numbers_change() {
    let h = five_seats().await;
    dave_assigns(&h, "alice").await;
    dave_assigns(&h, "judy").await;
    assert!(alerts(&h).0.is_empty(), "3 of 5 free, 40 %: no alert");

    dave_assigns(&h, "kim").await;
    let (posts, edits) = alerts(&h);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(edits.is_empty(), "{edits:#?}");
    let (alert, text) = &posts[0];
    assert!(
        text.contains("⚠️ Power BI Pro seats: 2 free of 5 bought (60 % in use)."),
        "{text}"
    );
    assert!(
        text.contains("Above the alert level of 50 % in use"),
        "{text}"
    );
    assert!(
        !text.contains("Below the alert level"),
        "only the usage alert: {text}"
    );

    dave_assigns(&h, "ivan").await;
    h.say_and_settle("bob", "!pro buy 1").await;
    let (posts, edits) = alerts(&h);
    assert_eq!(posts.len(), 1, "edited, never reposted: {posts:#?}");
    assert_eq!(edits.len(), 2, "{edits:#?}");
    assert!(edits.iter().all(|(id, _)| id == alert), "{edits:#?}");
    assert!(edits[0].1.contains("1 free of 5 bought (80 % in use)"));
    assert!(edits[0].1.contains("Below the alert level of 2 free seats"));
    assert!(edits[0].1.contains("Above the alert level of 50 % in use"));
    assert!(edits[1].1.contains("2 free of 6 bought (67 % in use)"));
    assert!(edits[1].1.contains("`!pro buy <n>`"));
    let now = stored(&h).await;
    assert!(now.usage && !now.free_seats, "{now:?}");
}

#[tokio::test]
async fn seat_alert_recovery_edits_the_message_and_clears_the_alert() {
    let h = five_seats().await;
    for who in ["alice", "judy", "kim", "ivan"] {
        dave_assigns(&h, who).await;
    }
    let (posts, _) = alerts(&h);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(stored(&h).await.free_seats);

    h.say_and_settle("bob", "!pro buy 5").await;

    let (posts, edits) = alerts(&h);
    assert_eq!(posts.len(), 1, "{posts:#?}");
    let recovered = &edits.last().expect("an edit").1;
    assert!(
        recovered.contains("✅ Power BI Pro seats recovered: 6 free of 10 bought (40 % in use)"),
        "{recovered}"
    );
    let now = stored(&h).await;
    assert!(!now.free_seats && !now.usage, "{now:?}");
    assert_eq!(
        now.message.outbox_id, None,
        "let go: a later crossing posts anew"
    );
}

#[tokio::test]
async fn seat_alert_after_recovery_a_new_crossing_posts_a_new_message() {
    let h = five_seats().await;
    for who in ["alice", "judy", "kim", "ivan"] {
        dave_assigns(&h, who).await;
    }
    h.say_and_settle("bob", "!pro buy 5").await;

    // An administrator removes seats in the admin center; the tick notices within minutes.
    h.set_pro_seats(4).await;
    h.advance_and_settle(Duration::from_secs(5 * 60)).await;

    let (posts, _) = alerts(&h);
    assert_eq!(posts.len(), 2, "{posts:#?}");
    assert_ne!(posts[0].0, posts[1].0);
    assert!(
        posts[1].1.contains("0 free of 4 bought (100 % in use)"),
        "{}",
        posts[1].1
    );
}

#[tokio::test]
async fn seat_alert_is_not_reposted_or_edited_by_a_restarted_engine() {
    let h = five_seats().await;
    for who in ["alice", "judy", "kim"] {
        dave_assigns(&h, who).await;
    }
    assert_eq!(alerts(&h).0.len(), 1);
    let before = h.said().len();

    let restarted = h.another_engine();
    h.advance(Duration::from_secs(10 * 60));
    restarted.settle().await;

    assert_eq!(h.said().len(), before, "{:#?}", &h.said()[before..]);
    assert!(stored(&h).await.usage, "still standing after the restart");
}

#[tokio::test]
async fn seat_alert_notices_a_change_made_outside_the_bot_on_pro_seats() {
    let h = five_seats().await;
    h.engine.settle().await;
    // An administrator removes seats in the admin center.
    h.set_pro_seats(1).await;

    h.say_and_deliver("carol", "!pro seats").await;

    let (posts, _) = alerts(&h);
    assert_eq!(posts.len(), 1, "at once, not at the next tick: {posts:#?}");
    assert!(posts[0].1.contains("1 free of 1 bought (0 % in use)"));
}

#[tokio::test]
async fn seat_alert_tick_reads_the_seats_at_most_every_five_minutes() {
    let h = five_seats().await;
    h.engine.settle().await;
    assert!(
        stored(&h).await.checked_at.is_some(),
        "compared at the first tick"
    );
    h.set_pro_seats(0).await;

    h.advance_and_settle(Duration::from_secs(4 * 60)).await;
    assert!(alerts(&h).0.is_empty(), "not due yet");

    h.advance_and_settle(Duration::from_secs(60)).await;
    assert_eq!(alerts(&h).0.len(), 1);
}

#[tokio::test]
async fn seat_alert_is_off_by_default() {
    let h = Harness::new(&[]).await;
    h.set_pro_seats(0).await;
    h.say_and_settle("carol", "!pro seats").await;
    h.advance_and_settle(Duration::from_secs(3600)).await;
    assert!(alerts(&h).0.is_empty());
    assert_eq!(stored(&h).await, SeatAlert::default());
}
