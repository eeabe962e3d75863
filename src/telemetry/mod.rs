//! Telemetry: logging through a tracing subscriber writing to stderr (stdout belongs to the
//! console transport), human-readable or JSON, filtered by `[telemetry] level` unless
//! `RUST_LOG` says otherwise; Prometheus [`metrics`]; and the operator's endpoint
//! ([`server`]: `/metrics`, `/healthz`).

pub mod metrics;
pub mod server;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, TelemetrySettings};

/// Parses a log filter (`info`, `info,licensebot=debug`). Only printable ASCII is taken:
/// the filter parser of tracing-subscriber 0.3 slices its input at byte offsets and panics
/// on some non-ASCII text (found by fuzzing the settings loader), and no target, span or
/// level name needs more. Field values in a filter match literally (see below).
pub fn log_filter(text: &str) -> Result<EnvFilter, String> {
    if let Some(c) = text.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(format!(
            "{c:?} is not allowed; a filter is made of ASCII letters, digits and punctuation"
        ));
    }
    // Field values are matched as plain text: with regexes on, a crafted value such as
    // `[{f=(a|b)*c{1000}}]` compiles to a dense DFA for minutes (also found by fuzzing).
    EnvFilter::builder()
        .with_regex(false)
        .parse(text)
        .map_err(|e| e.to_string())
}

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(settings: &TelemetrySettings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|text| log_filter(&text).ok())
        .or_else(|| log_filter(&settings.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
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
