//! Telemetry: logging through a tracing subscriber writing to stderr (stdout belongs to the
//! console transport), human-readable or JSON, filtered by `[telemetry] level` unless
//! `RUST_LOG` says otherwise; Prometheus [`metrics`]; and the operator's endpoint
//! ([`server`]: `/metrics`, `/healthz`).

pub mod metrics;
pub mod server;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetrySettings};

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(settings: &TelemetrySettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
    if result.is_err() {
        // Already installed (tests start several apps in one process): keep the first one.
        tracing::debug!("a tracing subscriber was already installed");
    }
}
