//! Errors as JSON: `{"error": {"status", "code", "message", "details"?}}`,
//! with the status that says what the caller should do.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A request that failed, and why, in one line.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    /// A more specific code than the status gives, if any.
    code: Option<&'static str>,
    message: String,
    details: Option<Value>,
}

impl ApiError {
    /// An error with `status` and a one-line `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code: None,
            message: message.into(),
            details: None,
        }
    }

    /// 400: the request is malformed; nothing changed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    fn code(&self) -> &'static str {
        if let Some(code) = self.code {
            return code;
        }
        match self.status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNPROCESSABLE_ENTITY => "actor_failed",
            StatusCode::GATEWAY_TIMEOUT => "timeout",
            StatusCode::TOO_MANY_REQUESTS => "mailbox_full",
            _ => "internal",
        }
    }
}

impl From<reprise::Error> for ApiError {
    fn from(error: reprise::Error) -> Self {
        use reprise::Error as E;
        let status = match &error {
            E::InvalidInput(_) | E::InvalidComponent(_) => StatusCode::BAD_REQUEST,
            E::NotFound(_) => StatusCode::NOT_FOUND,
            E::Conflict(_) => StatusCode::CONFLICT,
            E::ActorFailed { failure, .. } => {
                let details = failure
                    .details
                    .as_deref()
                    .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::from(d)));
                return Self {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: None,
                    message: error.to_string(),
                    details,
                };
            }
            E::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            E::IdempotencyKeyReused(_) => {
                return Self {
                    status: StatusCode::CONFLICT,
                    code: Some("idempotency_key_reused"),
                    message: error.to_string(),
                    details: None,
                };
            }
            E::MailboxFull { actor, capacity } => {
                let details = json!({ "actor": actor.to_string(), "capacity": capacity });
                return Self {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    code: None,
                    message: error.to_string(),
                    details: Some(details),
                };
            }
            _ => {
                tracing::error!(%error, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self::new(status, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "status": self.status.as_u16(),
            "code": self.code(),
            "message": self.message,
        });
        if let Some(details) = self.details {
            error["details"] = details;
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            // A full mailbox drains at the actor's pace; a second is a
            // fair first wait, and the caller may back off further.
            headers.insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// The answer for a path no route serves: `no_route`, which a client
/// can tell from an unknown instance or actor (`not_found`).
pub(crate) async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError {
        code: Some("no_route"),
        ..ApiError::new(StatusCode::NOT_FOUND, format!("no route {}", uri.path()))
    }
}

/// The answer for a method a route does not serve.
pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}
