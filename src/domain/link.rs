//! Identity links: which directory account a chat account speaks for, and how that was
//! proven. A chat account acts for a directory account only through a verified link.

use super::{ChatUserId, ParseError};

word_enum!(
    /// Whether a link has been proven.
    LinkState {
        /// Asked for, not proven: it lets its chat account do nothing with the account.
        Pending => "pending",
        /// Proven: its chat account acts for the directory account.
        Verified => "verified",
    }
);

word_enum!(
    /// How a link was proven.
    LinkMethod {
        /// The person signed in to Microsoft Entra as the account (OpenID Connect).
        SignIn => "sign_in",
        /// The person answered a code mailed to the account's own mailbox.
        MailCode => "mail_code",
        /// An approver with an assign role attested it.
        Admin => "admin",
        /// The bot's configuration names it (`[[approvers]]`).
        Config => "config",
    }
);

/// How and when a verified link was proven: what approvers see next to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkProof {
    /// How.
    pub method: LinkMethod,
    /// When (none for links set by the configuration).
    pub verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The approver who attested it (method `admin`).
    pub attested_by: Option<ChatUserId>,
}

impl LinkProof {
    /// The proof of an approver's link: the configuration.
    pub fn config() -> LinkProof {
        LinkProof {
            method: LinkMethod::Config,
            verified_at: None,
            attested_by: None,
        }
    }
}
