//! Test support: the real bot binary driven over JSON lines or against a fake Discord, a
//! fresh database per test, and a fake Microsoft (identity platform, Graph, Partner Center)
//! on loopback.

// Each binary that includes this module (the `it` tests, the load bench) uses a part of it.
#![allow(dead_code, unused_imports)]

pub mod bot;
pub mod db;
pub mod discord_bot;
pub mod discord_schema;
pub mod fake_discord;
pub mod fake_http;
pub mod fake_microsoft;
pub mod postgres;

pub use bot::Bot;

/// The test tenant's settings.
pub const TENANT: &str = include_str!("tenant.toml");

/// The backend's error is of this kind and its message says each of `words`.
pub fn assert_backend_error(
    e: &licensebot::backend::BackendError,
    kind: licensebot::backend::ErrorKind,
    words: &[&str],
) {
    assert_eq!(e.kind, kind, "{e:?}");
    for w in words {
        assert!(e.message.contains(w), "{w:?} in {}", e.message);
    }
}
