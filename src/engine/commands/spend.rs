//! `!pro spend [YYYY-MM]`: what the bot bought per month, and this month's budget left.

use super::Intake;
use crate::domain::Month;
use crate::engine::error::EngineResult;
use crate::engine::ports::IncomingMessage;
use crate::store::governance;
use crate::t;

/// Months listed without a month named.
const MONTHS_SHOWN: i64 = 12;

impl Intake {
    pub(super) async fn spend_report(
        &self,
        m: &IncomingMessage,
        month: Option<Month>,
    ) -> EngineResult<()> {
        let now = self.core.now();
        let (months, used) = {
            let mut conn = self.core.store().read().await?;
            let wanted = month.map(|m| m.to_string());
            let months =
                governance::spend_by_month(&mut conn, wanted.as_deref(), MONTHS_SHOWN).await?;
            (
                months,
                governance::committed_this_month(&mut conn, now).await?,
            )
        };
        let texts = self.core.texts();
        let mut lines = vec![t!(
            texts,
            "spend.header",
            currency = self.core.cfg().currency
        )];
        for s in &months {
            lines.push(t!(
                texts,
                "spend.line",
                month = s.month,
                purchases = s.purchases,
                seats = s.seats,
                spent = self.core.money(s.spent)
            ));
        }
        if months.is_empty() {
            lines.push(match month {
                Some(month) => t!(texts, "spend.none", month = month),
                None => t!(texts, "spend.nothing_yet"),
            });
        }
        let budget = self.core.cfg().governance.monthly_budget;
        lines.push(if budget > 0.0 {
            t!(
                texts,
                "spend.budget",
                month = Month::of(now),
                budget = self.core.money(budget),
                used = self.core.money(used),
                left = self.core.money((budget - used).max(0.0))
            )
        } else {
            t!(texts, "spend.no_budget")
        });
        self.reply_now(m, lines.join("\n")).await;
        Ok(())
    }
}
