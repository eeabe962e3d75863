//! Claiming due jobs: the next due job, with the assignments due alongside it as one batch,
//! each moved to executing in the claim's transaction so a cancel cannot slip in.

use super::Worker;
use crate::domain::{Actor, AuditAction, StageKind, StageState};
use crate::engine::error::EngineResult;
use crate::store::jobs;
use crate::store::requests::{self, Request};
use crate::store::stages;
use crate::store::WriteTx;

use super::{Claimed, JobReport, MAX_BATCH};

impl Worker {
    /// Claims the next due job and, when it is an assignment, the other due assignments;
    /// moves their stages to executing in the same transaction, so a cancel cannot slip in.
    pub(super) async fn claim(&self) -> EngineResult<(Vec<Claimed>, Vec<JobReport>)> {
        let now = self.core.now();
        let lease_until = now
            + chrono::Duration::from_std(self.core.cfg().jobs.lease)
                .unwrap_or(chrono::Duration::minutes(5));
        let owner = &self.worker_id;
        // Most wakes find nothing due: look with a read first, so they do not hold the
        // writer that decisions and deliveries are waiting for.
        {
            let mut conn = self.core.store().read().await?;
            if !jobs::any_due(&mut conn, now).await? {
                return Ok((Vec::new(), Vec::new()));
            }
        }
        let mut w = self.core.store().write().await?;
        let Some(first) = jobs::claim_due(w.conn(), owner, now, lease_until).await? else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut claimed_jobs = vec![first];
        if claimed_jobs[0].payload.kind() == StageKind::Assign {
            let more = jobs::claim_due_of_kind(
                w.conn(),
                StageKind::Assign,
                owner,
                now,
                lease_until,
                MAX_BATCH - 1,
            )
            .await?;
            claimed_jobs.extend(more);
        }
        let mut claimed = Vec::new();
        let mut skipped = Vec::new();
        for job in claimed_jobs {
            let stage = stages::get(w.conn(), job.stage_id).await?;
            let request = match &stage {
                Some(s) => requests::get(w.conn(), s.request_id).await?,
                None => None,
            };
            let (Some(stage), Some(request)) = (stage, request) else {
                jobs::fail(w.conn(), job.id, "stage or request missing", now).await?;
                skipped.push(JobReport::Skipped);
                continue;
            };
            let started = stages::transition(
                w.conn(),
                stage.id,
                StageState::Approved,
                StageState::Executing,
            )
            .await?
                || stage.state == StageState::Executing;
            if !started {
                jobs::fail(w.conn(), job.id, "the stage is no longer approved", now).await?;
                skipped.push(JobReport::Skipped);
                continue;
            }
            self.core.audit(&mut w,
                Some(request.id),
                &Actor::System,
                AuditAction::JobStarted,
                Some(StageState::Approved.as_str()),
                Some(StageState::Executing.as_str()),
                &serde_json::json!({"job": job.id, "attempt": job.attempts, "verify_only": job.verify_only, "change_sent": job.change_sent})
                    .to_string(),
            )
            .await?;
            self.set_request_state(&mut w, &request).await?;
            claimed.push(Claimed {
                job,
                stage,
                request,
            });
        }
        w.commit().await?;
        Ok((claimed, skipped))
    }

    pub(super) async fn set_request_state(
        &self,
        tx: &mut WriteTx<'_>,
        request: &Request,
    ) -> EngineResult<()> {
        let states: Vec<StageState> = stages::for_request(tx.conn(), request.id)
            .await?
            .iter()
            .map(|s| s.state)
            .collect();
        let new = crate::domain::RequestState::from_stages(&states);
        if let Some(current) = requests::get(tx.conn(), request.id).await? {
            if current.state != new {
                requests::set_state(tx.conn(), request.id, new, None, self.core.now()).await?;
                self.core
                    .audit(
                        tx,
                        Some(request.id),
                        &Actor::System,
                        AuditAction::RequestState,
                        Some(current.state.as_str()),
                        Some(new.as_str()),
                        "",
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
