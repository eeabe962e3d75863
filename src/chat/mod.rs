//! Chat transports. A transport turns what happens in chat into [`ChatEvent`]s for the engine
//! and carries the engine's actions out through [`ChatOutput`], the engine's chat port
//! ([`crate::engine::ports`], re-exported here). The console transport lives in [`console`];
//! Discord in [`discord`]; both implement the same two sides.

pub mod console;
pub mod discord;

pub use crate::engine::ports::{
    Buttons, ChatError, ChatEvent, ChatOutput, DecisionLabels, IncomingMessage, Post, Press,
    Reaction, MAX_DELIVERY_KEY,
};
