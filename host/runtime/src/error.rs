//! The library's error type, grouped by what the caller should do.

use crate::history::Failure;
use crate::names::NameError;
use crate::store::{ActorId, StoreError};
use crate::wasm::ComponentError;

/// What went wrong with a request to the runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request itself is malformed (bad JSON, oversized payload, bad id).
    /// Nothing changed.
    #[error("{0}")]
    InvalidInput(String),
    /// The bytes are not a usable component for any Reprise world.
    #[error(transparent)]
    InvalidComponent(#[from] ComponentError),
    /// Unknown instance, orchestration or activity.
    #[error("{0}")]
    NotFound(String),
    /// The instance is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// The actor handled the operation and it failed: the guest returned
    /// this failure, or trapped. The actor's state did not change.
    #[error("{actor} {operation} failed: {}", .failure.message)]
    ActorFailed {
        /// The actor.
        actor: ActorId,
        /// The operation.
        operation: String,
        /// What the guest said.
        failure: Failure,
    },
    /// The actor's mailbox holds its bound: the request was refused and
    /// changed nothing. Send it again once the actor has caught up.
    #[error(
        "the mailbox of actor {actor} is full: it holds {capacity} operations, its bound; try again later"
    )]
    MailboxFull {
        /// The actor.
        actor: ActorId,
        /// Its bound.
        capacity: u64,
    },
    /// The idempotency key was used before for a different request: the
    /// request was refused and changed nothing.
    #[error("idempotency key {0:?} was used for a different request")]
    IdempotencyKeyReused(String),
    /// Code and history disagree.
    #[error("{0}")]
    Nondeterminism(String),
    /// Waited long enough.
    #[error("{0}")]
    Timeout(String),
    /// The store failed; nothing of the request was written.
    #[error(transparent)]
    Store(StoreError),
    /// A bug or resource failure in the host.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<NameError> for Error {
    fn from(error: NameError) -> Self {
        Error::InvalidInput(error.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(why) => Error::NotFound(why),
            StoreError::Conflict(why) | StoreError::Fenced(why) => Error::Conflict(why),
            StoreError::MailboxFull { actor, capacity } => Error::MailboxFull { actor, capacity },
            StoreError::Repeated(key) => Error::Conflict(format!(
                "a request with idempotency key {key:?} was made before"
            )),
            other => Error::Store(other),
        }
    }
}
