//! Test support: the real bot binary driven over JSON lines or against a fake Discord, a
//! fresh database per test, and a fake Microsoft (identity platform, Graph, Partner Center)
//! on loopback.

#![allow(dead_code)]

pub mod bot;
pub mod db;
pub mod discord_bot;
pub mod discord_schema;
pub mod fake_discord;
pub mod fake_graph;
pub mod fake_idp;
pub mod fake_partner_center;

pub use bot::Bot;

/// The test tenant's settings.
pub const TENANT: &str = include_str!("tenant.toml");
