//! `!pro release`: a holder gives their own licence back, no approval needed.

use super::Intake;
use crate::domain::RequestKind;
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::ports::IncomingMessage;
use crate::engine::requests::{Approval, NewWork};
use crate::store::requests::Request;
use crate::store::stages::Stage;
use crate::t;

impl Intake {
    pub(super) async fn release(&self, m: &IncomingMessage) -> EngineResult<()> {
        let me = self.links.own_identity(m, "release").await?;
        let user = self.directory.directory_user(&me.upn).await?;
        if !user.holds(&self.core.cfg().sku_part_number) {
            return Err(EngineError::User(match user.pro_from() {
                Some(l) => t!(
                    self.core.texts(),
                    "release.included",
                    sku = l.sku_part_number
                ),
                None => t!(self.core.texts(), "release.nothing"),
            }));
        }
        // Removing a direct assignment beside a group's frees no seat, and the group's stays;
        // in group mode the licensing group's own membership is the bot's to take.
        if let Some(groups) = self.directory.inherited_elsewhere(&user).await {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "release.from_group",
                groups = groups
            )));
        }
        let answer = |r: &Request, _: &[Stage]| t!(self.core.texts(), "release.started", id = r.id);
        self.opening
            .open_requests(
                m,
                Some(me),
                vec![NewWork::licence(RequestKind::Release, user, None)],
                Approval::SelfService,
                false,
                Some(&answer),
            )
            .await?;
        Ok(())
    }
}
