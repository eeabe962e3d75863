//! Leadership among bots sharing one PostgreSQL database: one holds the gateway lease and
//! does everything (the chat transport, deliveries, jobs, the scheduler); the others stand
//! by, answering `/healthz` as standby, and take the lease over once the leader has not
//! renewed it for `[ha] lease`. A new leader queues again the jobs its predecessor left
//! running, as a bot restarted on SQLite does.
//!
//! The leader renews a third of the way through the lease. A leader that cannot renew for
//! two thirds of it (the database unreachable, the process paused) or finds its lease taken
//! exits at once with code 5, before a standby can take over: a process that is no longer
//! sure it leads does nothing more. Its store is fenced by the lease's token besides, so a
//! delivery pass of a former leader is refused by the store.
//!
//! Lease times are the hosts' wall clocks (never the console's adjustable clock): the hosts'
//! clocks must agree to well within the lease (NTP does).

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;

use crate::store::leases::{self, Held, GATEWAY};
use crate::store::Store;
use crate::telemetry::metrics::LEADER;

/// The exit code of a leader that lost its lease.
pub const LOST_LEASE_EXIT: i32 = 5;

/// This process's name as a lease holder: its host, its process id and a random part (a
/// restarted process with a reused id is another holder).
pub fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".to_string());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Waits until this process holds the gateway lease (standing by meanwhile), then keeps it
/// renewed in the background; returns the lease held.
pub async fn lead(store: &Store, lease: Duration) -> anyhow::Result<Held> {
    let holder = holder_name();
    let retry = (lease / 3).max(Duration::from_millis(200));
    let mut announced = false;
    let held = loop {
        match try_acquire(store, &holder, lease).await {
            Ok(Some(held)) => break held,
            Ok(None) => {
                LEADER.set(0);
                if !announced {
                    tracing::info!(holder, "standing by: another instance holds the gateway");
                    announced = true;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the gateway lease; trying again"),
        }
        tokio::time::sleep(retry).await;
    };
    LEADER.set(1);
    tracing::info!(
        holder = held.holder,
        token = held.token,
        "leading: this instance holds the gateway"
    );
    tokio::spawn(keep(store.clone(), held.clone(), lease));
    Ok(held)
}

/// When a lease taken or renewed at `now` runs out.
fn lease_end(now: chrono::DateTime<Utc>, lease: Duration) -> anyhow::Result<chrono::DateTime<Utc>> {
    Ok(now + chrono::Duration::from_std(lease).context("lease too long")?)
}

async fn try_acquire(store: &Store, holder: &str, lease: Duration) -> anyhow::Result<Option<Held>> {
    let now = Utc::now();
    let until = lease_end(now, lease)?;
    let mut w = store.write().await?;
    let held = leases::acquire(w.conn().await?, GATEWAY, holder, now, until).await?;
    w.commit().await?;
    Ok(held)
}

/// Renews `held` every third of the lease for as long as the process runs; exits the process
/// when the lease is lost or cannot be renewed for two thirds of it.
async fn keep(store: Store, held: Held, lease: Duration) {
    let every = lease / 3;
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        match renew(&store, &held, lease).await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => lost(&held, "another instance took the gateway lease over"),
            Err(e) => {
                tracing::warn!(error = %e, "could not renew the gateway lease");
                if renewed.elapsed() >= lease * 2 / 3 {
                    lost(&held, "the gateway lease could not be renewed in time");
                }
            }
        }
    }
}

async fn renew(store: &Store, held: &Held, lease: Duration) -> anyhow::Result<bool> {
    let until = lease_end(Utc::now(), lease)?;
    let renew = async {
        let mut w = store.write().await?;
        let kept = leases::renew(w.conn().await?, held, until).await?;
        w.commit().await?;
        anyhow::Ok(kept)
    };
    tokio::time::timeout(lease / 3, renew)
        .await
        .context("no answer from the database")?
}

fn lost(held: &Held, why: &str) -> ! {
    LEADER.set(0);
    tracing::error!(
        holder = held.holder,
        token = held.token,
        "{why}; stopping now so that one instance alone talks to chat (exit code {LOST_LEASE_EXIT})"
    );
    std::process::exit(LOST_LEASE_EXIT)
}

/// Gives the lease up at a clean stop, so a standby takes over at once.
pub async fn step_down(store: &Store, held: &Held) {
    let release = async {
        let mut w = store.write().await?;
        leases::release(w.conn().await?, held, Utc::now()).await?;
        w.commit().await
    };
    match release.await {
        Ok(()) => tracing::info!("gave the gateway lease up"),
        Err(e) => tracing::warn!(error = %e, "could not give the gateway lease up; it runs out"),
    }
    LEADER.set(0);
}
