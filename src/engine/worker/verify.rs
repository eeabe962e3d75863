//! Reading a change back: the one read-back policy of the worker (`jobs.verify_attempts`
//! reads, `jobs.verify_interval` apart), on `backon`, for every verification: a licence
//! assigned or removed, a seat count changed, and a change an attempt cut off may have made.

use std::future::Future;

use backon::{ConstantBuilder, RetryableWithContext};

use super::Worker;

/// Why a read-back stops without the change showing.
#[derive(Debug)]
pub(super) enum NotShown<E> {
    /// The change does not show (yet): read again while reads are left.
    Yet,
    /// Reading on would not help (a permanent failure); stop with this.
    Stop(E),
}

/// When the first read of a read-back is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FirstRead {
    /// At once, right after the change: up to `jobs.verify_attempts` reads in all.
    Now,
    /// An interval from now: the read the caller just made counts as the first, so at most
    /// `jobs.verify_attempts - 1` more.
    AfterInterval,
}

impl Worker {
    /// Reads `upn` back (from now, `jobs.verify_attempts` reads) until `shows` holds of
    /// what is read; each read is recorded in `calls`. A transient failure reads again; any
    /// other stops with its outcome.
    pub(super) async fn read_until(
        &self,
        upn: &crate::domain::Upn,
        calls: &mut Vec<super::Call>,
        shows: impl Fn(&crate::engine::ports::DirectoryUser) -> bool,
    ) -> Result<(), NotShown<super::Outcome>> {
        let shows = &shows;
        let (_, read) = self
            .read_back(FirstRead::Now, calls, |calls| async move {
                let check = self.directory.tenant.user(upn).await;
                calls.push(super::Call::of("verify_user", &check));
                let shown = match check {
                    Ok(u) if shows(&u) => Ok(()),
                    Ok(_) => Err(NotShown::Yet),
                    Err(e) if e.is_transient() => Err(NotShown::Yet),
                    Err(e) => Err(NotShown::Stop(self.classify(e))),
                };
                (calls, shown)
            })
            .await;
        read
    }

    /// Runs `read` until it finds the change (`Ok`), stops (`NotShown::Stop`) or the reads
    /// run out (`NotShown::Yet`). `state` is lent to each read and handed back with the
    /// result, so a read can record its calls and narrow what is left to check.
    pub(super) async fn read_back<S, T, E, F, Fut>(
        &self,
        first: FirstRead,
        state: S,
        read: F,
    ) -> (S, Result<T, NotShown<E>>)
    where
        F: FnMut(S) -> Fut,
        Fut: Future<Output = (S, Result<T, NotShown<E>>)>,
    {
        let jobs = &self.core.cfg().jobs;
        let reads = jobs.verify_attempts.max(1) as usize;
        let reads = match first {
            FirstRead::Now => reads,
            FirstRead::AfterInterval => {
                if reads < 2 {
                    return (state, Err(NotShown::Yet));
                }
                tokio::time::sleep(jobs.verify_interval).await;
                reads - 1
            }
        };
        read.retry(
            ConstantBuilder::default()
                .with_delay(jobs.verify_interval)
                .with_max_times(reads - 1),
        )
        .context(state)
        .when(|e| matches!(e, NotShown::Yet))
        .await
    }
}
