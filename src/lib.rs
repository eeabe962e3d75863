//! licensebot: a chat-ops bot that turns Power BI Pro licence requests into approved,
//! executed and audited Microsoft 365 licensing actions.
//!
//! The parts, from the outside in:
//! - [`chat`]: transports (console, later Discord) that feed chat messages and reactions
//!   to the engine and carry its replies out;
//! - [`command`]: the pure parser from chat text and reactions to typed commands;
//! - [`engine`]: policy, the request state machine, routing to approvers, the scheduler and
//!   the job worker; it talks only to the traits of [`backend`] and [`chat`];
//! - [`backend`]: licensing backends (the simulated tenant, Microsoft Graph, Partner Center
//!   and manual purchases) behind the [`backend::Tenant`] and [`backend::Purchaser`] traits;
//! - [`store`]: SQLite through sqlx: requests, stages, jobs, the outbox and the
//!   hash-chained audit log;
//! - [`config`], [`texts`], [`telemetry`], [`startup`]: settings, the message catalogue,
//!   logging and the composition root.

pub mod backend;
pub mod chat;
pub mod command;
pub mod domain;
pub mod engine;
pub mod store;
#[macro_use]
pub mod texts;
pub mod config;
pub mod startup;
pub mod telemetry;
