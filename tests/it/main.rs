//! licensebot's integration tests, one binary: the real `licensebot` executable driven in
//! `console --jsonl` mode and on Discord against a fake Discord (the real serenity client
//! inside), and the engine in-process against a fresh SQLite file each.

#![recursion_limit = "256"]

mod support;

mod audit_export;
mod browser;
mod buttons_e2e;
mod cli;
mod console_e2e;
mod crash;
mod discord_e2e;
mod engine;
mod fake_discord_rules;
mod fake_microsoft;
mod faults;
mod governance_e2e;
mod graph_activity;
mod graph_client;
mod graph_e2e;
mod group_e2e;
mod hostile;
mod house;
mod ops;
mod partner_center;
mod pictures_e2e;
mod postgres;
mod reclaim_e2e;
mod reconcile_e2e;
mod replays;
mod robustness;
mod scheduler;
mod seat_alerts_e2e;
mod signin;
mod simulated_groups;
mod simulated_sign_ins;
mod terms_e2e;
