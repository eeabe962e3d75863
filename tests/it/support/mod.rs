//! Test support: the real bot binary driven over JSON lines or against a fake Discord, and
//! a fresh database per test.

#![allow(dead_code)]

pub mod bot;
pub mod db;
pub mod discord_bot;
pub mod fake_discord;

pub use bot::Bot;

/// The test tenant's settings.
pub const TENANT: &str = include_str!("tenant.toml");
