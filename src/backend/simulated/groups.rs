//! The simulated tenant's groups as Graph shows them: reading one, and changing its members
//! (`members/$ref`), idempotent as the port asks. Entra ID's group-based licensing follows a
//! membership change at once (the tenant file's [`sim::add_member`] evaluates it): a seat is
//! consumed once per user whatever the number of sources, and a group with a SKU short gives
//! the member none of its SKUs (`CountViolation`) until they are reprocessed.

use super::{pause, require_user, store_error, SimulatedTenant};
use crate::backend::{BackendError, DirectoryUser, ErrorKind};
use crate::store::simulated as sim;

/// A change of membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Membership {
    /// Becoming a member (already being one is success).
    Join,
    /// Leaving (not being a member is success).
    Leave,
}

/// Graph's answer for a group id it does not know. Not [`ErrorKind::UserNotFound`]: the
/// engine must not take a missing group for a missing person.
fn no_group(id: &str) -> BackendError {
    BackendError::new(
        ErrorKind::Invalid,
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects \
             are not present."
        ),
    )
}

/// Why the group's members cannot be changed by hand through Graph, if they cannot: a
/// dynamic group's follow its rule, a mail-enabled security or distribution group is
/// read-only in Graph (both 403, reference §1.3.4), and a synced group's are mastered
/// on-premises (Graph's exact answer is not documented, reference §1.3.5: this is its text
/// for changing an on-premises mastered object, unverified for members). The simulated app is taken to hold every permission it
/// could ask for, so a role-assignable group is changed like any other.
fn refuses_changes(g: &sim::Group) -> Option<BackendError> {
    if g.flags.members_fixed() {
        return Some(BackendError::new(
            ErrorKind::Forbidden,
            "Insufficient privileges to complete the operation.",
        ));
    }
    g.flags.synced.then(|| {
        BackendError::new(
            ErrorKind::Invalid,
            "Unable to update the specified properties for on-premises mastered Directory Sync \
             objects or objects currently undergoing migration.",
        )
    })
}

impl SimulatedTenant {
    /// The group with this id, after the call's latency.
    pub(super) async fn read_group(&self, id: &str) -> Result<sim::Group, BackendError> {
        pause(self.sim.latency).await;
        let mut conn = self.sim.store.read().await.map_err(store_error)?;
        sim::group(&mut conn, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| no_group(id))
    }

    /// Adds the user to the group or takes them out of it, with what group-based licensing
    /// does about it, in one transaction. The group is checked first, then the user.
    pub(super) async fn change_membership(
        &self,
        id: &str,
        user: &DirectoryUser,
        change: Membership,
    ) -> Result<(), BackendError> {
        let (mut tx, now) = self.sim.begin().await?;
        let group = sim::group(tx.conn().await.map_err(store_error)?, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| no_group(id))?;
        require_user(tx.conn().await.map_err(store_error)?, &user.upn, &user.id).await?;
        if let Some(refused) = refuses_changes(&group) {
            return Err(refused);
        }
        match change {
            Membership::Join => {
                sim::add_member(
                    tx.conn().await.map_err(store_error)?,
                    &group.id,
                    &user.upn,
                    now,
                )
                .await
            }
            Membership::Leave => {
                sim::remove_member(tx.conn().await.map_err(store_error)?, &group.id, &user.upn)
                    .await
            }
        }
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }
}
