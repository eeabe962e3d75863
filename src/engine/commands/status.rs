//! `!pro status`: where a person's requests stand, or one request in full.

use super::Intake;
use crate::domain::{DecisionSource, RequestId, Upn};
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::ports::IncomingMessage;
use crate::store::{requests, stages};
use crate::t;

impl Intake {
    pub(super) async fn status(
        &self,
        m: &IncomingMessage,
        id: Option<RequestId>,
    ) -> EngineResult<()> {
        let text = match id {
            None => self.own_status(m).await?,
            Some(id) => self.request_status(m, id).await?,
        };
        self.reply_now(m, text).await;
        Ok(())
    }

    /// `!pro status`: the licence a linked person has now, then their last five requests.
    async fn own_status(&self, m: &IncomingMessage) -> EngineResult<String> {
        let mine = {
            let mut conn = self.core.store().read().await?;
            requests::by_requester(&mut conn, &m.author, 5).await?
        };
        let mut lines = Vec::new();
        if let Some(line) = self.own_licence_line(m).await? {
            lines.push(line);
        }
        if mine.is_empty() {
            lines.push(t!(
                self.core.texts(),
                "status.none",
                prefix = self.core.cfg().parser.prefix
            ));
        } else {
            lines.push(t!(self.core.texts(), "status.yours"));
            lines.extend(mine.iter().map(|r| self.core.summary_line(r)));
        }
        Ok(lines.join("\n"))
    }

    /// `!pro status <id>`: one request's stages and outcome, for those who may see it.
    async fn request_status(&self, m: &IncomingMessage, id: RequestId) -> EngineResult<String> {
        let mut conn = self.core.store().read().await?;
        let r = requests::get(&mut conn, id)
            .await?
            .ok_or_else(|| EngineError::User(t!(self.core.texts(), "request.unknown", id = id)))?;
        // Only a verified link shows the status of its account's licence.
        let me = self.verified_upn(m).await?;
        let allowed = r.requester == m.author
            || self.core.cfg().approver(&m.author).is_some()
            || (me.is_some() && me == r.target_upn);
        if !allowed {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "request.not_yours",
                id = id
            )));
        }
        let mut lines = vec![self.core.summary_line(&r)];
        for s in stages::for_request(&mut conn, id).await? {
            let by = self.core.decider(&s).unwrap_or_else(|| "-".into());
            let stage = self.core.stage_title(s.kind, s.quantity, s.billing_cycle);
            let state = self.core.state_word(s.state);
            // A holder's own release needs no approval: said so, in the same line.
            let own = if s.decided_via == Some(DecisionSource::SelfService) {
                "yes"
            } else {
                "no"
            };
            lines.push(t!(
                self.core.texts(),
                "status.stage_line",
                seq = s.seq,
                stage = stage,
                state = state,
                by = by,
                own = own
            ));
        }
        if let Some(o) = &r.outcome {
            lines.push(t!(self.core.texts(), "status.outcome", outcome = o));
        }
        Ok(lines.join("\n"))
    }

    /// For a person whose chat account is linked (verified), the line on the licence they
    /// have now; none for anyone else. A tenant that cannot be read now is said, not hidden.
    async fn own_licence_line(&self, m: &IncomingMessage) -> EngineResult<Option<String>> {
        let Some(me) = self.verified_upn(m).await? else {
            return Ok(None);
        };
        Ok(Some(match self.directory.directory_user(&me).await {
            Ok(user) => self.directory.licence_line(&user).await,
            Err(EngineError::User(why)) => why,
            Err(e) => return Err(e),
        }))
    }

    /// The directory account `m`'s author acts for, when their link is proven.
    async fn verified_upn(&self, m: &IncomingMessage) -> EngineResult<Option<Upn>> {
        match self.links.acting_identity(&m.author).await {
            Ok(identity) => Ok(Some(identity.upn)),
            Err(EngineError::User(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
