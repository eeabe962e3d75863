//! Moving a seat nobody uses to the person who asked, instead of buying one (a reclaim whose
//! grace period is over; `reclaim.rs`): one job takes the licence from the holder, reads that
//! back, then gives it to the requester and reads that back.
//!
//! Every step can be repeated after a crash: a holder who no longer holds the licence is
//! past the first step (the seat is free), a requester who holds it is done. In group mode
//! each step goes through the licensing group and waits for Entra ID like any membership.

use super::verify::NotShown;
use super::{Call, Claimed, Outcome, UserRead, Worker};
use crate::domain::Upn;
use crate::engine::ports::{DirectoryUser, LicenceSource};
use crate::said;
use crate::store::jobs::Job;
use crate::t;

impl Worker {
    /// Takes the licence from `from` and gives it to `to`.
    pub(super) async fn execute_move(
        &self,
        c: &Claimed,
        from: &Upn,
        to: &Upn,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        if let Err(waiting) = self.take_from(&c.job, from, calls).await {
            return waiting;
        }
        let user = self.directory.tenant.user(to).await;
        calls.push(Call::of("get_user", &user));
        // The first step sent its change: the second decides its own from the group's state.
        let second = Job {
            verify_only: false,
            change_sent: true,
            ..c.job.clone()
        };
        let given = match self.core.cfg().licensing.group() {
            Some(group) => self.execute_join(&second, group, to, user, calls).await,
            None => self.give_directly(to, user, calls).await,
        };
        match given {
            Outcome::Done(detail) => {
                Outcome::Done(said!("reclaim.moved", from = from, detail = detail))
            }
            other => other,
        }
    }

    /// The first step: `from` no longer holds the licence (taken now, or already). `Err` is
    /// the outcome while it still shows, or when the bot cannot take it.
    async fn take_from(&self, job: &Job, from: &Upn, calls: &mut Vec<Call>) -> Result<(), Outcome> {
        let sku = &self.core.cfg().sku_part_number;
        let user = self.directory.tenant.user(from).await;
        calls.push(Call::of("get_user", &user));
        let user = user.map_err(|e| self.classify(e))?;
        let Some(licence) = user.licence(sku) else {
            return Ok(());
        };
        let group = self.core.cfg().licensing.group();
        let direct = licence.sources.contains(&LicenceSource::Direct);
        let member = group.is_some_and(|g| licence.groups().any(|x| x.eq_ignore_ascii_case(g)));
        if !direct && !member {
            return Err(Outcome::Permanent(t!(
                self.core.texts(),
                "reclaim.cannot_take",
                upn = from
            )));
        }
        if !(job.change_sent || job.verify_only) {
            self.mark_change_sent(&[job.id])
                .await
                .map_err(Outcome::Transient)?;
            if let (true, Some(g)) = (member, group) {
                let left = self.directory.tenant.remove_member(g, &user).await;
                calls.push(Call::of("remove_member", &left));
                left.map_err(|e| self.classify(e))?;
            }
            if direct {
                let removed = self.directory.tenant.unassign(&user).await;
                calls.push(Call::of("remove_licence", &removed));
                removed.map_err(|e| self.classify(e))?;
            }
        }
        self.until_gone(job, from, calls).await
    }

    /// Reads `from` back until the licence is gone; a wait (group mode: Entra ID takes it
    /// away in its time) or a later check while it shows.
    async fn until_gone(
        &self,
        job: &Job,
        from: &Upn,
        calls: &mut Vec<Call>,
    ) -> Result<(), Outcome> {
        let sku = &self.core.cfg().sku_part_number;
        match self.read_until(from, calls, |u| !u.holds(sku)).await {
            Ok(()) => Ok(()),
            Err(NotShown::Stop(outcome)) => Err(outcome),
            // A group takes its licence away in its own time, bounded by group_wait.
            Err(NotShown::Yet) if self.core.cfg().licensing.group().is_some() => {
                let since = job.sent_at.unwrap_or_else(|| self.core.now());
                Err(self.still_applying(from, since, true).await)
            }
            Err(NotShown::Yet) => Err(Outcome::Unverified(t!(
                self.core.texts(),
                "outcome.removal_not_shown"
            ))),
        }
    }

    /// The second step in direct mode: `to` gets the licence (with the default usage
    /// location when they have none), read back.
    async fn give_directly(&self, to: &Upn, user: UserRead, calls: &mut Vec<Call>) -> Outcome {
        let sku = &self.core.cfg().sku_part_number;
        let mut user: DirectoryUser = match user {
            Ok(u) => u,
            Err(e) => return self.classify(e),
        };
        if !user.holds(sku) {
            if let Err(outcome) = self.give_usage_location(&mut user, to, calls).await {
                return outcome;
            }
            let assigned = self.directory.tenant.assign(&user).await;
            calls.push(Call::of("assign_licence", &assigned));
            if let Err(e) = assigned {
                return self.classify(e);
            }
        }
        match self.read_until(to, calls, |u| u.holds(sku)).await {
            Ok(()) => Outcome::Done(said!("outcome.assigned", upn = to)),
            Err(NotShown::Stop(outcome)) => outcome,
            Err(NotShown::Yet) => {
                Outcome::Unverified(t!(self.core.texts(), "outcome.assignment_not_shown"))
            }
        }
    }
}
