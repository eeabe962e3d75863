//! `!pro away` / `!pro back`: an approver steps out of routing and back in.

use super::Intake;
use crate::domain::{Actor, AuditAction};
use crate::engine::error::EngineResult;
use crate::engine::ports::IncomingMessage;
use crate::store::approvers;
use crate::t;

impl Intake {
    pub(super) async fn away(&self, m: &IncomingMessage, on: bool) -> EngineResult<()> {
        let now = self.core.now();
        let mut w = self.core.store().write().await?;
        approvers::set_away(w.conn().await?, &m.author, on, now).await?;
        self.core
            .audit_note(
                &mut w,
                None,
                &Actor::chat(&m.author),
                if on {
                    AuditAction::AwayOn
                } else {
                    AuditAction::AwayOff
                },
                "",
            )
            .await?;
        let text = if on {
            t!(self.core.texts(), "away.on")
        } else {
            t!(self.core.texts(), "away.off")
        };
        self.core.reply_and_commit(w, m, text).await
    }
}
