//! `!pro cancel`: the requester (or an approver) withdraws an open request.

use super::Intake;
use crate::domain::{Actor, RequestId, StageState};
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::ports::IncomingMessage;
use crate::said;
use crate::store::{requests, stages};
use crate::t;

impl Intake {
    pub(super) async fn cancel(&self, m: &IncomingMessage, id: RequestId) -> EngineResult<()> {
        let actor = Actor::chat(&m.author);
        let mut w = self.core.store().write().await?;
        let r = requests::get(w.conn().await?, id)
            .await?
            .ok_or_else(|| EngineError::User(t!(self.core.texts(), "request.unknown", id = id)))?;
        if r.requester != m.author && self.core.cfg().approver(&m.author).is_none() {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "request.not_yours",
                id = id
            )));
        }
        if !r.state.is_open() {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "cancel.closed",
                id = id,
                state = self.core.state_word(r.state)
            )));
        }
        let all = stages::for_request(w.conn().await?, id).await?;
        if all.iter().any(|s| s.state == StageState::Executing) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "cancel.executing",
                id = id
            )));
        }
        let outcome = said!("outcome.cancelled", who = self.core.mention(&m.author));
        let why = self.core.recorded(&outcome);
        let closed = self
            .core
            .close_stages(&mut w, id, StageState::Cancelled, &why, &actor)
            .await?;
        if closed.is_empty() {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "cancel.nothing",
                id = id
            )));
        }
        for s in &closed {
            let status = || {
                t!(
                    self.core.texts(),
                    "status.cancelled_by",
                    who = self.core.mention(&m.author)
                )
            };
            self.core.edit_stage(&mut w, s, &status).await?;
        }
        self.core
            .finish_request(&mut w, id, &outcome, &actor)
            .await?;
        w.commit().await?;
        Ok(())
    }
}
