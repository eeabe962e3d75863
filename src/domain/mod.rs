//! Domain types: identifiers, directory names, request and stage state machines, identity
//! links. No I/O.

/// An enum of words: each variant has the word stored in the database and shown in JSON,
/// parsed back case-insensitively.
macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored in the database and shown in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str().eq_ignore_ascii_case(t))
                    .ok_or_else(|| {
                        let words: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        ParseError(format!("`{t}` is not one of {}", words.join(", ")))
                    })
            }
        }
    };
}

mod audit;
mod ids;
mod language;
mod link;
mod request;
mod role;
mod upn;

pub use audit::{Actor, AuditAction};
pub use ids::{ChannelRef, ChatUserId, MessageRef, RequestId, StageId};
pub use language::Language;
pub use link::{LinkMethod, LinkProof, LinkState};
pub use request::{
    BillingCycle, CountryCode, DecisionSource, RequestKind, RequestState, StageKind, StageState,
    UserType,
};
pub use role::{DirectoryRole, RoleSet};
pub use upn::{Upn, UpnProblem};

/// A value that failed to parse into a domain type; the text is safe to show in chat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);
