//! `!pro pending`: the requests waiting for an approver.

use super::Intake;
use crate::domain::{RequestId, StageId};
use crate::engine::error::EngineResult;
use crate::engine::ports::IncomingMessage;
use crate::store::{requests, stages};
use crate::t;

/// Stages read at a time.
const PAGE: i64 = 500;

impl Intake {
    pub(super) async fn pending_report(&self, m: &IncomingMessage) -> EngineResult<()> {
        let mut conn = self.core.store().read().await?;
        let mut lines = Vec::new();
        // A page of stages at a time, with their requests in one read: an approver may have
        // thousands waiting, and only the lines are kept.
        let mut after = StageId(0);
        loop {
            let page = stages::pending_for(&mut conn, &m.author, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let ids: Vec<RequestId> = page.iter().map(|s| s.request_id).collect();
            let requests = requests::by_ids(&mut conn, &ids).await?;
            for s in &page {
                let Ok(i) = requests.binary_search_by_key(&s.request_id, |r| r.id) else {
                    continue;
                };
                let r = &requests[i];
                lines.push(t!(
                    self.core.texts(),
                    "pending.line",
                    id = r.id,
                    subject = self.core.subject(r),
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
