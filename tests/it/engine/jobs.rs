//! The job worker: retries, backoff, permanent failures, role re-checks, idempotent purchases.

use std::sync::atomic::Ordering;
use std::time::Duration;

use licensebot::backend::Tenant;
use licensebot::engine::clock::Clock;
use licensebot::engine::JobReport;

use crate::support::bot::assert_says;

use super::harness::Harness;

#[tokio::test]
async fn transient_errors_are_retried_with_growing_backoff_then_succeed() {
    let h = Harness::asked_by("alice").await;
    h.tenant.assign_failures.store(2, Ordering::SeqCst);
    h.approve("carol", "Request #1").await;

    // Attempt 1 fails; the next attempt is due 0.5–1 × backoff_base (1 s) later.
    h.assert_next_job_retries().await;
    assert_eq!(h.next_job().await, None, "not due yet");
    h.advance(Duration::from_millis(1000));
    // Attempt 2 fails; the delay doubles (1–2 s).
    h.assert_next_job_retries().await;
    h.advance(Duration::from_millis(900));
    assert_eq!(h.next_job().await, None, "backoff doubled");
    h.advance(Duration::from_millis(1100));
    assert_eq!(h.next_job().await, Some(JobReport::Succeeded));
    assert_eq!(h.state(1).await, "completed");
    assert_eq!(h.assign_calls(), 3);
    assert_eq!(h.scalar("SELECT attempts FROM jobs").await, 3);
    assert_eq!(h.audits("job_retry_scheduled").await, 2);
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM backend_calls WHERE operation = 'assign_licence' AND backend_ref IS NOT NULL").await,
        2,
        "the backend's request id of each failed call is kept"
    );
}

#[tokio::test]
async fn when_retries_run_out_the_request_fails_and_requester_and_approver_are_told() {
    let h = Harness::asked_by("alice").await;
    h.tenant.assign_failures.store(100, Ordering::SeqCst);
    h.approve("carol", "Request #1").await;
    for _ in 0..3 {
        h.advance(Duration::from_secs(60));
        h.engine.run_due_jobs().await;
    }
    h.engine.deliver().await;
    assert_eq!(h.state(1).await, "failed");
    assert_eq!(h.assign_calls(), 3, "max_attempts = 3");
    h.assert_told("alice", "gave up after 3 attempts");
    h.assert_told("carol", "that you approved failed");
}

#[tokio::test]
async fn an_approver_who_lost_the_role_before_execution_does_not_get_the_work_done() {
    let h = Harness::asked_by("alice").await;
    h.approve("carol", "Request #1").await;
    // Between the decision and the job, Carol's License Administrator role is removed.
    h.tenant_exec("UPDATE users SET roles = '[]' WHERE upn = 'carol@contoso.example'")
        .await;
    assert!(matches!(h.next_job().await, Some(JobReport::Failed(_))));
    h.engine.deliver().await;
    assert_eq!(h.state(1).await, "failed");
    assert_eq!(h.assign_calls(), 0, "nothing was assigned");
    h.assert_said("no longer holds one of the roles");
}

#[tokio::test]
async fn purchase_targets_are_absolute_so_a_replayed_job_buys_nothing_more() {
    let h = Harness::new(&[]).await;
    h.say("bob", "!pro buy 2 annual").await;
    h.say_and_deliver("bob", "!pro buy 3").await;
    // bob holds the purchase role: both orders are approved by the commands, targets 1+2, 3+3.
    let targets: Vec<String> = sqlx::query_scalar("SELECT payload FROM jobs ORDER BY id")
        .fetch_all(h.store.pool())
        .await
        .unwrap();
    assert!(targets[0].contains("\"target_seats\":3"), "{targets:?}");
    assert!(targets[1].contains("\"target_seats\":6"), "{targets:?}");
    assert_eq!(h.engine.run_due_jobs().await, 2);
    assert_eq!(h.pro_seats().await, 6);

    // A crash after the purchase but before the outcome was stored: the job runs again.
    h.exec("UPDATE jobs SET state = 'queued' WHERE id = 2")
        .await;
    h.exec("UPDATE stages SET state = 'approved' WHERE id = 2")
        .await;
    assert_eq!(h.next_job().await, Some(JobReport::Succeeded));
    assert_eq!(h.pro_seats().await, 6);
    assert_eq!(
        h.tenant_scalar("SELECT COUNT(*) FROM purchases WHERE to_seats > from_seats")
            .await,
        2
    );
    assert!(
        h.text().contains("per year"),
        "the annual order shows a yearly cost: {}",
        h.text()
    );
}

#[tokio::test]
async fn an_assignment_job_checks_first_whether_the_licence_is_already_held() {
    let h = Harness::new(&[]).await;
    h.alice_approved_by_carol().await;
    // Someone assigned it by hand in the admin center meanwhile.
    h.tenant_exec("INSERT INTO assignments (upn, sku_part_number, assigned_at) VALUES ('alice@contoso.example', 'POWER_BI_PRO', 'x')").await;
    assert_eq!(h.next_job().await, Some(JobReport::Succeeded));
    assert_eq!(h.assign_calls(), 0);
    h.engine.deliver().await;
    h.assert_said("already had Power BI Pro");
}

#[tokio::test]
async fn reminders_escalation_and_expiry_follow_the_clock() {
    let h = Harness::asked_by("alice").await;
    h.clear();
    h.advance_and_settle(Duration::from_secs(4 * 3600 - 1))
        .await;
    assert!(h.said().is_empty(), "{:#?}", h.said());
    h.advance_and_settle(Duration::from_secs(1)).await;
    h.assert_said("Reminder @carol @dave");
    h.engine.settle().await;
    assert_eq!(h.text().matches("Reminder").count(), 1, "one reminder only");
    h.advance_and_settle(Duration::from_secs(20 * 3600)).await;
    h.assert_said("has waited 1day");
    h.advance_and_settle(Duration::from_secs(6 * 24 * 3600))
        .await;
    assert_eq!(h.state(1).await, "expired");
    h.assert_told("alice", "expired after 7days");
}

/// Two processes on one database (a restart while the old one still ticks, the console's
/// `/advance` beside the background loop): every scheduled action is said and audited once.
#[tokio::test]
async fn ticks_at_the_same_time_remind_escalate_and_expire_once() {
    let h = Harness::asked_by("alice").await;
    let other = h.another_engine();
    h.clear();

    for hours in [4, 20, 6 * 24] {
        h.advance(Duration::from_secs(hours * 3600));
        tokio::join!(h.engine.tick(), other.tick(), h.engine.tick(), other.tick());
    }
    h.engine.settle().await;

    for action in ["reminder_sent", "escalated"] {
        let n = h
            .scalar(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
            ))
            .await;
        assert_eq!(n, 1, "{action}");
    }
    assert_eq!(h.text().matches("⏰ Reminder").count(), 1, "{}", h.text());
    assert_eq!(h.text().matches("📣").count(), 1, "{}", h.text());
    assert_eq!(h.state(1).await, "expired");
    let expired_told = h
        .dms("alice")
        .iter()
        .filter(|d| d.contains("expired after"))
        .count();
    assert_eq!(expired_told, 1, "{:#?}", h.dms("alice"));
}

#[tokio::test]
async fn assignments_due_together_run_as_one_batch() {
    let h = Harness::new(&[]).await;
    h.set_pro_seats(10).await;
    h.say("carol", "!pro assign alice@contoso.example judy@contoso.example kim@contoso.example ivan@contoso.example").await;
    // The command approved all four (carol holds the assignment role); one batch runs them.
    let ran = h.engine.run_due_jobs().await;
    assert_eq!(ran, 4);
    assert_eq!(h.tenant.assign_many_calls.load(Ordering::SeqCst), 1);
    for id in 1..=4 {
        assert_eq!(h.state(id).await, "completed");
    }
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM backend_calls WHERE operation = 'assign_licence' AND outcome = 'ok (batch of 4)'").await,
        4
    );
}

/// A fresh engine that checks an assignment `attempts` times (1 ms apart) after making it,
/// on a tenant that shows a change only `lag` reads late; alice asked and carol approved.
async fn approved_with_read_lag(attempts: &str, lag: usize) -> Harness {
    let h = Harness::new(&[
        ("LICENSEBOT__JOBS__VERIFY_ATTEMPTS", attempts),
        ("LICENSEBOT__JOBS__VERIFY_INTERVAL", "1ms"),
    ])
    .await;
    h.alice_approved_by_carol().await;
    h.tenant.read_lag.store(lag, Ordering::SeqCst);
    h
}

#[tokio::test]
async fn an_assignment_not_yet_visible_is_only_verified_later_never_made_twice() {
    let h = approved_with_read_lag("2", 5).await;
    // Attempt 1: assigned, two read-backs do not show it.
    h.assert_next_job_retries().await;
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM jobs WHERE phase = 'verify'")
            .await,
        1
    );
    // Attempt 2: only checks (three more reads), still not visible.
    h.advance(Duration::from_secs(2));
    h.assert_next_job_retries().await;
    // Attempt 3: visible now.
    h.advance(Duration::from_secs(5));
    assert_eq!(h.next_job().await, Some(JobReport::Succeeded));
    assert_eq!(h.assign_calls(), 1, "assigned exactly once");
    assert_eq!(h.state(1).await, "completed");
}

#[tokio::test]
async fn an_assignment_never_seen_fails_as_unverified_and_is_not_reported_done() {
    let h = approved_with_read_lag("1", 100).await;
    for _ in 0..3 {
        h.advance(Duration::from_secs(30));
        h.engine.run_due_jobs().await;
    }
    h.engine.deliver().await;
    assert_eq!(h.state(1).await, "failed");
    assert_eq!(h.assign_calls(), 1);
    h.assert_said("check it in the Microsoft 365 admin center");
    h.assert_not_said("is done");
}

/// The manual purchase's re-check is a job: two processes on one database re-check it at
/// the same moment, and its task and the task's reminder are posted once each.
#[tokio::test]
async fn two_processes_recheck_a_manual_purchase_once() {
    let h = Harness::manual(&[]).await;
    h.alice_approved_by_carol().await;
    h.engine.settle().await;
    h.asks("judy").await;
    h.approve("dave", "Request #2, stage 1").await;
    let other = h.another_engine();

    for _ in 0..3 {
        tokio::join!(h.engine.run_due_jobs(), other.run_due_jobs());
        h.advance(Duration::from_secs(2 * 3600 + 60));
    }
    h.engine.settle().await;

    let text = h.text();
    assert_eq!(
        text.matches("purchase task for request #2").count(),
        1,
        "{text}"
    );
    assert_eq!(
        text.matches("the purchase for request #2 is still open")
            .count(),
        1,
        "{text}"
    );
    assert_eq!(h.audits("purchase_task_reminded").await, 1);
}

#[tokio::test]
async fn a_manual_purchase_becomes_a_task_for_billing_approvers_and_goes_on_when_seats_appear() {
    let h = Harness::manual(&[]).await;
    h.link_own("alice").await;
    h.link_own("judy").await;
    h.judy_needs_a_seat_bought(1, "dave").await;
    let text = h.text();
    assert_says(
        &text,
        &[
            "purchase task for request #2",
            "Billing > Your products > Power BI Pro > Add/remove licenses",
            "!pro purchased 2",
        ],
    );
    assert!(
        text.contains("@bob"),
        "billing approvers are mentioned: {text}"
    );
    assert_eq!(h.state(2).await, "approved");
    // Saying it is bought before it is: the bot checks and says so.
    h.answer_says(
        "bob",
        "!pro purchased 2",
        "don't see the seats of request #2 yet: 1 of 2",
    )
    .await;
    // No spam: re-checks do not repeat the task; after remind_after one reminder.
    h.advance_and_settle(Duration::from_secs(120)).await;
    assert_eq!(h.text().matches("purchase task for request #2").count(), 1);
    h.advance_and_settle(Duration::from_secs(4 * 3600)).await;
    h.assert_said("the purchase for request #2 is still open");
    // The seats are bought in the admin center.
    h.set_pro_seats(2).await;
    h.say_and_settle("bob", "!pro purchased #2").await;
    h.assert_said("2 seats are there; carrying on with request #2");
    assert_eq!(h.state(2).await, "completed", "{}", h.text());
    assert_eq!(
        h.tenant_scalar("SELECT COUNT(*) FROM assignments WHERE sku_part_number = 'POWER_BI_PRO'")
            .await,
        2
    );
}

/// Sets up what a crash leaves behind: alice's approved assignment job was claimed, marked as
/// sending its change, and its process died before the outcome was stored.
async fn cut_off_assignment(h: &Harness) {
    h.alice_approved_by_carol().await;
    h.exec(
        "UPDATE jobs SET state = 'running', attempts = 1, change_sent = 1, lease_owner = 'gone',
                         lease_until = '2026-03-02T09:05:00.000Z'",
    )
    .await;
}

#[tokio::test]
async fn a_cut_off_assignment_that_shows_late_is_reported_assigned_and_not_sent_again() {
    let h = Harness::new(&[("LICENSEBOT__JOBS__VERIFY_INTERVAL", "1ms")]).await;
    cut_off_assignment(&h).await;
    // The dead attempt's assignLicense reached the tenant, which shows it two reads late.
    h.tenant.read_lag.store(2, Ordering::SeqCst);
    let upn: licensebot::domain::Upn = "alice@contoso.example".parse().unwrap();
    let alice = h.tenant.user(&upn).await.unwrap();
    h.tenant.assign(&alice).await.unwrap();

    h.engine.recover().await.unwrap();
    h.engine.settle().await;

    assert_eq!(h.state(1).await, "completed");
    assert_eq!(h.assign_calls(), 1, "not sent again");
    let done = h
        .dms("alice")
        .into_iter()
        .find(|d| d.contains("is done"))
        .unwrap();
    assert!(
        done.contains("Power BI Pro assigned to alice@contoso.example"),
        "{done}"
    );
}

#[tokio::test]
async fn a_cut_off_assignment_that_never_went_out_is_sent_after_reading_back() {
    let h = Harness::new(&[("LICENSEBOT__JOBS__VERIFY_INTERVAL", "1ms")]).await;
    cut_off_assignment(&h).await;

    h.engine.recover().await.unwrap();
    h.engine.settle().await;

    assert_eq!(h.state(1).await, "completed");
    assert_eq!(h.assign_calls(), 1);
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM backend_calls WHERE operation = 'verify_user'")
            .await,
        5,
        "four reads back before sending (five in all with the first), one after"
    );
}

/// A batch whose backend call outlasts a third of `[jobs] lease` has its jobs' leases renewed
/// while the call runs (a heartbeat): another process looking for due jobs after the first
/// lease has run out finds none to take over, and the licence is assigned once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_backend_call_keeps_its_jobs_leased() {
    let h = Harness::new(&[("LICENSEBOT__JOBS__LEASE", "300ms")]).await;
    h.tenant.answers_flow.send_replace(false);
    h.say("dave", "!pro assign alice@contoso.example").await;
    let worker = h.jobs_under_way().await;
    // The first lease ran out long ago on the bot's clock; the heartbeat (every 100 ms)
    // renews it from the clock's new time.
    h.advance(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let now = h.clock.now();
    let mut w = h.store.write().await.unwrap();
    let taken = licensebot::store::jobs::claim_next(
        &mut w,
        ("another-process", now + chrono::Duration::seconds(60)),
        now,
        licensebot::domain::StageKind::Assign,
        1,
    )
    .await
    .unwrap();
    drop(w);
    assert_eq!(
        taken.first().map(|j| j.id),
        None,
        "the running job was taken over"
    );

    h.tenant.answers_flow.send_replace(true);
    worker.await.unwrap();
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed");
    assert_eq!(h.assign_calls(), 1);
}
