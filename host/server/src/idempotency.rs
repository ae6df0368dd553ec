//! The `Idempotency-Key` header: a request sent again with the same key
//! takes effect once and answers what the first answered
//! ([`reprise::Runtime::idempotent`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::ApiError;

/// The header's name.
const HEADER: &str = "idempotency-key";
/// The longest key taken.
const MAX_LEN: usize = 255;

/// A request's idempotency key, if it sent one.
pub(crate) struct IdempotencyKey(pub(crate) Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(Self(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| {
                !k.is_empty() && k.len() <= MAX_LEN && k.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "the Idempotency-Key header must be 1 to {MAX_LEN} visible ASCII characters"
                ))
            })?;
        Ok(Self(Some(key.to_owned())))
    }
}
