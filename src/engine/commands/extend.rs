//! `!pro extend [for 30d]`: the holder of a time-bound licence asks to keep it longer. It is a
//! new approval (an assign role): the licence then runs the new term on from its current end
//! (or from now, if that is later). Without a term, the licence's own term again, at most
//! `[policy] max_duration`.

use super::Intake;
use crate::domain::{RequestKind, Term};
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::ports::IncomingMessage;
use crate::engine::requests::{Approval, NewWork};
use crate::store::terms;
use crate::t;

impl Intake {
    pub(super) async fn extend(&self, m: &IncomingMessage, term: Option<Term>) -> EngineResult<()> {
        self.may_request(m)?;
        let me = self.links.own_identity(m, "extend").await?;
        let (running, own_term) = {
            let mut conn = self.core.store().read().await?;
            let running = terms::running(&mut conn)
                .await?
                .into_iter()
                .find(|r| r.upn == me.upn);
            let Some(running) = running else {
                return Err(EngineError::User(t!(self.core.texts(), "extend.nothing")));
            };
            let own = terms::of_request(&mut conn, running.request).await?;
            (running, own.map(|(t, _)| t))
        };
        let term = match term.or(own_term) {
            Some(t) => self.term_within_policy(Some(t))?,
            None => self.term_within_policy(None)?,
        };
        let Some(term) = term else {
            return Err(EngineError::User(t!(self.core.texts(), "extend.nothing")));
        };
        let user = self.directory.directory_user(&me.upn).await?;
        let mut work = NewWork::licence(RequestKind::Assign, user, None);
        work.term = Some((term, Some(running.request)));
        self.open_and_reply(m, me, work, Approval::Routed, true)
            .await
    }
}
