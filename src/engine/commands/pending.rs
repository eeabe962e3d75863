//! `!pro pending`: the requests waiting for an approver.

use super::Intake;
use crate::domain::StageState;
use crate::engine::error::EngineResult;
use crate::engine::ports::IncomingMessage;
use crate::store::{requests, stages};
use crate::t;

impl Intake {
    pub(super) async fn pending_report(&self, m: &IncomingMessage) -> EngineResult<()> {
        let mut conn = self.core.store().read().await?;
        let pending = stages::in_state(&mut conn, StageState::Pending).await?;
        let mut lines = Vec::new();
        for s in pending.iter().filter(|s| s.routed_to.contains(&m.author)) {
            if let Some(r) = requests::get(&mut conn, s.request_id).await? {
                lines.push(t!(
                    self.core.texts(),
                    "pending.line",
                    id = r.id,
                    subject = self.core.subject(&r),
                    stage = self.core.stage_title(s.kind, s.quantity, s.billing_cycle),
                    message = s
                        .approval_message
                        .as_ref()
                        .map(|m| m.as_str())
                        .unwrap_or("-")
                ));
            }
        }
        drop(conn);
        let text = if lines.is_empty() {
            t!(self.core.texts(), "pending.none")
        } else {
            let mut all = vec![t!(self.core.texts(), "pending.header", count = lines.len())];
            all.extend(lines);
            all.join("\n")
        };
        self.reply_now(m, text).await;
        Ok(())
    }
}
