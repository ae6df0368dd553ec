//! The bearer token: when the server has one, every API request must
//! carry it (`Authorization: Bearer <token>`). The dashboard's pages carry
//! no data and need none; the dashboard asks for the token and sends it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::ApiError;

/// The token requests must carry, if any.
#[derive(Clone)]
pub(crate) struct Token(Option<Arc<str>>);

impl Token {
    pub(crate) fn new(token: Option<String>) -> Self {
        Self(token.filter(|t| !t.is_empty()).map(Arc::from))
    }
}

/// Lets a request through if it carries the token (or none is required).
pub(crate) async fn require(
    State(token): State<Token>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(expected) = &token.0 {
        let given = request
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match given {
            None => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "this server needs a bearer token: Authorization: Bearer <token>",
                ));
            }
            Some(given) if !same(given.as_bytes(), expected.as_bytes()) => {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "the bearer token is not this server's",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(next.run(request).await)
}

/// Compares in time that depends on the lengths only, not on where the
/// first difference is, so the token cannot be guessed byte by byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_whole() {
        assert!(super::same(b"secret", b"secret"));
        assert!(!super::same(b"secret", b"secreT"));
        assert!(!super::same(b"secret", b"secret2"));
        assert!(!super::same(b"", b"x"));
    }
}
