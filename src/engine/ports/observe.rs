//! What the engine tells of the pace of people and requests, for the operator's figures:
//! how long approvers take to decide and requests to be done. The telemetry keeps them;
//! nothing the engine decides depends on them.

use std::time::Duration;

/// Hears how long things took. Calls are cheap and cannot fail. They are made when the
/// change is written, inside its transaction: a transaction that then fails to commit has
/// been heard anyway (a figure, not a record).
pub trait Observer: Send + Sync {
    /// An approver's reaction decided a stage `waited` after its approval message went out.
    fn decided(&self, waited: Duration);
    /// A request completed `took` after it was asked.
    fn completed(&self, took: Duration);
}

/// Keeps nothing (for a bot whose figures nobody reads, such as the load bench).
pub struct Unobserved;

impl Observer for Unobserved {
    fn decided(&self, _waited: Duration) {}
    fn completed(&self, _took: Duration) {}
}
