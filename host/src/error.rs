//! The library's error type, grouped by what the caller should do.

use crate::store::StoreError;

/// What went wrong with a request to the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is malformed (bad JSON, oversized payload, bad id).
    /// Nothing changed.
    #[error("{0}")]
    InvalidInput(String),
    /// The bytes are not a usable component for any Reprise world.
    #[error("{0}")]
    InvalidComponent(String),
    /// Unknown instance, orchestration or activity.
    #[error("{0}")]
    NotFound(String),
    /// The instance is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// Code and history disagree.
    #[error("{0}")]
    Nondeterminism(String),
    /// Waited long enough.
    #[error("{0}")]
    Timeout(String),
    /// The store failed; nothing of the request was written.
    #[error("{0}")]
    Store(String),
    /// A bug or resource failure in the host.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(why) => Error::NotFound(why),
            StoreError::Conflict(why) => Error::Conflict(why),
            other => Error::Store(other.to_string()),
        }
    }
}
