//! Seat changes: buying seats up to an absolute target or lowering them to it, then reading
//! the seat count back.

use std::time::Duration;

use super::Worker;
use crate::engine::ports::{BackendError, ErrorKind, PurchaseProgress, SeatOrder, Seats};
use crate::t;
use crate::{said, texts::Said};

use super::verify::{FirstRead, NotShown};
use super::{Call, Outcome};

impl Worker {
    pub(super) async fn execute_purchase(
        &self,
        order: &SeatOrder,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        if order.quantity < 0 {
            return self.execute_reduction(order, calls).await;
        }
        let progress = self.purchaser.raise_seats(order).await;
        calls.push(Call::of("raise_seats", &progress));
        if let Some(unfinished) = self.unfinished(progress) {
            return unfinished;
        }
        self.verify_seats(order, calls, |s| {
            (s.enabled >= order.target_seats).then(|| {
                said!(
                    "outcome.bought",
                    quantity = order.quantity,
                    enabled = s.enabled
                )
            })
        })
        .await
    }

    /// Lowers the seat count to the order's target, never below the seats in use now.
    async fn execute_reduction(&self, order: &SeatOrder, calls: &mut Vec<Call>) -> Outcome {
        let reduced = |s: &Seats| {
            (s.enabled <= order.target_seats).then(|| {
                said!(
                    "outcome.reduced",
                    quantity = -order.quantity,
                    enabled = s.enabled
                )
            })
        };
        let seats = self.directory.tenant.seats().await;
        calls.push(Call::of("seats", &seats));
        match seats {
            Ok(s) => {
                if let Some(done) = reduced(&s) {
                    return Outcome::Done(done);
                }
                if s.consumed > order.target_seats {
                    return Outcome::Permanent(t!(
                        self.core.texts(),
                        "outcome.reduce_below_use",
                        target = order.target_seats,
                        consumed = s.consumed
                    ));
                }
            }
            Err(e) => return self.classify(e),
        }
        let progress = self.purchaser.lower_seats(order).await;
        calls.push(Call::of("lower_seats", &progress));
        if let Some(unfinished) = self.unfinished(progress) {
            return unfinished;
        }
        self.verify_seats(order, calls, reduced).await
    }

    /// The outcome of a seat change the purchaser has not finished (still in progress, or
    /// handed to a person), or of its failure; None when it is done.
    fn unfinished(&self, progress: Result<PurchaseProgress, BackendError>) -> Option<Outcome> {
        match progress {
            Ok(PurchaseProgress::Done { .. }) => None,
            Ok(PurchaseProgress::InProgress { detail }) => Some(Outcome::Wait {
                note: detail,
                after: self
                    .core
                    .cfg()
                    .jobs
                    .retry
                    .first
                    .max(Duration::from_secs(30)),
            }),
            Ok(PurchaseProgress::AwaitingPerson {
                enabled,
                via_reseller,
            }) => Some(Outcome::AwaitPerson {
                enabled,
                via_reseller,
            }),
            Err(e) => Some(self.classify(e)),
        }
    }

    /// Reads the seats back (up to `jobs.verify_attempts` times) until `shows` finds the
    /// order carried out and says so. Re-applying the same absolute target is harmless, so a
    /// change that does not show yet simply runs again later.
    async fn verify_seats(
        &self,
        order: &SeatOrder,
        calls: &mut Vec<Call>,
        shows: impl Fn(&Seats) -> Option<Said>,
    ) -> Outcome {
        let shows = &shows;
        let (_, read) = self
            .read_back(FirstRead::Now, calls, |calls| async move {
                let seats = self.directory.tenant.seats().await;
                calls.push(Call::of("seats", &seats));
                let shown = match seats {
                    Ok(s) => shows(&s).ok_or(NotShown::Yet),
                    Err(e) if e.is_transient() => Err(NotShown::Yet),
                    Err(e) => Err(NotShown::Stop(self.classify(e))),
                };
                (calls, shown)
            })
            .await;
        match read {
            Ok(done) => Outcome::Done(done),
            Err(NotShown::Stop(outcome)) => outcome,
            Err(NotShown::Yet) => Outcome::Transient(BackendError::new(
                ErrorKind::Transient,
                t!(
                    self.core.texts(),
                    "outcome.seats_not_shown",
                    target = order.target_seats
                ),
            )),
        }
    }
}
