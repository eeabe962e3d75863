//! licensebot: a chat-ops bot that turns Power BI Pro licence requests into approved,
//! executed and audited Microsoft 365 licensing actions.
//!
//! The parts, from the outside in (ARCHITECTURE.md has the code map and its rules):
//! - [`chat`]: transports (console, Discord) that feed chat messages and reactions to the
//!   engine and carry its replies out; they implement the engine's chat port;
//! - [`command`]: the pure parser from chat text and reactions to typed commands;
//! - [`engine`]: policy, the request state machine, routing to approvers, the scheduler and
//!   the job worker; it owns its ports ([`engine::ports`]) and imports neither chat nor
//!   backend;
//! - [`backend`]: licensing backends (the simulated tenant, Microsoft Graph, Partner Center
//!   and manual purchases) implementing the engine's tenant, purchaser, mailer and identity
//!   ports;
//! - [`store`]: SQLite through sqlx: one file per table, its own transaction type
//!   ([`store::WriteTx`]), the outbox and the hash-chained audit log;
//! - [`audit_export`]: the audit trail for a security team, as JSON lines or OCSF events;
//! - [`domain`]: the typed words of the domain (ids, UPN, roles, states, audit actions);
//! - [`config`], [`texts`], [`telemetry`], [`startup`]: settings, the message catalogue,
//!   logging and metrics, and the composition root.

pub mod audit_export;
pub mod backend;
pub mod chat;
pub mod command;
pub mod domain;
pub mod engine;
pub mod pictures;
pub mod store;
#[macro_use]
pub mod texts;
pub mod config;
pub mod startup;
pub mod telemetry;
