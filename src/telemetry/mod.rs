//! Telemetry: logging through a tracing subscriber writing to stderr (stdout belongs to the
//! console transport), human-readable or JSON, filtered by `[telemetry] level` unless
//! `RUST_LOG` says otherwise; Prometheus [`metrics`]; and the operator's endpoint
//! ([`server`]: `/metrics`, `/healthz`).

pub mod metrics;
pub mod server;
pub mod signin;

use tracing_subscriber::EnvFilter;

use crate::config::{log_filter, LogFormat, TelemetrySettings};

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(settings: &TelemetrySettings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|text| log_filter(&text).ok())
        .or_else(|| log_filter(&settings.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // A log line that cannot be written (stderr closed) is dropped: with internal errors
    // logged, the subscriber would report it with eprintln!, which panics on a closed stderr.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .log_internal_errors(false);
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use crate::config::log_filter;

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn filter_field_values_match_literally_not_as_regexes() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter("warn,[{n=a.c}]=debug").expect("a valid filter"))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            // As a regex, `a.c` would match abc too.
            tracing::info_span!("s", n = %"abc").in_scope(|| tracing::debug!("inside abc"));
            tracing::info_span!("s", n = %"a.c").in_scope(|| tracing::debug!("inside a.c"));
        });
        let text = String::from_utf8(out.0.lock().expect("buffer").clone()).expect("utf-8");
        assert!(text.contains("inside a.c"), "{text}");
        assert!(!text.contains("inside abc"), "{text}");
    }

    #[test]
    fn a_non_ascii_filter_is_refused() {
        let err = log_filter("info,licensebot=débug").expect_err("refused");
        assert!(err.contains("is not allowed"), "{err}");
    }
}
