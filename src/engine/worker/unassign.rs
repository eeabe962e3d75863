//! Removing the licence from one user, read back before and after.

use super::Worker;
use crate::domain::Upn;
use crate::engine::ports::DirectoryUser;
use crate::said;
use crate::store::jobs::Job;
use crate::t;

use super::verify::{FirstRead, NotShown};
use super::{Call, Outcome};

impl Worker {
    pub(super) async fn execute_unassign(
        &self,
        upn: &Upn,
        job: &Job,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        let sku = self.core.cfg().sku_part_number.clone();
        let verify_only = job.verify_only;
        let user = self.directory.tenant.user(upn).await;
        calls.push(Call::of("get_user", &user));
        let mut user = match user {
            Ok(u) => u,
            Err(e) => return self.classify(e),
        };
        if job.change_sent && !verify_only && user.holds(&sku) {
            // An earlier attempt sent the removal and was cut off: read back first.
            user = self.read_back_cut_off_removal(upn, user, calls).await;
        }
        if !user.holds(&sku) {
            return Outcome::Done(if verify_only || job.change_sent {
                said!("outcome.removed", upn = upn)
            } else {
                said!("outcome.not_held", upn = upn)
            });
        }
        if !verify_only {
            // The claim recorded that this attempt may send (`jobs::claim_next`).
            let removed = self.directory.tenant.unassign(&user).await;
            calls.push(Call::of("remove_licence", &removed));
            if let Err(e) = removed {
                return self.classify(e);
            }
        }
        match self.read_until(upn, calls, |u| !u.holds(&sku)).await {
            Ok(()) => Outcome::Done(said!("outcome.removed", upn = upn)),
            Err(NotShown::Stop(outcome)) => outcome,
            Err(NotShown::Yet) => {
                Outcome::Unverified(t!(self.core.texts(), "outcome.removal_not_shown"))
            }
        }
    }

    /// Reads `upn` back after an interval while the licence still shows (a removal a cut-off
    /// attempt sent may show late); returns the last successful read, else `user`.
    async fn read_back_cut_off_removal(
        &self,
        upn: &Upn,
        user: DirectoryUser,
        calls: &mut Vec<Call>,
    ) -> DirectoryUser {
        let sku = &self.core.cfg().sku_part_number;
        let ((_, user), _) = self
            .read_back(
                FirstRead::AfterInterval,
                (calls, user),
                |(calls, user)| async move {
                    let check = self.directory.tenant.user(upn).await;
                    calls.push(Call::of("verify_user", &check));
                    match check {
                        Ok(u) if !u.holds(sku) => ((calls, u), Ok(())),
                        Ok(u) => ((calls, u), Err(NotShown::<()>::Yet)),
                        // Keep what the last good read said; a later read may still show it.
                        Err(_) => ((calls, user), Err(NotShown::Yet)),
                    }
                },
            )
            .await;
        user
    }
}
