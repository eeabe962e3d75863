//! Tests of the fake Discord's own rules, where they model Discord's documented behaviour
//! rather than the bot's: message nonces.

use serde_json::{json, Value};

use crate::support::fake_discord::{FakeDiscord, GENERAL, TOKEN};

/// Creates a message in #general as the bot; returns the status and the body.
async fn create(fake: &FakeDiscord, body: Value) -> (u16, Value) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!(
            "{}/api/v10/channels/{GENERAL}/messages",
            fake.url()
        ))
        .header("Authorization", format!("Bot {TOKEN}"))
        .json(&body)
        .send()
        .await
        .expect("create message");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON"))
}

fn count(fake: &FakeDiscord, content: &str) -> usize {
    fake.view(|v| {
        v.messages_in(GENERAL)
            .iter()
            .filter(|m| m.content == content)
            .count()
    })
}

#[tokio::test]
async fn an_enforced_nonce_seen_before_returns_the_first_message_and_creates_none() {
    let fake = FakeDiscord::start().await;
    let body = json!({"content": "once", "nonce": "3fa9c1d2-1a", "enforce_nonce": true});

    let (s1, first) = create(&fake, body.clone()).await;
    let (s2, second) = create(&fake, body).await;

    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["nonce"], "3fa9c1d2-1a");
    assert_eq!(count(&fake, "once"), 1);
}

#[tokio::test]
async fn a_nonce_without_enforce_nonce_does_not_deduplicate() {
    let fake = FakeDiscord::start().await;
    let body = json!({"content": "twice", "nonce": "3fa9c1d2-1b"});

    let (_, first) = create(&fake, body.clone()).await;
    let (_, second) = create(&fake, body).await;

    assert_ne!(first["id"], second["id"]);
    assert_eq!(count(&fake, "twice"), 2);
}

#[tokio::test]
async fn a_nonce_longer_than_25_characters_is_refused() {
    let fake = FakeDiscord::start().await;
    let body = json!({"content": "x", "nonce": "n".repeat(26), "enforce_nonce": true});

    let (status, error) = create(&fake, body).await;

    assert_eq!(status, 400);
    assert_eq!(error["code"], 50035);
}
