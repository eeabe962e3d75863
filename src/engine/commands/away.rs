//! `!pro away` / `!pro back`: an approver steps out of routing and back in.

use crate::domain::{Actor, AuditAction};
use crate::engine::ports::IncomingMessage;
use crate::engine::{Engine, EngineResult};
use crate::store::approvers;
use crate::t;

impl Engine {
    pub(super) async fn away(&self, m: &IncomingMessage, on: bool) -> EngineResult<()> {
        let now = self.now();
        let mut w = self.store().write().await?;
        approvers::set_away(w.conn(), &m.author, on, now).await?;
        self.audit(
            &mut w,
            None,
            &Actor::chat(&m.author),
            if on {
                AuditAction::AwayOn
            } else {
                AuditAction::AwayOff
            },
            None,
            None,
            "",
        )
        .await?;
        let text = if on {
            t!(self.texts(), "away.on")
        } else {
            t!(self.texts(), "away.off")
        };
        self.reply_and_commit(w, m, text).await
    }
}
