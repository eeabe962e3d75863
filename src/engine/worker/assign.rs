//! Assigning the licence to a batch of users: the decider re-check and the users come from
//! one lookup; a change an earlier attempt may have sent is read back before sending again;
//! what was sent is read back until it shows.

use super::Worker;
use crate::domain::Upn;
use crate::engine::ports::{BackendError, DirectoryUser, ErrorKind};
use crate::said;
use crate::store::jobs::{self, Job};
use crate::t;

use super::verify::{FirstRead, NotShown};
use super::{Call, Claimed, Outcome, UserRead};

/// Each claimed job's outcome (when decided) and the calls made for it, by position.
type Results = [(Option<Outcome>, Vec<Call>)];

/// What to do for one user of the batch, decided from what was read.
enum Next {
    /// Nothing more: the outcome is known.
    Decided(Outcome),
    /// Send the assignment for this user (usage location already set when it was missing;
    /// the country set, for the outcome's words).
    Assign(DirectoryUser, Option<String>),
    /// An earlier attempt made the assignment: only read back.
    Verify,
}

/// A user whose assignment is read back: the job's position, the UPN, and the country set
/// as their usage location on the way.
struct Sent {
    i: usize,
    upn: Upn,
    location_set: Option<String>,
}

impl Worker {
    /// Assigns the licence to every user of `batch` (each with what the lookup just before
    /// found) in one batched call, then reads back.
    pub(super) async fn execute_assignments(
        &self,
        claimed: &[Claimed],
        batch: Vec<(usize, Upn, Result<DirectoryUser, BackendError>)>,
        results: &mut Results,
    ) {
        let sku = &self.core.cfg().sku_part_number;
        let (batch, mut found): (Vec<(usize, Upn)>, Vec<UserRead>) = batch
            .into_iter()
            .map(|(i, upn, user)| ((i, upn), user))
            .unzip();
        for ((i, _), user) in batch.iter().zip(&found) {
            results[*i].1.push(Call::of("get_user", user));
        }
        // An earlier attempt sent the assignment and was cut off: it may be made, and Graph
        // may show it late, so read back before assigning again.
        let cut_off: Vec<usize> = batch
            .iter()
            .enumerate()
            .filter(|(k, (i, _))| {
                let job = &claimed[*i].job;
                job.change_sent
                    && !job.verify_only
                    && found[*k].as_ref().is_ok_and(|u| !u.holds(sku))
            })
            .map(|(k, _)| k)
            .collect();
        self.read_back_cut_off(&batch, cut_off, &mut found, results)
            .await;
        let mut to_assign = Vec::new();
        let mut sent = Vec::new();
        for ((i, upn), user) in batch.into_iter().zip(found) {
            match self
                .next_step(&claimed[i].job, &upn, user, &mut results[i].1)
                .await
            {
                Next::Decided(outcome) => results[i].0 = Some(outcome),
                Next::Assign(user, location_set) => to_assign.push((i, upn, user, location_set)),
                Next::Verify => sent.push(Sent {
                    i,
                    upn,
                    location_set: None,
                }),
            }
        }
        sent.extend(self.send_assignments(to_assign, results).await);
        self.verify_assignments(sent, results).await;
    }

    /// What to do for one user, from what was read: held already, only verify, refused by
    /// the directory's state, or assign (setting the usage location first when missing).
    async fn next_step(&self, job: &Job, upn: &Upn, user: UserRead, calls: &mut Vec<Call>) -> Next {
        let mut user = match user {
            Ok(u) => u,
            Err(e) => return Next::Decided(self.classify(e)),
        };
        if user.holds(&self.core.cfg().sku_part_number) {
            // Held before this job acted, unless an earlier attempt may have assigned it.
            return Next::Decided(Outcome::Done(if job.verify_only || job.change_sent {
                said!("outcome.assigned", upn = upn)
            } else {
                said!("outcome.already_held", upn = upn)
            }));
        }
        if job.verify_only {
            // The assignment was made on an earlier attempt; only check again.
            return Next::Verify;
        }
        if !user.account_enabled {
            return Next::Decided(Outcome::Permanent(t!(
                self.core.texts(),
                "policy.disabled",
                upn = upn
            )));
        }
        match self.give_usage_location(&mut user, upn, calls).await {
            Ok(location_set) => Next::Assign(user, location_set),
            Err(outcome) => Next::Decided(outcome),
        }
    }

    /// Gives a user without a usage location the configured default (Microsoft refuses a
    /// licence without one); returns the location set, if one was. The error is the job's
    /// outcome: no default configured, or the change refused.
    pub(super) async fn give_usage_location(
        &self,
        user: &mut DirectoryUser,
        upn: &Upn,
        calls: &mut Vec<Call>,
    ) -> Result<Option<String>, Outcome> {
        if user.usage_location.is_some() {
            return Ok(None);
        }
        let Some(country) = self.core.cfg().default_usage_location.clone() else {
            return Err(Outcome::Permanent(t!(
                self.core.texts(),
                "outcome.no_usage_location",
                upn = upn
            )));
        };
        let set = self
            .directory
            .tenant
            .set_usage_location(user, &country)
            .await;
        calls.push(Call::of("set_usage_location", &set));
        if let Err(e) = set {
            return Err(self.classify(e));
        }
        let location_set = Some(country.to_string());
        user.usage_location = Some(country);
        Ok(location_set)
    }

    /// Sends the assignments in one batched call; returns those the directory accepted, to
    /// read back.
    async fn send_assignments(
        &self,
        to_assign: Vec<(usize, Upn, DirectoryUser, Option<String>)>,
        results: &mut Results,
    ) -> Vec<Sent> {
        if to_assign.is_empty() {
            return Vec::new();
        }
        // The claim recorded that these attempts may send (`jobs::claim_next`).
        let users: Vec<DirectoryUser> = to_assign.iter().map(|(_, _, u, _)| u.clone()).collect();
        let outcomes = self.directory.tenant.assign_many(&users).await;
        let size = users.len();
        let mut sent = Vec::new();
        for ((i, upn, _, location_set), r) in to_assign.into_iter().zip(outcomes) {
            let mut call = Call::of("assign_licence", &r);
            if size > 1 {
                call.outcome = format!("{} (batch of {size})", call.outcome);
            }
            results[i].1.push(call);
            match r {
                Ok(()) => sent.push(Sent {
                    i,
                    upn,
                    location_set,
                }),
                Err(e) => results[i].0 = Some(self.classify(e)),
            }
        }
        sent
    }

    /// Reads the users of `sent` back together until each shows the licence; one that never
    /// does is unverified (checked again later, never assigned again).
    async fn verify_assignments(&self, sent: Vec<Sent>, results: &mut Results) {
        if sent.is_empty() {
            return;
        }
        let sku = &self.core.cfg().sku_part_number;
        let ((pending, results), _) = self
            .read_back(
                FirstRead::Now,
                (sent, results),
                |(pending, results)| async move {
                    let upns: Vec<Upn> = pending.iter().map(|s| s.upn.clone()).collect();
                    let seen = self.directory.tenant.users(&upns).await;
                    let mut still = Vec::new();
                    for (s, r) in pending.into_iter().zip(seen) {
                        results[s.i].1.push(Call::of("verify_user", &r));
                        match r {
                            Ok(u) if u.holds(sku) => results[s.i].0 = Some(self.assigned(&s)),
                            Ok(_) => still.push(s),
                            Err(e) if e.is_transient() => still.push(s),
                            Err(e) => results[s.i].0 = Some(self.classify(e)),
                        }
                    }
                    let shown = if still.is_empty() {
                        Ok(())
                    } else {
                        Err(NotShown::<()>::Yet)
                    };
                    ((still, results), shown)
                },
            )
            .await;
        for s in pending {
            results[s.i].0 = Some(Outcome::Unverified(t!(
                self.core.texts(),
                "outcome.assignment_not_shown"
            )));
        }
    }

    /// The outcome of an assignment that shows on read-back.
    fn assigned(&self, s: &Sent) -> Outcome {
        Outcome::Done(match &s.location_set {
            Some(country) => said!(
                "outcome.assigned_with_location",
                upn = s.upn,
                country = country
            ),
            None => said!("outcome.assigned", upn = s.upn),
        })
    }

    /// Records when these jobs send their change (`sent_at`), in its own commit before the
    /// call: the read-back of a group's licence and of a moved seat measures its wait from
    /// it. (That the attempt may send, `change_sent`, its claim recorded already.) A failure
    /// to record it (a locked or full database) is transient: nothing has been sent.
    pub(super) async fn mark_change_sent(&self, ids: &[i64]) -> Result<(), BackendError> {
        let result = async {
            let mut w = self.core.store().write().await?;
            jobs::mark_change_sent(w.conn().await?, ids, self.core.now()).await?;
            w.commit().await
        }
        .await;
        result.map_err(|e| {
            tracing::warn!(error = %e, "could not record a change as sent; not sending it now");
            BackendError::new(
                ErrorKind::Transient,
                format!("could not record the change before sending it: {e}"),
            )
        })
    }

    /// Reads the users at `cut_off` (positions in `batch`) back again, until each shows the
    /// licence or `jobs.verify_attempts` reads (the first included) are done; updates `found`.
    async fn read_back_cut_off(
        &self,
        batch: &[(usize, Upn)],
        cut_off: Vec<usize>,
        found: &mut [UserRead],
        results: &mut Results,
    ) {
        if cut_off.is_empty() {
            return;
        }
        let sku = &self.core.cfg().sku_part_number;
        let state = (cut_off, found, results);
        let ((pending, ..), _) = self
            .read_back(
                FirstRead::AfterInterval,
                state,
                |(pending, found, results)| async move {
                    let upns: Vec<Upn> = pending.iter().map(|k| batch[*k].1.clone()).collect();
                    let seen = self.directory.tenant.users(&upns).await;
                    let mut still = Vec::new();
                    for (k, r) in pending.into_iter().zip(seen) {
                        results[batch[k].0].1.push(Call::of("verify_user", &r));
                        match r {
                            Ok(u) if u.holds(sku) => found[k] = Ok(u),
                            Ok(u) => {
                                found[k] = Ok(u);
                                still.push(k);
                            }
                            // Keep what the first read said; a later read may still show it.
                            Err(_) => still.push(k),
                        }
                    }
                    let shown = if still.is_empty() {
                        Ok(())
                    } else {
                        Err(NotShown::<()>::Yet)
                    };
                    ((still, found, results), shown)
                },
            )
            .await;
        if !pending.is_empty() {
            tracing::warn!(
                users = pending.len(),
                "an assignment sent by a cut-off attempt does not show on read-back; assigning again"
            );
        }
    }
}
