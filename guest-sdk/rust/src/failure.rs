//! Failures: what an orchestration or activity returns instead of a value.

use std::fmt;

use crate::bindings::reprise::durable::types;

/// The result type of orchestrations, activities and awaited tasks.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// Why an orchestration, activity or task failed: a message for a person and
/// optional JSON details for code.
///
/// Any error type converts into a `Failure` with `?`, keeping its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One line saying what went wrong.
    pub message: String,
    /// Optional machine-readable details, as JSON text.
    pub details: Option<String>,
}

impl Failure {
    /// A failure with just a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            details: None,
        }
    }

    /// A failure with a message and serialisable details.
    pub fn with_details(message: impl Into<String>, details: &impl serde::Serialize) -> Self {
        Self {
            message: message.into(),
            details: serde_json::to_string(details).ok(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}

impl Failure {
    /// The SDK's failure from the WIT record (the generic `From` would keep
    /// only the message).
    pub(crate) fn from_wit(f: types::Failure) -> Self {
        Self {
            message: f.message,
            details: f.details,
        }
    }
}

impl From<Failure> for types::Failure {
    fn from(f: Failure) -> Self {
        Self {
            message: f.message,
            details: f.details,
        }
    }
}
