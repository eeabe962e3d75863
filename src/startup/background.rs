//! What runs beside the transport (the engine's background loop, the operator's endpoint,
//! the sign-in pages), started and stopped together.

use std::sync::Arc;

use anyhow::Context;

use super::leadership;
use crate::backend::Tenant;
use crate::config::Settings;
use crate::engine::Engine;
use crate::store::{leases, Store};

/// What runs beside the transport: the engine's background loop (jobs, scheduler, outbox)
/// and, when configured, the operator's endpoint. Stopped together.
pub(super) struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Starts the operator's endpoint (health, metrics), when configured.
    pub(super) async fn ops(
        settings: &Settings,
        store: &Store,
        tenant: Arc<dyn Tenant>,
    ) -> anyhow::Result<Background> {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        if let Some(addr) = settings.telemetry.metrics_socket() {
            let (_, task) =
                crate::telemetry::server::serve(addr, store.clone(), tenant, stop_rx).await?;
            tasks.push(task);
        }
        Ok(Background { stop, tasks })
    }

    /// Starts the sign-in pages (when configured) and the engine's background loop.
    pub(super) async fn start(
        &mut self,
        settings: &Settings,
        engine: &Engine,
    ) -> anyhow::Result<()> {
        let stop_rx = self.stop.subscribe();
        let tasks = &mut self.tasks;
        if settings.links.sign_in {
            let addr: std::net::SocketAddr = settings
                .links
                .listen_addr
                .trim()
                .parse()
                .context("links.listen_addr is not an address with a port")?;
            let (_, task) = crate::telemetry::signin::serve(
                addr,
                engine.clone(),
                settings.bot.language.as_str(),
                stop_rx.clone(),
            )
            .await?;
            tasks.push(task);
        }
        let engine = engine.clone();
        let tick = settings.scheduler.tick.get();
        let poll = settings.jobs.poll_interval.get();
        tasks.push(tokio::spawn(async move {
            engine.run_background(tick, poll, stop_rx).await
        }));
        Ok(())
    }

    /// Stops the operator's endpoint of a process that never started its engine.
    pub(super) async fn stop_ops(self) {
        self.join().await;
    }

    /// Tells every task to stop and waits for each to end.
    async fn join(self) {
        if self.stop.send(true).is_err() {
            tracing::debug!("the background tasks had already ended");
        }
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a background task ended abnormally");
            }
        }
    }

    /// Lets the job in flight finish (queued work stays queued), delivers what is owed,
    /// gives the gateway lease up (a leader on PostgreSQL) and closes the store.
    pub(super) async fn stop(self, engine: &Engine, store: &Store, held: Option<&leases::Held>) {
        tracing::info!("stopping: letting the job in flight finish; queued work stays queued");
        self.join().await;
        engine.deliver().await;
        if let Some(held) = held {
            leadership::step_down(store, held).await;
        }
        store.close().await;
        tracing::info!("licensebot stopped");
    }
}
