//! The seat history and its chart. The seats are kept once a day (`store::seat_history`,
//! the day's last reading): read on the tick every [`READ_EVERY`] (the first time
//! [`FIRST_READ_AFTER`] after start, so a bot restarting in a loop does not add to Graph's
//! load), and whenever `!pro seats` reads them. `!pro seats` attaches the chart of the last
//! [`CHART_DAYS`] days: seats bought and assigned and requests waiting per day, and spend per
//! month against the budget when one is set. The chart's words are the reader's language's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Days, NaiveDate};

use super::core::Core;
use super::directory::Directory;
use super::error::EngineResult;
use crate::domain::{Month, Picture};
use crate::engine::ports::Seats;
use crate::pictures::{self, PictureError, SeatChart, SeatChartWords, SpendPanel};
use crate::store::governance::{self, MonthSpend};
use crate::store::{seat_history, Timestamp};
use crate::t;
use crate::texts::dates;

/// How often the tick reads the seats for the history.
pub(super) const READ_EVERY: Duration = Duration::from_secs(60 * 60);
/// How long after start the tick first reads them.
pub(super) const FIRST_READ_AFTER: Duration = Duration::from_secs(5 * 60);
/// The days the chart shows, today included.
pub(super) const CHART_DAYS: u64 = 90;
/// The months the spend panel shows, this one included.
const SPEND_MONTHS: usize = 6;
/// The chart's file name.
const FILE_NAME: &str = "seats.png";

/// Keeps the daily seat history and draws its chart.
pub(super) struct SeatHistory {
    core: Arc<Core>,
    directory: Arc<Directory>,
    /// When the tick reads the seats next; None until the first tick.
    next_read: Mutex<Option<Timestamp>>,
}

impl SeatHistory {
    pub(super) fn new(core: Arc<Core>, directory: Arc<Directory>) -> SeatHistory {
        SeatHistory {
            core,
            directory,
            next_read: Mutex::new(None),
        }
    }

    fn set_next_read(&self, at: Timestamp) {
        *self.next_read.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }

    /// Keeps `seats`, just read, as today's reading. Errors are logged: the tick reads again.
    pub(super) async fn keep(&self, seats: &Seats) {
        let now = self.core.now();
        let kept = async {
            let mut w = self.core.store().write().await?;
            seat_history::record(w.conn().await?, now, seats.enabled, seats.consumed).await?;
            w.commit().await
        }
        .await;
        match kept {
            Ok(()) => self.set_next_read(now + READ_EVERY),
            Err(e) => tracing::error!(error = %e, "could not keep the seats in the seat history"),
        }
    }

    /// The tick: reads the seats and keeps them when [`READ_EVERY`] has passed since the
    /// last reading (or [`FIRST_READ_AFTER`] since start).
    pub(super) async fn when_due(&self) {
        let now = self.core.now();
        let due = {
            let mut next = self.next_read.lock().unwrap_or_else(|e| e.into_inner());
            match *next {
                None => {
                    *next = Some(now + FIRST_READ_AFTER);
                    false
                }
                Some(at) => at <= now,
            }
        };
        if !due {
            return;
        }
        match self.directory.tenant.seats().await {
            Ok(seats) => self.keep(&seats).await,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the seats for the seat history");
                self.set_next_read(now + READ_EVERY);
            }
        }
    }

    /// The chart of the last [`CHART_DAYS`] days, in the language being spoken.
    pub(super) async fn chart(&self) -> EngineResult<Picture> {
        let now = self.core.now();
        let today = now.date_naive();
        let first = today - Days::new(CHART_DAYS - 1);
        let budget = self.core.cfg().governance.monthly_budget;
        let (days, spent) = {
            let mut conn = self.core.store().read().await?;
            let days = seat_history::since(&mut conn, first).await?;
            let spent = if budget > 0.0 {
                let months = SPEND_MONTHS as i64;
                Some(governance::spend_by_month(&mut conn, None, months).await?)
            } else {
                None
            };
            (days, spent)
        };
        let texts = self.core.texts();
        let sku = &self.core.cfg().sku_part_number;
        let words = SeatChartWords {
            title: t!(texts, "chart.title", sku = sku, days = CHART_DAYS),
            bought: t!(texts, "chart.bought"),
            assigned: t!(texts, "chart.assigned"),
            pending: t!(texts, "chart.pending"),
        };
        let spend = spent.map(|rows| self.spend_panel(Month::of(now), budget, &rows));
        // Each day's label, written now in the language being spoken: the drawing runs on
        // a blocking thread, off the async ones.
        let labels: Vec<String> = (0..CHART_DAYS)
            .map(|d| dates::short(first + Days::new(d)).render(texts))
            .collect();
        let png = tokio::task::spawn_blocking(move || {
            let label = |day: NaiveDate| {
                let index = usize::try_from((day - first).num_days()).unwrap_or(usize::MAX);
                labels.get(index).cloned().unwrap_or_default()
            };
            pictures::seat_chart(&SeatChart {
                words: &words,
                span: (first, today),
                days: &days,
                day_label: &label,
                spend: spend.as_ref(),
            })
        })
        .await
        .map_err(|e| PictureError::Draw(format!("the drawing stopped: {e}")))??;
        Ok(Picture {
            file_name: FILE_NAME.to_string(),
            description: t!(texts, "chart.alt", sku = sku, days = CHART_DAYS),
            png,
        })
    }

    /// The spend panel: the last [`SPEND_MONTHS`] months up to `this` one, each with what was
    /// bought in it (nothing where no row says otherwise).
    fn spend_panel(&self, this: Month, budget: f64, rows: &[MonthSpend]) -> SpendPanel {
        let texts = self.core.texts();
        let mut months = Vec::with_capacity(SPEND_MONTHS);
        let mut month = this;
        for _ in 0..SPEND_MONTHS {
            let key = month.to_string();
            let spent = rows
                .iter()
                .find(|r| r.month == key)
                .map_or(0.0, |r| r.spent);
            let name = dates::month(month.year(), month.number()).render(texts);
            months.push((name, spent));
            month = month.previous();
        }
        months.reverse();
        SpendPanel {
            title: t!(texts, "chart.spend", currency = self.core.cfg().currency),
            budget_name: t!(texts, "chart.budget"),
            budget,
            months,
        }
    }
}
