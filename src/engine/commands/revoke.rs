//! `!pro revoke`: an approver asks for someone's licence to be taken back.

use super::Intake;
use crate::command::Target;
use crate::domain::RequestKind;
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::links::Identity;
use crate::engine::ports::IncomingMessage;
use crate::engine::requests::{Approval, NewWork};
use crate::t;

impl Intake {
    pub(super) async fn revoke(
        &self,
        m: &IncomingMessage,
        target: Target,
        reason: Option<String>,
    ) -> EngineResult<()> {
        let (a, roles) = self.directory.issuer_roles(m).await?;
        let upn = self.resolve_target(&target).await?;
        let user = self.directory.directory_user(&upn).await?;
        if !user.holds(&self.core.cfg().sku_part_number) {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "revoke.nothing",
                upn = upn
            )));
        }
        if let Some(groups) = self.directory.inherited_elsewhere(&user).await {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "revoke.from_group",
                upn = upn,
                groups = groups
            )));
        }
        self.open_and_reply(
            m,
            Identity::of_approver(&a),
            NewWork::licence(RequestKind::Revoke, user, reason),
            Approval::ByIssuer(&a, &roles),
            false,
        )
        .await
    }
}
