//! What people are told, and how: a seat left paid after a denial, a licence taken away, a
//! holder's own release, text someone typed shown as theirs, seat figures, links undone,
//! help with an example.

use licensebot::domain::ChatUserId;

use crate::support::bot::assert_says;

use super::harness::Harness;

/// No free seat: judy's request buys one (approved by bob, billing), then carol denies the
/// assignment. The seat stays paid; the requester and the approvers are told, with how to
/// remove it.
#[tokio::test]
async fn a_seat_bought_for_a_denied_request_is_said_to_stay_free_and_removable() {
    let h = Harness::linked(&["alice", "judy"]).await;
    h.judy_needs_a_seat_bought(1, "bob").await;
    assert_eq!(h.pro_seats().await, 2, "the seat was bought");
    let assignment = h.approval("Request #2, stage 2");
    h.clear();

    h.react_and_settle("carol", &assignment, "❌").await;

    assert_eq!(h.state(2).await, "denied");
    let told = h.dms("judy").join("\n");
    assert!(
        told.contains("the seat bought for it stays paid and free for the next request")
            && told.contains("!pro seats remove 1"),
        "{told}"
    );
    let posts = h.posts_in("license-approvals").join("\n");
    assert!(
        posts.contains("💺 @bob: request #2 is denied, but a seat was bought for it")
            && posts.contains("!pro seats remove 1"),
        "{posts}"
    );
    assert_eq!(h.audits("seat_left_free").await, 1);
}

/// The same seat note when the request is cancelled after its purchase went through; and
/// none when nothing was bought for it.
#[tokio::test]
async fn a_cancel_after_the_purchase_says_so_and_a_plain_cancel_does_not() {
    let h = Harness::asked_by("alice").await;
    h.say_and_settle("alice", "!pro cancel 1").await;
    h.assert_not_said("stays paid");

    h.link_own("judy").await;
    h.judy_needs_a_seat_bought(2, "bob").await;
    h.say_and_settle("judy", "!pro cancel 3").await;

    assert_eq!(h.state(3).await, "cancelled");
    assert!(
        h.dms("judy").join("\n").contains("stays paid and free"),
        "{:#?}",
        h.dms("judy")
    );
}

/// A licence revoked by an approver: its holder (linked) hears who took it and why.
#[tokio::test]
async fn the_holder_of_a_revoked_licence_is_told_who_and_why() {
    let h = Harness::alice_holds_pro().await;
    h.clear();

    h.say_and_settle("carol", "!pro revoke @alice left the finance team")
        .await;

    assert_eq!(h.state(2).await, "completed", "{}", h.text());
    let told = h.dms("alice").join("\n");
    assert!(
        told.contains("Your Power BI Pro licence (alice@contoso.example) was taken away by @carol")
            && told.contains("Reason: `left the finance team`"),
        "{told}"
    );
    assert!(h.dms("carol").iter().all(|d| !d.contains("was taken away")));
}

/// Without a reason, the holder is told that none was given.
#[tokio::test]
async fn a_revocation_without_a_reason_says_none_was_given() {
    let h = Harness::alice_holds_pro().await;

    h.say_and_settle("carol", "!pro revoke alice@contoso.example")
        .await;

    let told = h.dms("alice").join("\n");
    assert!(
        told.contains("taken away by @carol") && told.contains("Reason: no reason given"),
        "{told}"
    );
}

/// A holder giving their own licence back is not an approval and does not read as one.
#[tokio::test]
async fn a_release_reads_as_the_holders_own_never_as_an_approval() {
    let h = Harness::alice_holds_pro().await;
    h.clear();

    h.say_and_settle("alice", "!pro release").await;
    h.say("alice", "!pro status 2").await;

    assert_eq!(h.state(2).await, "completed");
    let text = h.text();
    assert!(!text.contains("Approved by"), "{text}");
    assert_says(
        &text,
        &[
            "🔓 Released by @alice, their own licence (no approval needed)",
            "(released by @alice, their own licence; no approval needed)",
        ],
    );
    assert!(h.dms("alice").iter().all(|d| !d.contains("taken away")));
    assert_eq!(
        h.scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'stage_approved' AND request_id = 2"
        )
        .await,
        0
    );
    assert_eq!(h.audits("released_by_holder").await, 1);
}

/// A reason that imitates the bot's own lines stays visibly the requester's words: one line
/// of inline code, after "Reason:"; the message's own lines are untouched.
#[tokio::test]
async fn a_reason_cannot_forge_the_approval_message() {
    let h = Harness::linked(&["alice"]).await;

    h.say(
        "alice",
        "!pro request because\n✅ Approved by @dave. Seats: 9 free of 9\u{2800}\u{2800}\u{3164}\n```",
    )
    .await;

    let approval = h.sent_text("Request #1");
    let lines: Vec<&str> = approval.lines().collect();
    assert!(
        lines.contains(&"Reason: `because ✅ Approved by @dave. Seats: 9 free of 9 ˋˋˋ`"),
        "{approval}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("✅ Approved by")),
        "{approval}"
    );
    assert_eq!(approval.matches("Seats: ").count(), 2, "{approval}");
}

/// Posts may ping only the people the engine names: the approval message its deciders, a
/// reply to the requester the requester; a mention typed into a reason pings nobody.
#[tokio::test]
async fn posts_may_ping_only_the_people_the_bot_names() {
    let h = Harness::linked(&["alice"]).await;

    h.say_and_settle("alice", "!pro request ping @bob and <@123> and @everyone")
        .await;

    let posts = h.chat.mentions.lock().unwrap().clone();
    let (_, approval_pings) = posts
        .iter()
        .find(|(c, _)| c.contains("Request #1, stage 1"))
        .expect("the approval message");
    assert_eq!(
        approval_pings,
        &vec![ChatUserId::new("carol"), ChatUserId::new("dave")]
    );
    for (content, pings) in &posts {
        assert!(
            !pings.contains(&ChatUserId::new("bob"))
                && !pings.contains(&ChatUserId::new("123"))
                && !pings.contains(&ChatUserId::new("everyone")),
            "{content}: {pings:?}"
        );
    }
}

/// The approval for a purchase says why one is needed: the free seat is promised.
#[tokio::test]
async fn the_approval_shows_free_promised_on_order_and_awaiting_seats_apart() {
    let h = Harness::linked(&["alice", "judy", "kim"]).await;
    h.say("alice", "!pro request").await;
    h.say("judy", "!pro request").await;
    h.say("kim", "!pro request").await;
    h.say("bob", "!pro seats").await;

    // Judy's purchase.
    h.assert_said(
        "Seats: 1 free of 1; promised to open requests: 1; on order (approved, being bought): 0; awaiting approval: 0",
    );
    // Kim waits on judy's purchase.
    h.assert_said(
        "Seats: 1 free of 1; promised to open requests: 2; on order (approved, being bought): 0; awaiting approval: 1",
    );
    h.assert_said(
        "Promised to open requests: 3; on order (approved, being bought): 0 seats; awaiting approval: 2 seats",
    );
}

/// A person undoes their own link; requests made before keep working.
#[tokio::test]
async fn a_person_undoes_their_own_link() {
    let h = Harness::linked(&["alice"]).await;

    h.say("alice", "!pro unlink").await;
    h.say("alice", "!pro request").await;

    h.assert_said("Your chat account is no longer linked to alice@contoso.example");
    h.assert_said("First link your chat account");
    assert_eq!(h.scalar("SELECT COUNT(*) FROM links").await, 0);
    assert_eq!(
        h.scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'unlinked' AND actor = 'chat:alice'"
        )
        .await,
        1
    );
}

/// An approver undoes a wrong link (here one an approver attested by mistake, by UPN); its
/// owner can then prove their own, and the person unlinked is told.
#[tokio::test]
async fn an_approver_undoes_someone_elses_link_and_they_are_told() {
    let h = Harness::new(&[]).await;
    h.say("carol", "!pro link @mallory ivan@contoso.example")
        .await;

    h.say("carol", "!pro unlink ivan@contoso.example").await;
    h.link_own("ivan").await;

    h.assert_told(
        "mallory",
        "@carol undid the link between your chat account and ivan@contoso.example",
    );
    h.assert_said("Unlinked @mallory from ivan@contoso.example");
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM links WHERE chat_user = 'ivan' AND upn = 'ivan@contoso.example' AND state = 'verified'")
            .await,
        1
    );
    assert_eq!(
        h.scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'unlinked' AND actor = 'chat:carol'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn help_on_one_command_shows_it_with_an_example_and_the_list_says_so() {
    let h = Harness::new(&[]).await;

    h.say_and_deliver("alice", "!pro help request").await;
    let one = h.sent_text("Example:");
    h.say_and_deliver("alice", "!pro help").await;
    let list = h.sent_text("Commands:");

    assert!(one.starts_with("`!pro request ["), "{one}");
    assert!(
        one.ends_with("Example: `!pro request for 30d I build the monthly sales report`"),
        "{one}"
    );
    assert!(
        list.ends_with("`!pro help <command>` shows one command with an example."),
        "{list}"
    );
    assert!(
        !list.contains("Example:"),
        "the list stays one line a command: {list}"
    );
}

#[tokio::test]
async fn a_dutch_bot_gives_its_examples_in_dutch() {
    let h = Harness::new(&[("LICENSEBOT__BOT__LANGUAGE", "nl")]).await;

    h.say_and_deliver("alice", "!pro help revoke").await;
    let one = h.sent_text("Voorbeeld:");

    assert!(
        one.ends_with("Voorbeeld: `!pro revoke alice@contoso.com is naar een ander team gegaan`"),
        "{one}"
    );
}

/// A requester who chose Dutch is told in Dutch when their request is approved and when it
/// is done (what telling them needs is read with the request as it moves on).
#[tokio::test]
async fn the_requester_is_told_of_approval_and_completion_in_their_language() {
    let h = Harness::linked(&["alice"]).await;
    h.answer_says("alice", "!pro language nl", "Vanaf nu").await;
    h.say("alice", "!pro request").await;
    h.approve("carol", "Request #1").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed");
    let alice = h.dms("alice").join("\n");
    assert!(
        alice.contains("Aanvraag #1 (")
            && alice.contains("is goedgekeurd; ik voer hem uit.")
            && alice.contains("Aanvraag #1 is klaar:"),
        "{alice}"
    );
}
