//! Group mode: the licence is given by making the person a member of the licensing group and
//! taken by taking them out of it; the bot never assigns it to them directly. Entra ID
//! applies a group's licence asynchronously, so a job reads the person's assignment states
//! back (the group's entry for the managed SKU) and, while that is not decided, waits and
//! looks again, up to `licensing.group_wait` after it last asked for something. What the
//! group reports is handled for what it means:
//! - `CountViolation`: when a seat shows free now (one was freed meanwhile), Entra ID is asked
//!   to reprocess the person; when none is, the membership is taken back and a purchase
//!   stage goes before the assignment. Once the seat is bought the job adds the member again
//!   (reprocessing if Entra ID still holds the old error). Taking the membership back means
//!   a purchase that is denied or expires leaves nobody in the group without a request.
//! - `ProhibitedInUsageLocationViolation`: a person without a usage location (the tenant's
//!   location applied) gets the configured default, then is reprocessed; a person with a
//!   location of their own keeps it, and the request fails naming it.
//! - anything else: the request fails naming the cause, and a membership the bot added is
//!   taken back, so the person is not licensed later without a request.
//!
//! Reprocessing is bounded by `jobs.max_attempts` per job: a seat that shows free while
//! Entra ID keeps reporting none must not be asked about forever.

use std::time::Duration;

use super::verify::{FirstRead, NotShown};
use super::{Call, Outcome, UserRead, Worker};
use crate::domain::Upn;
use crate::engine::ports::{AssignmentError, AssignmentState, DirectoryUser, LicenceSource};
use crate::said;
use crate::store::jobs::{self, Job};
use crate::store::Timestamp;
use crate::t;

/// The longest pause between two looks at a group that is still applying its licence.
const LONGEST_LOOK: Duration = Duration::from_secs(600);

/// What a read-back of the group's entry found.
enum Decided {
    Active,
    Failed(Box<DirectoryUser>, AssignmentError),
}

impl Worker {
    /// Gives `upn` the licence through `group`: adds the member (unless an earlier attempt
    /// did), then watches the group's entry.
    pub(super) async fn execute_join(
        &self,
        job: &Job,
        group: &str,
        upn: &Upn,
        user: UserRead,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        let user = match user {
            Ok(u) => u,
            Err(e) => return self.classify(e),
        };
        let sku = &self.core.cfg().sku_part_number;
        let ours = job.verify_only || job.change_sent;
        let mut since = job.sent_at.unwrap_or_else(|| self.core.now());
        match user.from_group(group, sku).cloned() {
            Some(AssignmentState::Active) => return self.joined(upn, ours).await,
            Some(AssignmentState::Failed(e)) => {
                return self.group_refused(job, group, user, e, ours, calls).await
            }
            Some(AssignmentState::Processing) => {}
            // Made by an earlier attempt, not applied yet: only watch.
            None if job.verify_only => {}
            None => {
                if !ours && (user.holds(sku) || user.pro_from().is_some()) {
                    return Outcome::Done(said!("outcome.already_held", upn = upn));
                }
                if !user.account_enabled {
                    return Outcome::Permanent(t!(self.core.texts(), "policy.disabled", upn = upn));
                }
                if let Err(e) = self.mark_change_sent(&[job.id]).await {
                    return Outcome::Transient(e);
                }
                since = self.core.now();
                let added = self.directory.tenant.add_member(group, &user).await;
                calls.push(Call::of("add_member", &added));
                if let Err(e) = added {
                    return self.classify(e);
                }
            }
        }
        self.watch_group(job, group, upn, since, false, calls).await
    }

    /// Reads the group's entry back until it is decided; still applying after the reads is
    /// a wait, or a failure once `licensing.group_wait` has passed since `since`. Right after
    /// a reprocessing (`reprocessed`) an error may still be the old one, so this attempt
    /// waits it out; the next takes it as said.
    async fn watch_group(
        &self,
        job: &Job,
        group: &str,
        upn: &Upn,
        since: Timestamp,
        reprocessed: bool,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        let sku = &self.core.cfg().sku_part_number;
        let (calls, read) = self
            .read_back(FirstRead::Now, calls, |calls| async move {
                let check = self.directory.tenant.user(upn).await;
                calls.push(Call::of("verify_user", &check));
                let decided = match check {
                    Ok(u) => match u.from_group(group, sku).cloned() {
                        Some(AssignmentState::Active) => Ok(Decided::Active),
                        Some(AssignmentState::Failed(e)) if !reprocessed => {
                            Ok(Decided::Failed(Box::new(u), e))
                        }
                        _ => Err(NotShown::Yet),
                    },
                    Err(e) if e.is_transient() => Err(NotShown::Yet),
                    Err(e) => Err(NotShown::Stop(self.classify(e))),
                };
                (calls, decided)
            })
            .await;
        match read {
            Ok(Decided::Active) => self.joined(upn, true).await,
            Ok(Decided::Failed(user, e)) => {
                self.group_refused(job, group, *user, e, true, calls).await
            }
            Err(NotShown::Stop(outcome)) => outcome,
            Err(NotShown::Yet) => self.still_applying(upn, since, false).await,
        }
    }

    /// The group has not applied the change yet (`leaving`: taken its licence away): look
    /// again after as long as it has taken so far (between `jobs.verify_interval` and ten
    /// minutes), until `licensing.group_wait`.
    pub(super) async fn still_applying(
        &self,
        upn: &Upn,
        since: Timestamp,
        leaving: bool,
    ) -> Outcome {
        let wait = match &self.core.cfg().licensing {
            crate::engine::config::Licensing::Group { wait, .. } => *wait,
            crate::engine::config::Licensing::Direct => Duration::ZERO,
        };
        let taken = (self.core.now() - since).to_std().unwrap_or_default();
        if taken >= wait {
            let group = self.directory.managed_group_name().await;
            let wait = humantime::format_duration(wait);
            let leaving = if leaving { "yes" } else { "no" };
            return Outcome::Permanent(t!(
                self.core.texts(),
                "outcome.group_slow",
                group = group,
                upn = upn,
                wait = wait,
                leaving = leaving
            ));
        }
        let after = taken
            .max(self.core.cfg().jobs.verify_interval)
            .min(LONGEST_LOOK);
        let after = Duration::from_secs(after.as_secs().max(1));
        Outcome::Applying {
            note: t!(
                self.core.texts(),
                "outcome.group_applying",
                after = humantime::format_duration(after)
            ),
            after,
        }
    }

    /// The group's licence is in force: done (said as assigned when the bot made it so).
    async fn joined(&self, upn: &Upn, ours: bool) -> Outcome {
        Outcome::Done(if ours {
            said!(
                "outcome.assigned_by_group",
                upn = upn,
                group = self.directory.managed_group_name().await
            )
        } else {
            said!("outcome.already_held", upn = upn)
        })
    }

    /// The group reported `error` for the person: handled for what it means (module docs).
    /// `ours`: the bot added the membership.
    async fn group_refused(
        &self,
        job: &Job,
        group: &str,
        user: DirectoryUser,
        error: AssignmentError,
        ours: bool,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        match error {
            AssignmentError::CountViolation => {
                self.no_seat_for_group(job, group, user, calls).await
            }
            AssignmentError::ProhibitedInUsageLocationViolation => {
                match (
                    &user.usage_location,
                    &self.core.cfg().default_usage_location,
                ) {
                    (None, Some(country)) => {
                        let set = self
                            .directory
                            .tenant
                            .set_usage_location(&user, country)
                            .await;
                        calls.push(Call::of("set_usage_location", &set));
                        if let Err(e) = set {
                            return self.classify(e);
                        }
                        self.reprocess(job, group, &user, calls).await
                    }
                    (None, None) => {
                        let cause = t!(self.core.texts(), "group_error.no_usage_location");
                        self.group_failed(group, &user, &cause, ours, calls).await
                    }
                    (Some(country), _) => {
                        let cause = t!(
                            self.core.texts(),
                            "group_error.usage_location",
                            country = country
                        );
                        self.group_failed(group, &user, &cause, ours, calls).await
                    }
                }
            }
            other => {
                let cause = self.cause(&other);
                self.group_failed(group, &user, &cause, ours, calls).await
            }
        }
    }

    /// No seat was free for the group's licence: reprocess when one shows free now, else
    /// take the membership back and have a seat bought first.
    async fn no_seat_for_group(
        &self,
        job: &Job,
        group: &str,
        user: DirectoryUser,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        let seats = self.directory.tenant.seats().await;
        calls.push(Call::of("get_seats", &seats));
        let seats = match seats {
            Ok(s) => s,
            Err(e) => return self.classify(e),
        };
        if seats.free() > 0 {
            return self.reprocess(job, group, &user, calls).await;
        }
        let candidates = match self.directory.candidates(false).await {
            Ok(c) => c,
            Err(e) => {
                return Outcome::Transient(crate::engine::ports::BackendError::new(
                    crate::engine::ports::ErrorKind::Transient,
                    e.to_string(),
                ))
            }
        };
        if let Err(outcome) = self.leave_again(group, &user, calls).await {
            return outcome;
        }
        Outcome::NeedsSeat { seats, candidates }
    }

    /// Has Entra ID process the person's group licences again, then watches; at most
    /// `jobs.max_attempts` times per job.
    async fn reprocess(
        &self,
        job: &Job,
        group: &str,
        user: &DirectoryUser,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        let most = i64::try_from(self.core.cfg().jobs.retry.times + 1).unwrap_or(i64::MAX);
        if job.reprocesses >= most {
            let cause = t!(self.core.texts(), "group_error.count");
            return self.group_failed(group, user, &cause, true, calls).await;
        }
        let marked = async {
            let mut w = self.core.store().write().await?;
            jobs::mark_reprocessed(w.conn().await?, job.id, self.core.now()).await?;
            w.commit().await
        }
        .await;
        if let Err(e) = marked {
            return Outcome::Transient(crate::engine::ports::BackendError::new(
                crate::engine::ports::ErrorKind::Transient,
                format!("could not record the reprocessing before asking for it: {e}"),
            ));
        }
        let asked = self.directory.tenant.reprocess(user).await;
        calls.push(Call::of("reprocess_licences", &asked));
        if let Err(e) = asked {
            return self.classify(e);
        }
        let now = self.core.now();
        Box::pin(self.watch_group(job, group, &user.upn, now, true, calls)).await
    }

    /// The request fails naming `cause`; a membership the bot added is taken back.
    async fn group_failed(
        &self,
        group: &str,
        user: &DirectoryUser,
        cause: &str,
        ours: bool,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        let texts = self.core.texts();
        let mut why = t!(
            texts,
            "outcome.group_failed",
            group = self.directory.managed_group_name().await,
            upn = user.upn,
            cause = cause
        );
        if ours {
            let undone = match self.leave_again(group, user, calls).await {
                Ok(()) => t!(texts, "outcome.membership_undone", upn = user.upn),
                Err(Outcome::Transient(e)) => t!(
                    texts,
                    "outcome.membership_stays",
                    upn = user.upn,
                    error = e.message
                ),
                Err(_) => t!(
                    texts,
                    "outcome.membership_stays",
                    upn = user.upn,
                    error = "-"
                ),
            };
            why = format!("{why}; {undone}");
        }
        Outcome::Permanent(why)
    }

    /// Takes back a membership the bot added; a failure is the outcome to report.
    async fn leave_again(
        &self,
        group: &str,
        user: &DirectoryUser,
        calls: &mut Vec<Call>,
    ) -> Result<(), Outcome> {
        let removed = self.directory.tenant.remove_member(group, user).await;
        calls.push(Call::of("remove_member", &removed));
        removed.map_err(|e| {
            tracing::warn!(error = %e, upn = %user.upn, "could not take a membership back");
            Outcome::Transient(e)
        })
    }

    /// A group error in people's words.
    fn cause(&self, error: &AssignmentError) -> String {
        let texts = self.core.texts();
        match error {
            AssignmentError::CountViolation => t!(texts, "group_error.count"),
            AssignmentError::MutuallyExclusiveViolation => {
                t!(texts, "group_error.mutually_exclusive")
            }
            AssignmentError::DependencyViolation => t!(texts, "group_error.dependency"),
            AssignmentError::UniquenessViolation => t!(texts, "group_error.uniqueness"),
            AssignmentError::ProhibitedInUsageLocationViolation | AssignmentError::Other(_) => {
                t!(texts, "group_error.other", word = error.word())
            }
        }
    }

    /// Takes `upn` out of `group`: the group's licence goes; a direct assignment beside it
    /// goes too (release and revoke take away every source the bot can act on). Read back
    /// until neither shows.
    pub(super) async fn execute_leave(
        &self,
        upn: &Upn,
        job: &Job,
        group: &str,
        calls: &mut Vec<Call>,
    ) -> Outcome {
        let sku = &self.core.cfg().sku_part_number;
        let user = self.directory.tenant.user(upn).await;
        calls.push(Call::of("get_user", &user));
        let user = match user {
            Ok(u) => u,
            Err(e) => return self.classify(e),
        };
        let (member, direct) = sources_to_take(&user, group, sku);
        let ours = job.verify_only || job.change_sent;
        if !member && !direct {
            return Outcome::Done(if ours {
                said!("outcome.removed", upn = upn)
            } else {
                said!("outcome.not_held", upn = upn)
            });
        }
        if !job.verify_only {
            if let Err(e) = self.mark_change_sent(&[job.id]).await {
                return Outcome::Transient(e);
            }
            if member {
                if let Err(Outcome::Transient(e)) = self.leave_again(group, &user, calls).await {
                    return self.classify(e);
                }
            }
            if direct {
                let removed = self.directory.tenant.unassign(&user).await;
                calls.push(Call::of("remove_licence", &removed));
                if let Err(e) = removed {
                    return self.classify(e);
                }
            }
        }
        let gone = |u: &DirectoryUser| sources_to_take(u, group, sku) == (false, false);
        match self.read_until(upn, calls, gone).await {
            Ok(()) if member => Outcome::Done(said!(
                "outcome.removed_from_group",
                upn = upn,
                group = self.directory.managed_group_name().await
            )),
            Ok(()) => Outcome::Done(said!("outcome.removed", upn = upn)),
            Err(NotShown::Stop(outcome)) => outcome,
            // Leaving a group takes its licence away as slowly as joining gives it.
            Err(NotShown::Yet) if member => {
                let since = job.sent_at.unwrap_or_else(|| self.core.now());
                self.still_applying(upn, since, true).await
            }
            Err(NotShown::Yet) => {
                Outcome::Unverified(t!(self.core.texts(), "outcome.removal_not_shown"))
            }
        }
    }
}

/// What of the managed SKU the bot can take from `user` in group mode: an entry from the
/// licensing group (whatever its state: the membership is what goes), and a direct
/// assignment.
fn sources_to_take(user: &DirectoryUser, group: &str, sku: &str) -> (bool, bool) {
    let member = user.from_group(group, sku).is_some();
    let direct = user
        .licence(sku)
        .is_some_and(|l| l.sources.contains(&LicenceSource::Direct));
    (member, direct)
}
