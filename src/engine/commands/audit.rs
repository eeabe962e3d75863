//! `!pro audit`: one request's audit trail, for approvers.

use super::Intake;
use crate::domain::RequestId;
use crate::engine::error::{EngineError, EngineResult};
use crate::engine::ports::IncomingMessage;
use crate::store::{audit, requests};
use crate::t;

impl Intake {
    pub(super) async fn audit_report(
        &self,
        m: &IncomingMessage,
        id: RequestId,
    ) -> EngineResult<()> {
        let mut conn = self.core.store().read().await?;
        if requests::get(&mut conn, id).await?.is_none() {
            return Err(EngineError::User(t!(
                self.core.texts(),
                "request.unknown",
                id = id
            )));
        }
        let events = audit::for_request(&mut conn, id).await?;
        let check = audit::verify_request(&mut conn, id).await?;
        drop(conn);
        let mut lines = vec![t!(
            self.core.texts(),
            "audit.header",
            id = id,
            count = events.len()
        )];
        for e in &events {
            lines.push(format!(
                "{} {} {} {}{}",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                e.actor,
                e.action,
                match (&e.before, &e.after) {
                    (Some(b), Some(a)) => format!("{b} → {a} "),
                    (None, Some(a)) => format!("→ {a} "),
                    _ => String::new(),
                },
                shorten(&e.detail, 160)
            ));
        }
        lines.push(match &check.broken_at {
            None => t!(self.core.texts(), "audit.intact"),
            Some((row, why)) => t!(self.core.texts(), "audit.broken", row = row, why = why),
        });
        let mut text = lines.join("\n");
        if text.chars().count() > 1900 {
            text = shorten(&text, 1900);
        }
        self.reply_now(m, text).await;
        Ok(())
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
