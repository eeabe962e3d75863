//! The simulated tenant: the embedded default backend. Its state lives in a SQLite file of
//! its own beside the bot's store ([`TenantStore`]), seeded from `[backend.simulated]`, and it fails the way Microsoft
//! Graph fails (no free seat, invalid usage location, unknown user, mutually exclusive SKUs,
//! a licence inherited from a group removed directly), with Graph's own messages, so the
//! engine meets the same errors it will meet for real. Its groups license their members as
//! Entra ID's group-based licensing does (see `groups.rs`); its users' last sign-ins are
//! configured and kept in the file, and always known (as with Entra ID P1).

mod groups;
mod mailbox;

use std::time::Duration;

use async_trait::async_trait;

use super::{
    known_service_plans, plan_grants_pro, Activity, AssignmentError, AssignmentState, BackendError,
    DirectoryUser, ErrorKind, GroupInfo, GroupState, HeldLicence, LicenceSource, LicensingGroup,
    PurchaseProgress, Purchaser, SeatOrder, Seats, Tenant, UserActivity,
};
use crate::domain::{CountryCode, RoleSet, Upn};
use crate::engine::clock::Clock;
use crate::store::simulated::{self as sim, TenantStore};
use crate::store::{self, Timestamp, WriteTx};

pub use mailbox::SimulatedMailbox;

/// The simulated tenant.
pub struct SimulatedTenant {
    sim: Simulated,
}

/// What the simulated tenant and purchaser share: the database that holds the tenant, the SKU
/// they manage, the latency every call waits, and the clock.
#[derive(Clone)]
struct Simulated {
    store: TenantStore,
    sku: String,
    latency: Duration,
    clock: std::sync::Arc<dyn Clock>,
}

impl Simulated {
    /// Waits the call's latency, then begins a write on the tenant; returns it with the time
    /// the call is made at.
    async fn begin(&self) -> Result<(WriteTx<'_>, Timestamp), BackendError> {
        pause(self.latency).await;
        let now = self.clock.now();
        let tx = self.store.write().await.map_err(store_error)?;
        Ok((tx, now))
    }

    /// The error of a call about the managed SKU when the tenant does not have it.
    fn no_sku(&self) -> BackendError {
        BackendError::new(
            ErrorKind::Invalid,
            format!("the tenant has no SKU {}", self.sku),
        )
    }
}

impl SimulatedTenant {
    /// A tenant that manages `sku` (e.g. `POWER_BI_PRO`), adding `latency` to every call.
    pub fn new(
        store: TenantStore,
        sku: impl Into<String>,
        latency: Duration,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Self {
        let sim = Simulated {
            store,
            sku: sku.into(),
            latency,
            clock,
        };
        SimulatedTenant { sim }
    }

    /// The purchaser that buys seats of this tenant's SKU, with the same latency and clock.
    pub fn purchaser(&self) -> SimulatedPurchaser {
        SimulatedPurchaser {
            sim: self.sim.clone(),
        }
    }

    async fn grants_pro(
        &self,
        conn: &mut sqlx::AnyConnection,
        part: &str,
    ) -> Result<bool, BackendError> {
        let configured = sim::sku(conn, part).await.map_err(store_error)?;
        Ok(match configured {
            Some(s) if !s.service_plans.is_empty() => {
                s.service_plans.iter().any(|p| plan_grants_pro(p))
            }
            _ => known_service_plans(part).iter().any(|p| plan_grants_pro(p)),
        })
    }

    async fn load_user(&self, upn: &Upn) -> Result<(DirectoryUser, RoleSet), BackendError> {
        let mut conn = self.sim.store.read().await.map_err(store_error)?;
        let u = sim::user(&mut conn, upn)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                BackendError::new(
                    ErrorKind::UserNotFound,
                    format!(
                        "Resource '{upn}' does not exist or one of its queried reference-property \
                     objects are not present."
                    ),
                )
            })?;
        let upn_text = u.upn.to_string();
        let mut licences = Vec::new();
        for part in &u.licenses {
            // One entry per source, as Graph's licenseAssignmentStates has: direct first.
            let mut sources = Vec::new();
            if u.holds_directly(part) {
                sources.push(LicenceSource::Direct);
            }
            sources.extend(
                u.groups_giving(part)
                    .map(|g| LicenceSource::Group(g.to_string())),
            );
            licences.push(HeldLicence {
                sku_part_number: part.clone(),
                grants_pro: self.grants_pro(&mut conn, part).await?,
                sources,
            });
        }
        let group_states = u.group_states.iter().map(group_state).collect();
        Ok((
            DirectoryUser {
                id: u.id,
                upn: u.upn,
                display_name: u.display_name,
                usage_location: u.usage_location,
                user_type: u.user_type,
                account_enabled: u.account_enabled,
                mail: Some(u.mail.unwrap_or_else(|| upn_text.clone())),
                licences,
                group_states,
            },
            u.roles,
        ))
    }
}

/// A member's state of a group's SKU, in the port's terms.
fn group_state(s: &sim::MemberState) -> GroupState {
    GroupState {
        group: s.group.clone(),
        sku_part_number: s.sku_part_number.clone(),
        state: match &s.state {
            sim::GroupLicenceState::Active => AssignmentState::Active,
            sim::GroupLicenceState::Error(word) => {
                AssignmentState::Failed(AssignmentError::from_word(word))
            }
        },
    }
}

/// Waits for the configured latency of a simulated call.
async fn pause(latency: Duration) {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// Fails as Graph does for a user the tenant does not have, naming them as `shown`.
async fn require_user(
    conn: &mut sqlx::AnyConnection,
    upn: &Upn,
    shown: &(dyn std::fmt::Display + Sync),
) -> Result<sim::User, BackendError> {
    sim::user(conn, upn)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            BackendError::new(
                ErrorKind::UserNotFound,
                format!("Resource '{shown}' does not exist."),
            )
        })
}

fn store_error(e: store::StoreError) -> BackendError {
    BackendError::new(
        ErrorKind::Transient,
        format!("simulated tenant storage: {e}"),
    )
}

#[async_trait]
impl Tenant for SimulatedTenant {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn user(&self, upn: &Upn) -> Result<DirectoryUser, BackendError> {
        pause(self.sim.latency).await;
        Ok(self.load_user(upn).await?.0)
    }

    async fn roles(&self, upn: &Upn) -> Result<RoleSet, BackendError> {
        pause(self.sim.latency).await;
        Ok(self.load_user(upn).await?.1)
    }

    async fn seats(&self) -> Result<Seats, BackendError> {
        pause(self.sim.latency).await;
        let mut conn = self.sim.store.read().await.map_err(store_error)?;
        let s = sim::sku(&mut conn, &self.sim.sku)
            .await
            .map_err(store_error)?
            .ok_or_else(|| self.sim.no_sku())?;
        Ok(Seats {
            enabled: s.enabled,
            consumed: s.consumed,
            unit_price_monthly: Some(s.unit_price_monthly),
        })
    }

    async fn group(&self, id: &str) -> Result<GroupInfo, BackendError> {
        let g = self.read_group(id).await?;
        Ok(GroupInfo {
            id: g.id,
            display_name: g.display_name,
            owners: g.owners.iter().map(ToString::to_string).collect(),
        })
    }

    async fn licensing_group(&self, id: &str) -> Result<LicensingGroup, BackendError> {
        let g = self.read_group(id).await?;
        Ok(LicensingGroup {
            id: g.id,
            display_name: g.display_name,
            flags: g.flags,
            skus: g.skus,
        })
    }

    async fn add_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        self.change_membership(group, user, groups::Membership::Join)
            .await
    }

    async fn remove_member(&self, group: &str, user: &DirectoryUser) -> Result<(), BackendError> {
        self.change_membership(group, user, groups::Membership::Leave)
            .await
    }

    /// The sign-ins the tenant keeps (seeded from `[[backend.simulated.users]]`), both known
    /// as in a tenant with Entra ID P1: users not asked about, and users it does not have,
    /// are left out; the last sign-in is the later of the two kept (a sign-in to Power BI is
    /// a sign-in); the Power BI one counts only at or after `since`.
    async fn activity(
        &self,
        upns: &[Upn],
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Activity, BackendError> {
        pause(self.sim.latency).await;
        let mut conn = self.sim.store.read().await.map_err(store_error)?;
        let kept = sim::sign_ins(&mut conn, upns).await.map_err(store_error)?;
        let users = kept
            .into_iter()
            .map(|s| UserActivity {
                last_sign_in: s.last_sign_in.max(s.last_power_bi_sign_in),
                last_power_bi: s.last_power_bi_sign_in.filter(|t| *t >= since),
                upn: s.upn,
            })
            .collect();
        Ok(Activity {
            users,
            sign_in_unknown: None,
            power_bi_unknown: None,
        })
    }

    async fn holders(&self) -> Result<Vec<DirectoryUser>, BackendError> {
        pause(self.sim.latency).await;
        let upns: Vec<Upn> = {
            let mut conn = self.sim.store.read().await.map_err(store_error)?;
            sim::holders(&mut conn, &self.sim.sku)
                .await
                .map_err(store_error)?
        };
        let mut out = Vec::with_capacity(upns.len());
        for upn in &upns {
            out.push(self.load_user(upn).await?.0);
        }
        Ok(out)
    }

    async fn members(&self, group: &str) -> Result<Vec<Upn>, BackendError> {
        self.group(group).await?;
        let mut conn = self.sim.store.read().await.map_err(store_error)?;
        sim::members(&mut conn, group).await.map_err(store_error)
    }

    /// Evaluates each of the user's group licences again: one in error for want of a seat
    /// becomes active if a seat was freed or bought since.
    async fn reprocess(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        let (mut tx, now) = self.sim.begin().await?;
        require_user(tx.conn().await.map_err(store_error)?, &user.upn, &user.id).await?;
        sim::reprocess(tx.conn().await.map_err(store_error)?, &user.upn, now)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    async fn set_usage_location(
        &self,
        user: &DirectoryUser,
        country: &CountryCode,
    ) -> Result<(), BackendError> {
        let (mut tx, _) = self.sim.begin().await?;
        require_user(tx.conn().await.map_err(store_error)?, &user.upn, &user.id).await?;
        sim::set_usage_location(tx.conn().await.map_err(store_error)?, &user.upn, country)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    /// Checks in the order the reference documents for Graph's assignLicense: unknown user,
    /// unknown SKU, usage location, free seats, mutually exclusive plans. Assigning a SKU the
    /// user already holds directly is a no-op success, as Graph's is; one they hold from a
    /// group gains a direct source without a seat of its own (its plans are already theirs:
    /// no seat or conflict check).
    async fn assign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        let (mut tx, now) = self.sim.begin().await?;
        let Some(u) = sim::user(tx.conn().await.map_err(store_error)?, &user.upn)
            .await
            .map_err(store_error)?
        else {
            return Err(BackendError::new(
                ErrorKind::UserNotFound,
                format!("Resource '{}' does not exist or one of its queried reference-property objects are not present.", user.upn),
            ));
        };
        let Some(sku) = sim::sku(tx.conn().await.map_err(store_error)?, &self.sim.sku)
            .await
            .map_err(store_error)?
        else {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                format!(
                    "License {} does not correspond to a valid company License.",
                    self.sim.sku
                ),
            ));
        };
        if u.holds_directly(&self.sim.sku) {
            return Ok(());
        }
        if u.usage_location.is_none() {
            return Err(BackendError::new(
                ErrorKind::InvalidUsageLocation,
                "License assignment cannot be done for user with invalid usage location.",
            ));
        }
        // Held from a group: the direct assignment is one more source of the same product,
        // which consumes no second seat.
        let from_group = u.holds(&self.sim.sku);
        if !from_group && sku.enabled - sku.consumed <= 0 {
            return Err(BackendError::new(
                ErrorKind::NoFreeSeat,
                format!(
                    "Subscription with SKU {} does not have any available licenses.",
                    sku.sku_id
                ),
            ));
        }
        // Pro and Premium Per User both carry BI_AZURE_P2; the simulated tenant treats holding
        // one while adding the other as Graph's mutually-exclusive-plans error. A product held
        // from a group adds no plan the user does not have already.
        let conflicting = if from_group {
            None
        } else {
            u.licenses
                .iter()
                .find(|l| l.to_ascii_uppercase().starts_with("PBI_PREMIUM_PER_USER"))
        };
        if let Some(other) = conflicting {
            return Err(BackendError::new(
                ErrorKind::Conflict,
                format!(
                    "License assignment failed because service plans {} and {} are mutually exclusive.",
                    self.sim.sku, other
                ),
            ));
        }
        sim::assign(
            tx.conn().await.map_err(store_error)?,
            &u.upn,
            &self.sim.sku,
            now,
        )
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    /// Removes the direct assignment. A licence held only from groups cannot be removed
    /// from the user (Graph's 400; only leaving the group takes it away), and nothing
    /// changes; beside a group's, the direct source goes and the seat stays in use.
    async fn unassign(&self, user: &DirectoryUser) -> Result<(), BackendError> {
        let (mut tx, _) = self.sim.begin().await?;
        let u = require_user(tx.conn().await.map_err(store_error)?, &user.upn, &user.upn).await?;
        let inherited = u.groups_giving(&self.sim.sku).next().is_some();
        if inherited && !u.holds_directly(&self.sim.sku) {
            return Err(BackendError::new(
                ErrorKind::Invalid,
                "User license is inherited from a group membership and it cannot be removed \
                 directly from the user.",
            ));
        }
        sim::unassign(
            tx.conn().await.map_err(store_error)?,
            &user.upn,
            &self.sim.sku,
        )
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }
}

/// Buys seats in the simulated tenant: applies the absolute target under the order's
/// idempotency key, like a Partner Center quantity change with an `MS-RequestId`. Made by
/// [`SimulatedTenant::purchaser`].
pub struct SimulatedPurchaser {
    sim: Simulated,
}

#[async_trait]
impl Purchaser for SimulatedPurchaser {
    fn name(&self) -> &'static str {
        "simulated"
    }

    /// Lowers the seats like a quantity decrease inside Microsoft's reduction window (the
    /// simulated tenant has no window), refusing to go below the seats assigned.
    async fn lower_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        let (mut tx, now) = self.sim.begin().await?;
        let result = sim::reduce(
            tx.conn().await.map_err(store_error)?,
            &order.idempotency_key,
            &self.sim.sku,
            order.target_seats,
            now,
        )
        .await
        .map_err(store_error)?
        .ok_or_else(|| self.sim.no_sku())?;
        let changed = match result {
            Ok(r) => r,
            Err(assigned) => {
                return Err(BackendError::new(
                    ErrorKind::Invalid,
                    format!(
                        "You can't reduce the number of licenses below the {assigned} that are assigned to users."
                    ),
                ))
            }
        };
        tx.commit().await.map_err(store_error)?;
        Ok(PurchaseProgress::Done {
            enabled: changed.to,
        })
    }

    async fn raise_seats(&self, order: &SeatOrder) -> Result<PurchaseProgress, BackendError> {
        let (mut tx, now) = self.sim.begin().await?;
        let result = sim::purchase(
            tx.conn().await.map_err(store_error)?,
            &order.idempotency_key,
            &self.sim.sku,
            order.target_seats,
            order.billing_cycle,
            now,
        )
        .await
        .map_err(store_error)?
        .ok_or_else(|| self.sim.no_sku())?;
        // The count now (a repeated key answers with its first change, and later purchases
        // may have raised it since), read in the same transaction.
        let enabled = sim::sku(tx.conn().await.map_err(store_error)?, &self.sim.sku)
            .await
            .map_err(store_error)?
            .map_or(result.to, |s| s.enabled);
        tx.commit().await.map_err(store_error)?;
        Ok(PurchaseProgress::Done { enabled })
    }
}
