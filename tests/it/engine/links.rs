//! Verified identity links: a chat account acts for a directory account only after proving
//! it owns it (a code mailed to the account's mailbox, or an approver's attestation), and
//! every attack on the proof fails with a clear answer and no state change.

use std::time::Duration;

use crate::support::bot::{assert_says, code_in, mailed_code, mails};

use super::harness::{Harness, Said};

/// A code that is not the one mailed (the mailed one never starts with all of these).
fn wrong(code: &str) -> String {
    let first = code.as_bytes()[0];
    let other = if first == b'9' { '1' } else { '9' };
    format!("{other}{}", &code[1..])
}

/// A fresh engine where alice asked to link her own account, not proven yet: the harness and
/// the code mailed to her.
async fn alice_pending() -> (Harness, String) {
    let h = Harness::new(&[]).await;
    h.link_pending("alice", "alice@contoso.example").await;
    let code = mailed_code(h.dir(), "alice@contoso.example");
    (h, code)
}

async fn link_state(h: &Harness, who: &str) -> String {
    let row: Option<String> = sqlx::query_scalar(
        "SELECT state || ':' || COALESCE(method, '-') || ':' || locked FROM links WHERE chat_user = $1",
    )
    .bind(who)
    .fetch_optional(h.store.pool())
    .await
    .unwrap();
    row.unwrap_or_else(|| "none".into())
}

#[tokio::test]
async fn a_pending_link_acts_for_nothing_and_says_how_to_finish() {
    let h = Harness::new(&[]).await;
    h.link_pending("mallory", "ivan@contoso.example").await;

    for command in ["!pro request", "!pro release"] {
        h.say("mallory", command).await;
    }
    h.say("carol", "!pro request for @mallory").await;
    h.say("carol", "!pro assign @mallory").await;

    assert_eq!(h.requests().await, 0);
    let text = h.text();
    assert_eq!(
        text.matches("Your link to ivan@contoso.example is not proven yet")
            .count(),
        2,
        "{text}"
    );
    assert!(text.contains("!pro verify CODE"), "{text}");
    assert_eq!(
        text.matches("@mallory has not verified a link").count(),
        2,
        "{text}"
    );
    assert_eq!(link_state(&h, "mallory").await, "pending:-:0");
    assert_eq!(
        h.audits("link_refused").await,
        2,
        "the refused request and release are audited"
    );
}

#[tokio::test]
async fn the_code_goes_to_the_accounts_own_mailbox_naming_who_asked_and_nowhere_else() {
    let h = Harness::new(&[]).await;

    h.say("mallory", "!pro link ivan@contoso.example").await;

    let sent = mails(h.dir());
    assert_eq!(sent.len(), 1);
    let mail = &sent[0];
    assert_eq!(mail["to"], "ivan@contoso.example");
    assert_eq!(mail["from"], "licensebot@contoso.example");
    let body = mail["body"].as_str().unwrap();
    assert_says(
        body,
        &[
            "The chat account mallory (mallory)",
            "If it was not you, ignore this mail",
        ],
    );
    let code = code_in(body);
    assert!(!h.text().contains(&code), "the code is never said in chat");
    let audit: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_events")
        .fetch_all(h.store.pool())
        .await
        .unwrap();
    assert!(audit.iter().all(|d| !d.contains(&code)), "{audit:#?}");
    let stored: String = sqlx::query_scalar("SELECT code_hash FROM links")
        .fetch_one(h.store.pool())
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(&code));
}

#[tokio::test]
async fn the_right_code_in_a_dm_verifies_and_the_approver_sees_how() {
    let h = Harness::asked_by("alice").await;

    assert_eq!(link_state(&h, "alice").await, "verified:mail_code:0");
    let approval = h.sent_text("Request #1, stage 1");
    assert!(
        approval.contains(
            "Asked by: @alice, linked to alice@contoso.example, verified by mailed code on 2026-03-02"
        ),
        "{approval}"
    );
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM requests WHERE requester_link_method = 'mail_code'")
            .await,
        1
    );
}

#[tokio::test]
async fn wrong_codes_count_down_and_the_fifth_locks_the_link() {
    let (h, code) = alice_pending().await;

    for _ in 0..4 {
        h.dm_bot("alice", &format!("!pro verify {}", wrong(&code)))
            .await;
    }
    h.assert_said("1 tries left");
    h.dm_bot("alice", &format!("!pro verify {}", wrong(&code)))
        .await;
    h.dm_bot("alice", &format!("!pro verify {code}")).await;

    assert_eq!(link_state(&h, "alice").await, "pending:-:1");
    h.assert_said("is locked after too many wrong codes");
    // The right code after the lock does nothing.
    h.assert_not_said("Verified");
    assert_eq!(h.audits("proof_failed").await, 5);
    // A new link starts over.
    h.link_own("alice").await;
    assert_eq!(link_state(&h, "alice").await, "verified:mail_code:0");
}

#[tokio::test]
async fn tries_made_at_once_cannot_get_past_the_lock() {
    let (h, code) = alice_pending().await;
    let bad = wrong(&code);

    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let h = &h;
            let text = format!("!pro verify {bad}");
            async move { h.dm_bot("alice", &text).await }
        })
        .collect();
    futures_util::future::join_all(attempts).await;

    assert_eq!(
        h.scalar("SELECT code_tries FROM links WHERE chat_user = 'alice'")
            .await,
        5,
        "tries beyond the fifth are refused before the code is checked"
    );
    assert_eq!(link_state(&h, "alice").await, "pending:-:1");
}

#[tokio::test]
async fn an_expired_code_is_refused_and_burnt() {
    let (h, code) = alice_pending().await;

    h.advance(Duration::from_secs(15 * 60 + 1));
    h.dm_bot("alice", &format!("!pro verify {code}")).await;

    h.assert_said("That code has expired");
    assert_eq!(link_state(&h, "alice").await, "pending:-:0");
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM links WHERE code_hash IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn a_used_code_does_not_work_twice() {
    let h = Harness::linked(&["alice"]).await;
    let code = mailed_code(h.dir(), "alice@contoso.example");

    h.dm_bot("alice", &format!("!pro verify {code}")).await;

    h.assert_said("You have no link waiting for a code");
}

#[tokio::test]
async fn a_code_typed_in_a_channel_is_burnt_and_deleted() {
    let (h, code) = alice_pending().await;

    let typed = h.say("alice", &format!("!pro verify {code}")).await;
    h.dm_bot("alice", &format!("!pro verify {code}")).await;

    assert!(
        h.said()
            .iter()
            .any(|s| matches!(s, Said::Delete { id } if id == &typed)),
        "{:#?}",
        h.said()
    );
    h.assert_said("Never type a code where others can read it");
    h.assert_not_said("Verified");
    assert_eq!(link_state(&h, "alice").await, "pending:-:0");
}

#[tokio::test]
async fn a_code_proves_only_the_link_it_was_mailed_for() {
    let h = Harness::new(&[]).await;
    // Mallory asks for ivan's account; ivan's own code comes to ivan; mallory uses it.
    h.link_pending("mallory", "ivan@contoso.example").await;
    h.link_pending("ivan", "ivan@contoso.example").await;
    let ivans = mailed_code(h.dir(), "ivan@contoso.example");

    h.dm_bot("mallory", &format!("!pro verify {ivans}")).await;

    assert_eq!(link_state(&h, "mallory").await, "pending:-:0");
    h.assert_said("That is not the code");
    h.dm_bot("ivan", &format!("!pro verify {ivans}")).await;
    assert_eq!(link_state(&h, "ivan").await, "verified:mail_code:0");
}

#[tokio::test]
async fn three_mails_an_hour_per_chat_account_and_per_directory_account() {
    let h = Harness::new(&[]).await;
    for _ in 0..3 {
        h.link_pending("alice", "alice@contoso.example").await;
    }
    h.link_pending("alice", "alice@contoso.example").await;
    h.assert_said("Too many codes");
    assert_eq!(mails(h.dir()).len(), 3);
    // Someone else cannot bomb alice's mailbox either.
    h.link_pending("mallory", "alice@contoso.example").await;
    assert_eq!(mails(h.dir()).len(), 3);

    h.advance(Duration::from_secs(3601));
    h.link_own("alice").await;
    assert_eq!(mails(h.dir()).len(), 4);
}

#[tokio::test]
async fn links_to_disabled_guest_unknown_or_approver_accounts_are_refused() {
    let h = Harness::new(&[]).await;
    for (upn, answer) in [
        ("heidi@contoso.example", "is disabled"),
        (
            "grace_fabrikam.example#EXT#@contoso.example",
            "is a guest account",
        ),
        ("nobody@contoso.example", "can't find"),
        ("dave@contoso.example", "by the bot's configuration"),
    ] {
        h.clear();
        h.link_pending("mallory", upn).await;
        assert!(h.text().contains(answer), "{upn}: {}", h.text());
    }
    assert_eq!(h.scalar("SELECT COUNT(*) FROM links").await, 0);
    assert!(mails(h.dir()).is_empty());
}

#[tokio::test]
async fn an_approver_with_an_assign_role_attests_a_link_and_the_person_is_told() {
    let h = Harness::new(&[]).await;

    h.say("bob", "!pro link @alice alice@contoso.example").await;
    h.say("mallory", "!pro link @alice alice@contoso.example")
        .await;
    assert_eq!(link_state(&h, "alice").await, "none");
    h.say("carol", "!pro link @alice alice@contoso.example")
        .await;

    let text = h.text();
    assert_says(
        &text,
        &[
            "Confirming someone's link needs one of these roles",
            "Only approvers can confirm someone else's link",
        ],
    );
    assert_eq!(link_state(&h, "alice").await, "verified:admin:0");
    h.assert_told(
        "alice",
        "@carol confirmed that your chat account acts for alice@contoso.example",
    );
    h.say("alice", "!pro request").await;
    h.assert_said("verified by @carol on 2026-03-02");
    assert_eq!(h.audits("link_attested").await, 1);
}

#[tokio::test]
async fn proving_an_account_from_a_new_chat_account_moves_it_and_tells_the_old_one() {
    let h = Harness::linked(&["alice"]).await;

    h.link("alice2", "alice@contoso.example").await;

    assert_eq!(link_state(&h, "alice").await, "none");
    assert_eq!(link_state(&h, "alice2").await, "verified:mail_code:0");
    h.assert_told("alice", "no longer acts for alice@contoso.example");
    assert_eq!(h.audits("link_moved").await, 1);
}

/// An approver may not decide for their own directory account, checked by object id: here
/// judy's request names an account the directory knows as carol's.
#[tokio::test]
async fn an_approver_cannot_decide_for_their_own_directory_account_under_another_name() {
    let h = Harness::asked_by("judy").await;
    let carol_id = licensebot::store::simulated::object_id(
        &licensebot::domain::Upn::parse("carol@contoso.example").unwrap(),
    );
    h.exec(&format!(
        "UPDATE requests SET target_object_id = '{carol_id}' WHERE id = 1"
    ))
    .await;

    h.approve("carol", "Request #1").await;

    assert_eq!(h.state(1).await, "pending");
    h.assert_said("it is yours, or it is for you");
}

#[tokio::test]
async fn only_the_configured_requesters_may_ask() {
    let h = Harness::new(&[("LICENSEBOT__POLICY__REQUESTERS", "[\"alice\"]")]).await;
    h.link_own("alice").await;
    h.asks("judy").await;
    h.say("alice", "!pro request").await;

    h.assert_said("You are not among the people who may ask");
    assert_eq!(h.requests().await, 1);
}

/// Links made before links were verified are pending: their owner hears it once, at the
/// next command, and cannot act until verified.
#[tokio::test]
async fn a_link_made_before_verification_existed_is_pending_and_its_owner_told_once() {
    let h = Harness::new(&[]).await;
    h.exec(
        "INSERT INTO links (chat_user, upn, linked_at) VALUES ('alice', 'alice@contoso.example', '2026-01-01T00:00:00.000Z')",
    )
    .await;

    h.say("alice", "!pro status").await;
    h.say("alice", "!pro request").await;

    let text = h.text();
    assert_eq!(
        text.matches("Links must now be proven").count(),
        1,
        "{text}"
    );
    assert!(text.contains("is not proven yet"), "{text}");
    assert_eq!(h.requests().await, 0);
}

/// `!pro status` says, to a person whose link is proven, the licence they have now and where
/// it comes from: none yet, assigned directly once the request is done, or with another
/// licence (E5). An unproven chat account hears only its requests.
#[tokio::test]
async fn status_says_the_licence_a_linked_person_has_and_where_it_comes_from() {
    let h = Harness::linked(&["alice", "frank"]).await;

    h.say("alice", "!pro status").await;
    h.assert_said("You have no Power BI Pro licence now.");
    h.say("alice", "!pro request").await;
    h.approve("carol", "Request #1").await;
    h.engine.settle().await;
    h.clear();
    h.say("alice", "!pro status").await;
    h.assert_said("Your POWER_BI_PRO licence: assigned to you directly.");
    h.assert_said("Your recent requests:");
    h.say("frank", "!pro status").await;
    h.assert_said("You have Power BI Pro through SPE_E5.");
    h.clear();
    h.say("mallory", "!pro status").await;
    h.assert_not_said("licence");
    h.assert_said("You have no requests yet.");
}
