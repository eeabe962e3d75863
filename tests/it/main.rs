//! licensebot's integration tests, one binary: the real `licensebot` executable driven in
//! `console --jsonl` mode, and the engine in-process against a fresh SQLite file each.

mod support;

mod cli;
mod console_e2e;
mod engine;
mod fake_microsoft;
mod graph_client;
mod graph_e2e;
mod hostile;
mod partner_center;
