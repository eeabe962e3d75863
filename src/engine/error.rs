//! Why handling something failed: the engine's one error type.

use crate::store::StoreError;

/// Why handling something failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Something the person in chat should read (already rendered from the catalogue).
    #[error("{0}")]
    User(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A picture could not be drawn.
    #[error(transparent)]
    Picture(#[from] crate::pictures::PictureError),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Result of engine operations.
pub type EngineResult<T> = Result<T, EngineError>;
