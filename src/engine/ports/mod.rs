//! The engine's ports: every trait the engine calls out through, and the types they speak.
//! The engine owns them; transports (`chat/`) and backends (`backend/`) implement them and
//! import them from here, so no import runs from the engine out to a transport or a backend.
//!
//! - [`ChatOutput`] (and the [`ChatEvent`]s a transport feeds in): chat;
//! - [`Tenant`]: the directory, roles, seats and licences;
//! - [`Purchaser`]: buying and removing seats;
//! - [`Mailer`] and [`IdentityProvider`]: proving a link;
//! - [`RetryPolicy`]: how anything is tried again (jobs, backend reads);
//! - [`Observer`]: the pace of decisions and requests, for the operator's figures;
//! - the clock is [`crate::engine::clock::Clock`].

use std::sync::Arc;

use super::clock::Clock;

mod chat;
mod identity;
mod observe;
mod purchase;
mod retry;
mod tenant;

pub use chat::{
    Buttons, ChatError, ChatEvent, ChatOutput, DecisionLabels, IncomingMessage, Post, Press,
    Reaction, MAX_DELIVERY_KEY,
};
pub use identity::{AuthorizeRequest, IdClaims, IdentityProvider, Mail, Mailer, SignInError};
pub use observe::{Observer, Unobserved};
pub use purchase::{PurchaseProgress, Purchaser, SeatOrder};
pub use retry::RetryPolicy;
pub use tenant::{
    Activity, AssignmentError, AssignmentState, BackendError, DirectoryUser, ErrorKind, Found,
    GroupInfo, GroupState, HeldLicence, LicenceSource, LicensingGroup, Lookup, Seats, Tenant,
    UserActivity,
};

/// What the engine is given to talk to the world: one implementation of each port.
#[derive(Clone)]
pub struct Ports {
    /// The directory, roles, seats and licences.
    pub tenant: Arc<dyn Tenant>,
    /// Buying and removing seats.
    pub purchaser: Arc<dyn Purchaser>,
    /// Mailing link proofs.
    pub mailer: Arc<dyn Mailer>,
    /// Signing in to prove a link; none when sign-in is off.
    pub identity: Option<Arc<dyn IdentityProvider>>,
    /// The chat transport's output.
    pub chat: Arc<dyn ChatOutput>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Hears how long decisions and requests took.
    pub observer: Arc<dyn Observer>,
}
