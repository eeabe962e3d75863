//! The engine in-process: real store on a fresh SQLite file, the real simulated tenant
//! (optionally behind a fault injector), a recording chat transport and a clock the test
//! moves by hand.

pub mod harness;

mod bulk;
mod decisions;
mod delivery;
mod figures;
mod governance;
mod groups;
mod jobs;
mod links;
mod reclaim;
mod reconcile;
mod seat_alerts;
mod seats;
mod telling;
mod terms;
