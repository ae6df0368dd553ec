//! Query parameters, read by name with a clear error for a bad value
//! (axum's own extractor would answer in plain text).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use reprise::names::{self, NameKind};

use crate::ApiError;

/// Checks a name from the path (an instance id, an actor kind, …): a
/// malformed one is a bad request, not an unknown resource.
pub(crate) fn check_name(kind: NameKind, name: &str) -> Result<(), ApiError> {
    names::check(kind, name).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The longest a request may wait (`wait_ms`, `timeout_ms`).
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(300);

/// A request's query parameters.
pub(crate) struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query)
            .map(Params)
            .map_err(|e| ApiError::bad_request(format!("bad query string: {e}")))
    }
}

impl Params {
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A whole number within `range`, if given.
    pub(crate) fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Option<u64>, ApiError> {
        let Some(text) = self.text(name) else {
            return Ok(None);
        };
        match text.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::bad_request(format!(
                "{name} must be a whole number from {} to {}, not {text:?}",
                range.start(),
                range.end()
            ))),
        }
    }

    /// A wait in ms (at most [`MAX_WAIT`]), if given.
    pub(crate) fn wait(&self, name: &str) -> Result<Option<Duration>, ApiError> {
        Ok(self
            .number(name, 0..=MAX_WAIT.as_millis() as u64)?
            .map(Duration::from_millis))
    }
}
