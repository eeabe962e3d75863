//! The dashboard's durations, read from the database: how long an approver took to decide
//! and how long a request took from asking to done, each in the bucket it belongs to.

use std::time::Duration;

use licensebot::store::figures;

use super::harness::Harness;

#[tokio::test]
async fn decision_and_done_times_fall_in_their_buckets() {
    let h = Harness::linked(&["alice"]).await;
    h.say("alice", "!pro request").await;
    h.advance(Duration::from_secs(600));
    h.approve("carol", "Request #1").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());

    let bounds = [300.0, 900.0];
    let mut conn = h.store.pool().acquire().await.unwrap();
    let decided = figures::time_to_decision(&mut conn, h.store.dialect(), &bounds)
        .await
        .unwrap();
    let done = figures::time_to_done(&mut conn, h.store.dialect(), &bounds)
        .await
        .unwrap();

    // Carol reacted ten minutes after the approval message went out; the licence was
    // assigned at once after.
    for (what, d) in [("decision", &decided), ("done", &done)] {
        assert_eq!(d.count, 1, "{what}: {d:?}");
        assert_eq!(d.buckets, vec![(300.0, 0), (900.0, 1)], "{what}: {d:?}");
        assert!((d.sum - 600.0).abs() < 1.0, "{what}: {d:?}");
    }
}

#[tokio::test]
async fn an_approvers_own_command_is_no_wait_for_a_decision() {
    let h = Harness::linked(&["alice"]).await;
    h.say("dave", "!pro assign alice@contoso.example").await;
    h.engine.settle().await;
    assert_eq!(h.state(1).await, "completed", "{}", h.text());

    let mut conn = h.store.pool().acquire().await.unwrap();
    let decided = figures::time_to_decision(&mut conn, h.store.dialect(), &[60.0])
        .await
        .unwrap();
    let done = figures::time_to_done(&mut conn, h.store.dialect(), &[60.0])
        .await
        .unwrap();
    assert_eq!(decided.count, 0, "{decided:?}");
    assert_eq!(done.count, 1, "{done:?}");
}
