//! The operator's HTTP endpoint (`[telemetry] metrics_addr`): `/metrics` in Prometheus text
//! format and `/healthz`, which checks that the database takes a write, that the backend's
//! credentials work, and that the chat transport is connected, answering 200 or 503 with
//! `{"status": "ok"|"degraded", "role": "leader"|"standby", "checks": {…}}` (a standby is
//! healthy: 200).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::metrics::{self, HEALTH_TIMEOUT, LEADER, TRANSPORT_CONNECTED};
use crate::backend::Tenant;
use crate::store::{bot_state, Store};

#[derive(Clone)]
struct Ops {
    store: Store,
    tenant: Arc<dyn Tenant>,
}

/// Binds `addr` and serves until `shutdown` fires. Returns the bound address (useful with
/// port 0) and the server task.
pub async fn serve(
    addr: SocketAddr,
    store: Store,
    tenant: Arc<dyn Tenant>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    metrics::init();
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(healthz))
        .with_state(Ops { store, tenant });
    serve_router(addr, app, "/metrics and /healthz", shutdown).await
}

/// Binds `addr` and serves `app` until `shutdown` fires, in a task of its own; `what` names
/// it in the log. Returns the bound address (useful with port 0) and the task.
pub async fn serve_router(
    addr: SocketAddr,
    app: Router,
    what: &'static str,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for {what}: {e}"))?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let stop = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, what, "an HTTP listener stopped");
        }
    });
    tracing::info!(addr = %bound, "serving {what}");
    Ok((bound, task))
}

async fn metrics_page(State(ops): State<Ops>) -> impl IntoResponse {
    match metrics::render(&ops.store, ops.tenant.as_ref()).await {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot read metrics from the database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("database unavailable: {e}\n"),
            )
        }
    }
}

async fn database_writable(store: &Store) -> Result<(), String> {
    let write = async {
        let mut w = store.write().await?;
        bot_state::record_health_check(w.conn().await?, chrono::Utc::now()).await?;
        w.commit().await
    };
    match tokio::time::timeout(HEALTH_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no write within {HEALTH_TIMEOUT:?}")),
    }
}

async fn healthz(State(ops): State<Ops>) -> impl IntoResponse {
    let database = database_writable(&ops.store).await;
    let backend = match tokio::time::timeout(HEALTH_TIMEOUT, ops.tenant.health()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.message),
        Err(_) => Err(format!("no answer within {HEALTH_TIMEOUT:?}")),
    };
    let connected = TRANSPORT_CONNECTED.get() == 1;
    // A standby holds no transport by design: it is healthy while it can take over.
    let leader = LEADER.get() == 1;
    let healthy = database.is_ok() && backend.is_ok() && (connected || !leader);
    let word = |r: &Result<(), String>| match r {
        Ok(()) => "ok".to_string(),
        Err(e) => e.clone(),
    };
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "role": if leader { "leader" } else { "standby" },
        "checks": {
            "database": word(&database),
            "backend": word(&backend),
            "transport": match (connected, leader) {
                (true, _) => "connected",
                (false, true) => "disconnected",
                (false, false) => "standby",
            },
        },
    });
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}
