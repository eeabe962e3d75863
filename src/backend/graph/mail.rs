//! Mail through Microsoft Graph: `POST /users/{sender}/sendMail` from the bot's own mailbox
//! (an app-only token needs the sender in the path; `Mail.Send`, best limited to that one
//! mailbox by an Exchange Online application access policy or RBAC for Applications).
//! Graph answers 202 when it accepted the mail. A 429 or 503 that names a `Retry-After` of
//! at most ten seconds is waited for and the mail sent again once (a throttled send was not
//! sent); anything else goes back to the caller.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::json;

use super::directory::user_path;
use super::GraphTenant;
use crate::backend::{BackendError, Mail, Mailer};
use crate::domain::Upn;

/// The longest `Retry-After` a send waits for before it is tried again.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Sends mail as one mailbox of the tenant.
pub struct GraphMailer {
    tenant: Arc<GraphTenant>,
    sender: Upn,
}

impl GraphMailer {
    /// Mail from `sender`'s mailbox, through `tenant`'s client and token.
    pub fn new(tenant: Arc<GraphTenant>, sender: Upn) -> Self {
        GraphMailer { tenant, sender }
    }
}

/// The `sendMail` body: one plain-text message to one recipient, not kept in Sent Items.
fn send_mail_body(mail: &Mail) -> serde_json::Value {
    json!({
        "message": {
            "subject": mail.subject,
            "body": { "contentType": "Text", "content": mail.body },
            "toRecipients": [ { "emailAddress": { "address": mail.to } } ],
        },
        "saveToSentItems": false,
    })
}

#[async_trait]
impl Mailer for GraphMailer {
    fn name(&self) -> &'static str {
        "graph"
    }

    async fn send(&self, mail: &Mail) -> Result<(), BackendError> {
        let path = format!("{}/sendMail", user_path(self.sender.as_str()));
        let body = send_mail_body(mail);
        let mut waited = false;
        loop {
            match self.tenant.client.write(Method::POST, &path, &body).await {
                Ok(_) => return Ok(()),
                Err(e) if !waited && e.is_transient() => match e.retry_after {
                    Some(wait) if wait <= MAX_WAIT => {
                        tracing::warn!(error = %e.message, ?wait, "sendMail throttled; waiting once");
                        tokio::time::sleep(wait).await;
                        waited = true;
                    }
                    _ => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_one_plain_text_message_not_saved() {
        let body = send_mail_body(&Mail {
            to: "alice@contoso.com".into(),
            subject: "s".into(),
            body: "b".into(),
        });
        assert_eq!(body["message"]["body"]["contentType"], "Text");
        assert_eq!(
            body["message"]["toRecipients"][0]["emailAddress"]["address"],
            "alice@contoso.com"
        );
        assert_eq!(body["saveToSentItems"], false);
    }
}
