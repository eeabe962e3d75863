//! The outbox: nothing said is lost when the transport fails.

use std::time::Duration;

use licensebot::chat::ChatError;

use super::harness::{captured, Harness};

#[tokio::test]
async fn a_transient_chat_failure_is_retried_and_nothing_is_lost() {
    let h = Harness::linked(&["alice"]).await;
    h.chat.failures.lock().unwrap().extend([
        ChatError::Transient("429".into()),
        ChatError::Transient("502".into()),
    ]);
    h.say("alice", "!pro request").await;
    // Nothing got out yet; the approval message waits in the outbox.
    h.assert_not_said("Request #1");
    assert!(
        h.scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .await
            >= 4
    );
    h.advance(Duration::from_secs(1));
    h.engine.deliver().await;
    h.advance(Duration::from_secs(2));
    h.engine.deliver().await;
    let m = h.approval("Request #1");
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
            .await,
        0
    );
    // The reactions were added to the approval message once it existed.
    assert!(h
        .said()
        .iter()
        .any(|s| matches!(s, super::harness::Said::React { id, .. } if *id == m)));
}

#[tokio::test]
async fn closed_dms_to_an_approver_fall_back_to_the_approvals_channel() {
    let h = Harness::asked_by("alice").await;
    h.chat.dm_closed.lock().unwrap().push("mallory".into());
    h.approve("mallory", "Request #1").await;
    h.assert_said("@mallory Only approvers can decide");
}

#[tokio::test]
async fn the_audit_chain_of_a_whole_lifecycle_is_intact_and_complete() {
    let h = Harness::linked(&["judy", "alice"]).await;
    h.judy_needs_a_seat_bought(1, "dave").await;
    let mut conn = h.store.pool().acquire().await.unwrap();
    let check = licensebot::store::audit::verify_chain(&mut conn)
        .await
        .unwrap();
    assert!(check.intact(), "{check:?}");
    let events = licensebot::store::audit::for_request(&mut conn, licensebot::domain::RequestId(2))
        .await
        .unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "request_created",
        "stage_approved",
        "job_queued",
        "job_started",
        "stage_completed",
        "request_state",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    assert!(events.iter().all(|e| !e.actor.is_empty()));
    let completed = events
        .iter()
        .find(|e| e.after.as_deref() == Some("completed") && e.action == "request_state")
        .unwrap();
    assert_eq!(completed.before.as_deref(), Some("executing"));
}

#[tokio::test]
async fn a_message_retried_after_a_failure_keeps_its_delivery_key() {
    let h = Harness::new(&[]).await;
    h.chat
        .failures
        .lock()
        .unwrap()
        .push_back(ChatError::Transient("connection reset".into()));
    h.say("alice", "!pro help").await;
    h.advance(Duration::from_secs(1));
    h.engine.deliver().await;

    let keys = h.chat.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 2, "one failed attempt and its retry: {keys:?}");
    assert_eq!(
        keys[0], keys[1],
        "the retry is recognisable as the same message"
    );
    assert!(
        keys[0].len() <= licensebot::chat::MAX_DELIVERY_KEY,
        "{keys:?}"
    );
}

#[tokio::test]
async fn every_message_has_its_own_delivery_key_and_databases_do_not_share_them() {
    let a = Harness::new(&[]).await;
    let b = Harness::new(&[]).await;
    for h in [&a, &b] {
        h.say("alice", "!pro help").await;
        h.say("alice", "!pro status").await;
    }

    let keys_a = a.chat.keys.lock().unwrap().clone();
    let keys_b = b.chat.keys.lock().unwrap().clone();
    assert_eq!(keys_a.len(), 2, "{keys_a:?}");
    assert_ne!(keys_a[0], keys_a[1]);
    assert!(
        keys_a.iter().all(|k| !keys_b.contains(k)),
        "{keys_a:?} {keys_b:?}"
    );
}

#[tokio::test]
async fn a_request_from_asking_to_told_done_takes_six_commits() {
    let h = Harness::new(&[]).await;
    h.link("alice", "alice@contoso.example").await;
    h.engine.deliver().await;
    let before = h.store.commits();

    h.say("alice", "!pro request").await;
    h.react("carol", &h.approval("Request #1"), "✅").await;
    h.engine.run_due_jobs().await;
    h.engine.deliver().await;

    assert_eq!(h.state(1).await, "completed");
    h.assert_told("alice", "Request #1");
    // The request with its answer; its page of messages; the decision with the reaction
    // recorded and the job claimed; its page; the outcome; its page.
    assert_eq!(h.store.commits() - before, 6);
}

#[tokio::test]
async fn a_page_marks_each_action_with_the_message_it_made_and_forgets_dm_texts() {
    use super::harness::Said;
    use sqlx::Row;

    let h = Harness::alice_holds_pro().await;
    let rows = sqlx::query(
        "SELECT action, delivered_id, content FROM outbox WHERE delivered_at IS NOT NULL ORDER BY id",
    )
    .fetch_all(h.store.pool())
    .await
    .unwrap();
    let said = h.said();
    let made = |id: &str| {
        said.iter().find_map(|s| match s {
            Said::Send { id: i, content, .. } if i == id => Some(("send", content.clone())),
            Said::Dm { id: i, .. } if i == id => Some(("dm", String::new())),
            _ => None,
        })
    };
    let (mut sends, mut dms) = (0, 0);
    for row in &rows {
        let action: String = row.get("action");
        let delivered: Option<String> = row.get("delivered_id");
        let content: Option<String> = row.get("content");
        match action.as_str() {
            "send" | "dm" => {
                let id = delivered.expect("a post keeps the message it made");
                let (kind, text) = made(&id).unwrap_or_else(|| panic!("{id} was never made"));
                assert_eq!(kind, action, "{id}");
                // A post keeps its text; a DM's text is forgotten once delivered.
                assert_eq!(content.unwrap_or_default(), text, "{id}");
                if kind == "send" {
                    sends += 1;
                } else {
                    dms += 1;
                }
            }
            _ => assert_eq!(delivered, None, "{action} makes no message"),
        }
    }
    assert_eq!(
        rows.len(),
        h.scalar("SELECT COUNT(*) FROM outbox").await as usize,
        "every action was delivered"
    );
    assert!(sends >= 3 && dms >= 1, "sends {sends}, dms {dms}");
}

/// Actions a transaction holds back go together in one call: on PostgreSQL as one simple
/// query with their values written in as literals. Text that would end a literal or a
/// statement there (quotes, backslashes, placeholders, comment marks, semicolons, a
/// dollar quote), or that is not ASCII, is queued exactly as given and in its order, on
/// either database (the PostgreSQL half of `tests/run.sh` runs this on PostgreSQL). A
/// direct message's words (which may hold a one-time link) never stand in a statement's
/// text, so sqlx's statement log never shows them (checked on PostgreSQL, where the log is
/// made on the caller's thread).
#[tokio::test(flavor = "current_thread")]
async fn actions_held_back_together_keep_every_character_and_their_order() {
    use licensebot::domain::{ChannelRef, ChatUserId};
    use licensebot::store::outbox::{self, ChatAction};
    use licensebot::store::Dialect;
    let h = Harness::new(&[]).await;
    let texts = [
        "it's",
        "'",
        "''; DELETE FROM outbox; --",
        r"back\slash \' \\ E'x'",
        "what? $1 ?1 ?? -- not a comment /* nor this */",
        "$$ dollar $$ $tag$ quoted $tag$",
        "line one\nline two\ttab\r",
        "ünïcødé ✅ 🎉 日本語",
        "",
    ];
    let channel = ChannelRef("held-back".into());
    let posts: Vec<ChatAction> = texts
        .iter()
        .map(|t| ChatAction::Send {
            channel: channel.clone(),
            content: format!("public words {t}"),
            reply_to: None,
            stage: None,
            mentions: vec![ChatUserId(format!("o'{t}"))],
        })
        .collect();
    let secret = "one-time-link-Zq8xV3";
    let dms: Vec<ChatAction> = texts
        .iter()
        .map(|t| ChatAction::Dm {
            user: ChatUserId(format!("user {t}")),
            content: format!("{secret} {t}"),
            fallback: Some(channel.clone()),
            fallback_reply_to: None,
        })
        .collect();
    let at = chrono::Utc::now();
    let log = {
        let (log, _logged) = captured("sqlx::query=debug");
        let mut w = h.store.write().await.expect("write");
        for post in &posts[..4] {
            outbox::push(&mut w, post, at).expect("a post");
        }
        outbox::push_all(&mut w, &dms, at).expect("the direct messages");
        outbox::push_all(&mut w, &posts[4..], at).expect("the other posts");
        w.commit().await.expect("commit");
        log
    };
    let mut conn = h.store.read().await.expect("read");
    let due = outbox::due(&mut conn, at + chrono::Duration::days(1), 0, 1000)
        .await
        .expect("due");
    let queued: Vec<ChatAction> = due
        .into_iter()
        .map(|p| p.action)
        .filter(|a| match a {
            ChatAction::Send { channel: c, .. } => *c == channel,
            ChatAction::Dm { fallback, .. } => fallback.as_ref() == Some(&channel),
            _ => false,
        })
        .collect();
    let expected: Vec<ChatAction> = [&posts[..4], &dms[..], &posts[4..]].concat();
    assert_eq!(queued, expected);
    // sqlx logs a SQLite statement on its connection's own thread, out of this test's
    // subscriber; there every value is bound, never in a statement's text.
    if h.store.dialect() == Dialect::Postgres {
        let log = log.text();
        assert!(
            log.contains("INSERT INTO outbox"),
            "the statements were logged: {log}"
        );
        assert!(
            !log.contains(secret),
            "a direct message's words were logged: {log}"
        );
        // The posts went as literals: this test ran the literal path.
        assert!(log.contains("public words it''s"), "{log}");
    }
}
