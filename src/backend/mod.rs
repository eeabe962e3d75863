//! Licensing backends: they implement the engine's ports ([`crate::engine::ports`], re-exported
//! here): [`Tenant`] (directory, roles, seats, assignment), [`Purchaser`] (the seat count),
//! [`Mailer`] and [`IdentityProvider`] (proving a link). The simulated tenant implements the
//! first three (its mailbox is a file); [`graph`] implements [`Tenant`] and [`Mailer`] for a
//! real tenant, [`entra`] the [`IdentityProvider`]; [`partner_center`] and [`manual`]
//! implement [`Purchaser`] for CSP and other customers.

pub mod entra;
pub mod graph;
pub(crate) mod http;
pub mod manual;
pub mod partner_center;
pub mod simulated;

use async_trait::async_trait;

pub use crate::engine::ports::{
    Activity, AssignmentError, AssignmentState, AuthorizeRequest, BackendError, DirectoryUser,
    ErrorKind, Found, GroupInfo, GroupState, HeldLicence, IdClaims, IdentityProvider,
    LicenceSource, LicensingGroup, Lookup, Mail, Mailer, PurchaseProgress, Purchaser, SeatOrder,
    Seats, SignInError, Tenant, UserActivity,
};

/// The service plan that grants Power BI Pro (commercial cloud).
pub const PRO_SERVICE_PLAN: &str = "BI_AZURE_P2";
/// The service plan that grants Power BI Pro in the US government clouds.
pub const PRO_SERVICE_PLAN_GOV: &str = "BI_AZURE_P_2_GOV";

/// True when a service plan name grants Power BI Pro.
pub fn plan_grants_pro(plan: &str) -> bool {
    plan.eq_ignore_ascii_case(PRO_SERVICE_PLAN) || plan.eq_ignore_ascii_case(PRO_SERVICE_PLAN_GOV)
}

/// Service plans of well-known SKUs, from Microsoft's "Product names and service plan
/// identifiers for licensing" list: the ones that include Power BI Pro, and common ones that
/// do not. Used where a backend knows a SKU only by its part number.
pub fn known_service_plans(sku_part_number: &str) -> &'static [&'static str] {
    const PRO: &[&str] = &["EXCHANGE_S_FOUNDATION", PRO_SERVICE_PLAN];
    const PPU: &[&str] = &["EXCHANGE_S_FOUNDATION", "BI_AZURE_P3", PRO_SERVICE_PLAN];
    const E5: &[&str] = &["EXCHANGE_S_ENTERPRISE", "TEAMS1", PRO_SERVICE_PLAN];
    const FREE: &[&str] = &["EXCHANGE_S_FOUNDATION", "BI_AZURE_P0"];
    const E3: &[&str] = &["EXCHANGE_S_ENTERPRISE", "TEAMS1"];
    match sku_part_number.to_ascii_uppercase().as_str() {
        "POWER_BI_PRO" | "POWER_BI_PRO_CE" | "POWER_BI_PRO_DEPT" | "POWER_BI_PRO_FACULTY" => PRO,
        "PBI_PREMIUM_PER_USER" | "PBI_PREMIUM_PER_USER_DEPT" | "PBI_PREMIUM_PER_USER_FACULTY" => {
            PPU
        }
        "SPE_E5"
        | "SPE_E5_NOPSTNCONF"
        | "SPE_E5_CALLINGMINUTES"
        | "MICROSOFT_365_E5"
        | "DEVELOPERPACK_E5"
        | "ENTERPRISEPREMIUM"
        | "ENTERPRISEPREMIUM_NOPSTNCONF"
        | "M365EDU_A5_FACULTY"
        | "M365EDU_A5_STUDENT"
        | "ENTERPRISEPREMIUM_FACULTY"
        | "ENTERPRISEPREMIUM_STUDENT" => E5,
        "POWER_BI_STANDARD" => FREE,
        "SPE_E3" | "ENTERPRISEPACK" | "SPB" => E3,
        _ => &[],
    }
}

/// The mailer when no mail sender is configured: every send is refused, and the engine does
/// not offer the proof by mailed code.
pub struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn send(&self, _mail: &Mail) -> Result<(), BackendError> {
        Err(BackendError::new(
            ErrorKind::Invalid,
            "no mail sender is configured (links.mail_sender)",
        ))
    }
}
