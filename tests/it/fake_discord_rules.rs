//! Tests of the fake Discord's own rules, where they model Discord's documented behaviour
//! rather than the bot's: message nonces, file uploads, and the fields a registered command
//! and each of its options may carry (with the bot's `/pro` held against the same table).

use licensebot::chat::discord::slash_definition;
use licensebot::texts::{Language, Texts};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::discord_schema;
use crate::support::fake_discord::{FakeDiscord, APP, GENERAL, GUILD, TOKEN};

/// A client for the fake on loopback (no proxy).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Sends `body` to the fake's REST `path` as the bot; returns the status and the body.
async fn as_bot(fake: &FakeDiscord, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let request = client().request(method, format!("{}/api/v10{path}", fake.url()));
    send_as_bot(request.json(body)).await
}

/// Sends `request` with the bot's token; returns the status and the body.
async fn send_as_bot(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request
        .header("Authorization", format!("Bot {TOKEN}"))
        .send()
        .await
        .expect("a request to the fake");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON"))
}

/// Creates a message in #general as the bot; returns the status and the body.
async fn create(fake: &FakeDiscord, body: Value) -> (u16, Value) {
    let path = format!("/channels/{GENERAL}/messages");
    as_bot(fake, Method::POST, &path, &body).await
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

/// Registers `commands` in the guild as the bot; returns the status and the body.
async fn register(fake: &FakeDiscord, commands: Value) -> (u16, Value) {
    let path = format!("/applications/{APP}/guilds/{GUILD}/commands");
    as_bot(fake, Method::PUT, &path, &commands).await
}

#[test]
fn the_pro_command_carries_only_the_fields_discord_documents_for_each_option_type() {
    // In each language the bot can be set to, with its translations into the others.
    for language in [Language::En, Language::Nl] {
        let texts = Texts::load(language);
        let body = json!([serde_json::to_value(slash_definition(&texts)).expect("JSON")]);
        assert!(
            body.to_string().contains("name_localizations"),
            "translated: {body}"
        );

        let problems = discord_schema::problems(&body);

        assert!(
            problems.is_empty(),
            "{language}: {} problems:\n{}",
            problems.len(),
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test]
async fn a_translation_under_an_unknown_locale_or_a_name_in_capitals_is_refused() {
    let fake = FakeDiscord::start().await;
    let commands = json!([{
        "name": "pro", "type": 1, "description": "Power BI Pro",
        "options": [{"type": 1, "name": "request", "description": "Ask",
            "name_localizations": {"nl": "Aanvragen"},
            "description_localizations": {"nl-NL": "Vraag aan"}}],
    }]);

    let (status, error) = register(&fake, commands).await;

    assert_eq!(status, 400);
    let at = &error["errors"]["0"]["options"]["0"];
    assert_eq!(
        at["name_localizations"]["nl"]["_errors"][0]["code"], "BASE_TYPE_BAD_LENGTH",
        "{error}"
    );
    assert_eq!(
        at["description_localizations"]["nl-NL"]["_errors"][0]["code"], "LOCALE_INVALID",
        "{error}"
    );
}

#[tokio::test]
async fn a_command_with_only_documented_fields_is_registered() {
    let fake = FakeDiscord::start().await;
    let commands = json!([{
        "name": "pro", "type": 1, "description": "Power BI Pro",
        "options": [{"type": 1, "name": "cancel", "description": "Cancel a request",
            "options": [{"type": 4, "name": "id", "description": "Request", "required": true, "min_value": 1}]}],
    }]);

    let (status, registered) = register(&fake, commands.clone()).await;

    assert_eq!(status, 200, "{registered}");
    assert_eq!(fake.view(|v| v.commands()), Some(commands));
}

#[tokio::test]
async fn an_option_with_a_field_its_type_does_not_define_is_refused_as_invalid_form_body() {
    let fake = FakeDiscord::start().await;
    let commands = json!([{
        "name": "pro", "type": 1, "description": "Power BI Pro",
        "options": [{"type": 1, "name": "release", "description": "Give the seat back", "min_value": 1}],
    }]);

    let (status, error) = register(&fake, commands).await;

    assert_eq!(status, 400);
    assert_eq!(error["code"], 50035);
    assert_eq!(error["message"], "Invalid Form Body");
    assert_eq!(
        error["errors"]["0"]["options"]["0"]["min_value"]["_errors"][0]["code"],
        "FIELD_NOT_DEFINED_FOR_TYPE",
        "{error}"
    );
    assert_eq!(fake.view(|v| v.commands()), None);
}

/// A 1×1 PNG.
fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 1, 1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&[0, 0, 0]).expect("pixel");
    writer.finish().expect("finish");
    out
}

/// Creates a message in #general as the bot with a multipart body: `payload_json` and the
/// parts `files` (part name, file name if any, bytes); returns the status and the body.
async fn upload(
    fake: &FakeDiscord,
    payload: &Value,
    files: Vec<(&str, Option<&str>, Vec<u8>)>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new().text("payload_json", payload.to_string());
    for (name, file_name, bytes) in files {
        let mut part = reqwest::multipart::Part::bytes(bytes)
            .mime_str("image/png")
            .expect("mime");
        if let Some(f) = file_name {
            part = part.file_name(f.to_string());
        }
        form = form.part(name.to_string(), part);
    }
    let url = format!("{}/api/v10/channels/{GENERAL}/messages", fake.url());
    send_as_bot(client().post(url).multipart(form)).await
}

#[tokio::test]
async fn an_uploaded_file_named_in_attachments_is_carried_by_the_message() {
    let fake = FakeDiscord::start().await;
    let payload = json!({"content": "the chart",
        "attachments": [{"id": 0, "filename": "a.png", "description": "a dot"}]});
    let (status, body) = upload(
        &fake,
        &payload,
        vec![("files[0]", Some("a.png"), tiny_png())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let a = &body["attachments"][0];
    assert_eq!(a["filename"], "a.png");
    assert_eq!(a["description"], "a dot");
    assert_eq!(a["content_type"], "image/png");
    assert_eq!(
        (a["width"].as_u64(), a["height"].as_u64()),
        (Some(1), Some(1))
    );
    let stored = fake.view(|v| v.messages_in(GENERAL)[0].attachments.clone());
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].bytes, tiny_png());
    fake.assert_faithful();
}

#[tokio::test]
async fn an_upload_without_a_file_name_or_under_another_name_or_id_is_refused() {
    let fake = FakeDiscord::start().await;
    let plain = json!({"content": "x"});
    let (status, body) = upload(&fake, &plain, vec![("files[0]", None, tiny_png())]).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (400, Some(50035)),
        "no file name: {body}"
    );
    let (status, body) = upload(&fake, &plain, vec![("file", Some("a.png"), tiny_png())]).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (400, Some(50035)),
        "not files[n]: {body}"
    );
    let unknown = json!({"content": "x", "attachments": [{"id": 5, "filename": "a.png"}]});
    let (status, body) = upload(
        &fake,
        &unknown,
        vec![("files[0]", Some("a.png"), tiny_png())],
    )
    .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (400, Some(50035)),
        "no files[5]: {body}"
    );
    let long = json!({"content": "x",
        "attachments": [{"id": 0, "filename": "a.png", "description": "d".repeat(1025)}]});
    let (status, _) = upload(&fake, &long, vec![("files[0]", Some("a.png"), tiny_png())]).await;
    assert_eq!(status, 400, "a description over 1,024 characters");
    assert_eq!(
        fake.view(|v| v.messages_in(GENERAL).len()),
        0,
        "nothing was posted"
    );
}
