//! `!pro buy`: an approver asks for seats to be bought.

use super::Intake;
use crate::engine::error::EngineResult;
use crate::engine::links::Identity;
use crate::engine::ports::IncomingMessage;
use crate::engine::requests::{Approval, NewWork};

impl Intake {
    pub(super) async fn buy(
        &self,
        m: &IncomingMessage,
        seats: u32,
        cycle: Option<crate::domain::BillingCycle>,
    ) -> EngineResult<()> {
        let (a, roles) = self.directory.issuer_roles(m).await?;
        let cycle = cycle.unwrap_or(self.core.cfg().default_billing_cycle);
        self.open_and_reply(
            m,
            Identity::of_approver(&a),
            NewWork::purchase(i64::from(seats), cycle),
            Approval::ByIssuer(&a, &roles),
            false,
        )
        .await
    }
}
