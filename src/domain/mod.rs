//! Domain types: identifiers, directory names, request and stage state machines. No I/O.

mod ids;
mod request;
mod role;
mod upn;

pub use ids::{ChannelRef, ChatUserId, MessageRef, RequestId, StageId};
pub use request::{
    BillingCycle, CountryCode, RequestKind, RequestState, StageKind, StageState, UserType,
};
pub use role::{DirectoryRole, RoleSet};
pub use upn::Upn;

/// A value that failed to parse into a domain type; the text is safe to show in chat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);
