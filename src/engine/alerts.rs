//! Seat alerts (`[alerts]`): while the seats cross a threshold (fewer free than
//! `free_seats_below`, or more than `usage_above_percent` % of those bought assigned), one
//! message stands in the approvals channel, edited as the numbers change. When they recover
//! it is edited to say so and let go: a later crossing posts a new one.
//!
//! The seats are compared whenever the bot learns them: after a job that changed licences or
//! seats succeeded, on `!pro seats`, and on the tick every [`CHECK_EVERY`] (other
//! administrators change seats too). The message and which thresholds stand are stored
//! (`store::seat_alerts`), so a restart neither reposts nor forgets an alert, and the metric
//! `licensebot_seat_alert` reads them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::config::SeatThresholds;
use super::core::Core;
use super::directory::Directory;
use super::error::EngineResult;
use crate::engine::ports::Seats;
use crate::store::seat_alerts::{self, SeatAlert};
use crate::store::standing::{self, Said, Standing, WhenNone, Words};
use crate::t;

/// How often the tick reads the seats to compare them, at most.
pub(super) const CHECK_EVERY: Duration = Duration::from_secs(5 * 60);

/// Which thresholds the seats cross.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Crossed {
    /// Fewer seats free than `free_seats_below`.
    pub free_seats: bool,
    /// More than `usage_above_percent` % of the seats bought assigned.
    pub usage: bool,
}

impl Crossed {
    /// The thresholds `seats` cross (a threshold that is off is never crossed).
    pub(super) fn of(thresholds: &SeatThresholds, seats: &Seats) -> Crossed {
        Crossed {
            free_seats: thresholds
                .free_seats_below
                .is_some_and(|below| seats.free() < i64::from(below)),
            usage: thresholds
                .usage_above_percent
                .is_some_and(|above| seats.consumed * 100 > i64::from(above) * seats.enabled),
        }
    }

    /// Whether any threshold is crossed.
    pub(super) fn any(self) -> bool {
        self.free_seats || self.usage
    }
}

/// The share of the seats bought that is assigned, in whole percent rounded up, so it shows
/// above a threshold exactly when it is above it; 100 when none are bought but some assigned.
pub(super) fn percent_in_use(seats: &Seats) -> i64 {
    match seats.enabled {
        bought if bought > 0 => (seats.consumed.max(0) * 100 + bought - 1) / bought,
        _ if seats.consumed > 0 => 100,
        _ => 0,
    }
}

/// Compares the seats with the thresholds and keeps the one alert message.
pub(super) struct SeatAlerts {
    core: Arc<Core>,
    directory: Arc<Directory>,
    /// One comparison at a time, from reading the seats to storing the result, so an older
    /// read never overwrites a newer one.
    lock: tokio::sync::Mutex<()>,
    /// Whether an alert left standing was looked for since start-up, with the alerts off.
    off_looked: AtomicBool,
}

impl SeatAlerts {
    pub(super) fn new(core: Arc<Core>, directory: Arc<Directory>) -> SeatAlerts {
        SeatAlerts {
            core,
            directory,
            lock: tokio::sync::Mutex::new(()),
            off_looked: AtomicBool::new(false),
        }
    }

    fn on(&self) -> bool {
        self.core.cfg().seat_alerts.any()
    }

    /// Compares seats the bot has just read (`!pro seats`). Errors are logged.
    pub(super) async fn seen(&self, seats: Seats) {
        if self.on() {
            let _one_at_a_time = self.lock.lock().await;
            self.compare_logged(seats).await;
        }
    }

    /// Reads the seats and compares them (a job changed licences or seats). Errors are
    /// logged: the tick compares again later.
    pub(super) async fn check_now(&self) {
        if !self.on() {
            return;
        }
        let _one_at_a_time = self.lock.lock().await;
        match self.directory.tenant.seats().await {
            Ok(seats) => self.compare_logged(seats).await,
            Err(e) => tracing::warn!(error = %e, "could not read the seats for the seat alerts"),
        }
    }

    /// The periodic comparison, when [`CHECK_EVERY`] has passed since the last one.
    pub(super) async fn when_due(&self) {
        if !self.on() {
            return self.forget_when_off().await;
        }
        let last = match self.core.store().read().await {
            Ok(mut conn) => seat_alerts::get(&mut conn).await.map(|a| a.checked_at),
            Err(e) => Err(e),
        };
        match last {
            Ok(Some(at)) if (self.core.now() - at).to_std().unwrap_or_default() < CHECK_EVERY => {}
            Ok(_) => self.check_now().await,
            Err(e) => tracing::error!(error = %e, "cannot read when the seats were last compared"),
        }
    }

    async fn compare_logged(&self, seats: Seats) {
        if let Err(e) = self.compare(seats).await {
            tracing::error!(error = %e, "could not update the seat alert");
        }
    }

    /// Compares `seats` with the thresholds and posts, edits or clears the alert, storing
    /// what stands, all in one transaction.
    async fn compare(&self, seats: Seats) -> EngineResult<()> {
        let crossed = Crossed::of(&self.core.cfg().seat_alerts, &seats);
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        let mut alert = seat_alerts::get(w.conn().await?).await?;
        let stood = alert.free_seats || alert.usage;
        let channel = &self.core.cfg().approvals_channel;
        if crossed.any() {
            let text = self.core.for_approvers(|| self.alert_text(&seats, crossed));
            let words = Words {
                channel,
                says: &text,
                content: &text,
            };
            standing::say(
                w.conn().await?,
                &mut alert.message,
                words,
                WhenNone::Post,
                now,
            )
            .await?;
        } else if alert.message.outbox_id.is_some() {
            let text = self.core.for_approvers(|| self.recovered_text(&seats));
            let words = Words {
                channel,
                says: &text,
                content: &text,
            };
            let said = standing::say(
                w.conn().await?,
                &mut alert.message,
                words,
                WhenNone::Leave,
                now,
            )
            .await?;
            // Said (or never posted): let go. Its post still waiting: edited next time.
            if said != Said::Waiting {
                alert.message = Standing::default();
            }
        }
        alert.free_seats = crossed.free_seats;
        alert.usage = crossed.usage;
        alert.checked_at = Some(now);
        seat_alerts::set(w.conn().await?, &alert).await?;
        self.core.commit(w).await?;
        if stood != crossed.any() {
            tracing::info!(
                free = seats.free(),
                bought = seats.enabled,
                assigned = seats.consumed,
                standing = crossed.any(),
                "seat alert changed"
            );
        }
        Ok(())
    }

    /// What the alert says: the figures, the thresholds crossed, what to do.
    fn alert_text(&self, seats: &Seats, crossed: Crossed) -> String {
        let texts = self.core.texts();
        let thresholds = &self.core.cfg().seat_alerts;
        let mut lines = vec![t!(
            texts,
            "seat_alert.standing",
            free = seats.free(),
            enabled = seats.enabled,
            percent = percent_in_use(seats)
        )];
        if let (true, Some(below)) = (crossed.free_seats, thresholds.free_seats_below) {
            lines.push(t!(texts, "seat_alert.free_seats", below = below));
        }
        if let (true, Some(above)) = (crossed.usage, thresholds.usage_above_percent) {
            lines.push(t!(texts, "seat_alert.usage", above = above));
        }
        lines.push(t!(
            texts,
            "seat_alert.advice",
            prefix = self.core.cfg().parser.prefix
        ));
        lines.join("\n")
    }

    /// What the alert says once the seats recovered.
    fn recovered_text(&self, seats: &Seats) -> String {
        t!(
            self.core.texts(),
            "seat_alert.recovered",
            free = seats.free(),
            enabled = seats.enabled,
            percent = percent_in_use(seats)
        )
    }

    /// With the alerts turned off, an alert left standing from before is let go once after
    /// start-up (its metric reads 0); its message stays as it was last said.
    async fn forget_when_off(&self) {
        if self.off_looked.swap(true, Ordering::Relaxed) {
            return;
        }
        let forgotten = async {
            let mut w = self.core.store().write().await?;
            if seat_alerts::get(w.conn().await?).await? != SeatAlert::default() {
                seat_alerts::set(w.conn().await?, &SeatAlert::default()).await?;
                w.commit().await?;
            }
            Ok::<(), crate::store::StoreError>(())
        };
        if let Err(e) = forgotten.await {
            tracing::error!(error = %e, "could not let go of the seat alert");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seats(enabled: i64, consumed: i64) -> Seats {
        Seats {
            enabled,
            consumed,
            unit_price_monthly: None,
        }
    }

    const BOTH: SeatThresholds = SeatThresholds {
        free_seats_below: Some(1),
        usage_above_percent: Some(90),
    };

    #[test]
    fn alerts_no_free_seat_is_below_one_free() {
        let crossed = Crossed::of(&BOTH, &seats(10, 10));
        assert!(crossed.free_seats);
        assert!(crossed.usage);
    }

    #[test]
    fn alerts_ninety_percent_in_use_is_not_above_ninety() {
        assert_eq!(Crossed::of(&BOTH, &seats(10, 9)), Crossed::default());
        assert_eq!(percent_in_use(&seats(10, 9)), 90);
    }

    #[test]
    fn alerts_a_share_just_above_the_threshold_is_shown_above_it() {
        let s = seats(1000, 901);
        assert!(Crossed::of(&BOTH, &s).usage);
        assert_eq!(percent_in_use(&s), 91, "rounded up, never shown at 90 %");
    }

    #[test]
    fn alerts_that_are_off_are_never_crossed() {
        let off = SeatThresholds::default();
        assert!(!off.any());
        assert!(!Crossed::of(&off, &seats(0, 5)).any());
    }

    #[test]
    fn alerts_with_no_seat_bought_count_as_none_free() {
        let none = seats(0, 0);
        assert!(Crossed::of(&BOTH, &none).free_seats);
        assert!(!Crossed::of(&BOTH, &none).usage, "nothing is in use");
        assert_eq!(percent_in_use(&none), 0);
        assert_eq!(percent_in_use(&seats(0, 2)), 100);
    }

    #[test]
    fn alerts_more_assigned_than_bought_is_over_a_hundred_percent() {
        let over = seats(4, 5);
        assert_eq!(percent_in_use(&over), 125);
        assert!(
            Crossed::of(
                &SeatThresholds {
                    free_seats_below: None,
                    usage_above_percent: Some(100),
                },
                &over
            )
            .usage
        );
    }
}
