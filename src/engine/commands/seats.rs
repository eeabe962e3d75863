//! `!pro seats` and `!pro seats remove`: the seat figures, and asking to give seats back.

use super::Intake;
use crate::domain::StageState;
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::links::Identity;
use crate::engine::ports::IncomingMessage;
use crate::engine::requests::{Approval, NewWork};
use crate::store::{drift, stages};
use crate::t;

impl Intake {
    /// Lowers the seat count, never below the seats in use or promised to open requests,
    /// and not while seats are being bought. Microsoft allows reductions only within a short
    /// window after a purchase or renewal; the reply and the approval say so.
    pub(super) async fn seats_remove(&self, m: &IncomingMessage, seats: u32) -> EngineResult<()> {
        let (a, roles) = self.directory.issuer_roles(m).await?;
        let now_seats = self.directory.seats_or_user_error().await?;
        let (busy, pipeline) = {
            let mut conn = self.core.store().read().await?;
            let busy = stages::open_seat_change(&mut conn).await?;
            (busy, stages::seat_pipeline(&mut conn).await?)
        };
        // One seat change at a time: seat targets are absolute, fixed at approval from the
        // count seen then, so a purchase approved while a removal is open (or the other way
        // round) would count from the wrong number.
        match busy {
            Some((id, StageState::Pending, quantity)) => {
                return Err(EngineError::User(t!(
                    self.core.texts(),
                    "seats.reduce_awaiting",
                    id = id,
                    seats = quantity.abs()
                )))
            }
            Some((id, _, _)) => {
                return Err(EngineError::User(t!(
                    self.core.texts(),
                    "seats.reduce_busy",
                    id = id
                )))
            }
            None => {}
        }
        let target = now_seats.enabled - i64::from(seats);
        let floor = now_seats.consumed + pipeline.promised;
        if target < floor {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "seats.reduce_floor",
                seats = seats,
                enabled = now_seats.enabled,
                floor = floor
            )));
        }
        self.open_and_reply(
            m,
            Identity::of_approver(&a),
            NewWork::purchase(-i64::from(seats), self.core.cfg().default_billing_cycle),
            Approval::ByIssuer(&a, &roles),
            false,
        )
        .await?;
        self.reply_now(m, t!(self.core.texts(), "approval.reduce_window"))
            .await;
        Ok(())
    }

    pub(super) async fn seats_report(&self, m: &IncomingMessage) -> EngineResult<()> {
        let seats = self.directory.seats_or_user_error().await?;
        let (pipeline, open, report) = {
            let mut conn = self.core.store().read().await?;
            (
                stages::seat_pipeline(&mut conn).await?,
                drift::open(&mut conn).await?,
                drift::report(&mut conn).await?,
            )
        };
        let mut text = t!(
            self.core.texts(),
            "seats.report",
            sku = self.core.cfg().sku_part_number,
            enabled = seats.enabled,
            consumed = seats.consumed,
            free = seats.free(),
            promised = pipeline.promised,
            on_order = pipeline.on_order,
            awaiting = pipeline.awaiting_approval
        );
        if pipeline.removing > 0 {
            text.push(' ');
            text.push_str(&t!(
                self.core.texts(),
                "seats.report_removing",
                seats = pipeline.removing
            ));
        }
        if let (false, Some(at)) = (open.is_empty(), report.checked_at) {
            text.push('\n');
            text.push_str(&t!(
                self.core.texts(),
                "drift.seats_line",
                count = open.len(),
                at = self.core.minute(at)
            ));
        }
        self.seats.history.keep(&seats).await;
        // The chart goes with the text, which stays for screen readers and the console; a
        // chart that cannot be drawn leaves the text alone.
        let picture = match self.seats.history.chart().await {
            Ok(picture) => Some(picture),
            Err(e) => {
                tracing::error!(error = %e, "could not draw the seat chart");
                None
            }
        };
        self.reply_now_with(m, text, picture.as_ref()).await;
        self.seats.alerts.seen(seats).await;
        Ok(())
    }
}
