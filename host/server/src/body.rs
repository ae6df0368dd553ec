//! Request bodies, read within their limits: JSON payloads up to the
//! runtime's payload limit (plus room for an envelope), components up to
//! their own limit. Too large is 413, not JSON is 400, and either way
//! nothing has happened yet.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use serde_json::value::RawValue;

use crate::ApiError;

/// Room for the JSON around a payload (`{"orchestration": …, "input": …}`).
const ENVELOPE_BYTES: usize = 16 << 10;
/// Components larger than this are refused unless configured otherwise:
/// a Python component is about 20 MB.
const DEFAULT_COMPONENT_BYTES: usize = 64 << 20;

pub(crate) struct BodyLimits {
    json: usize,
    component: usize,
}

impl BodyLimits {
    pub(crate) fn new(limits: &reprise::Limits, component: Option<usize>) -> Self {
        Self {
            json: limits.max_payload_bytes + ENVELOPE_BYTES,
            component: component.unwrap_or(DEFAULT_COMPONENT_BYTES),
        }
    }
}

/// The body's bytes, at most `limit` of them.
async fn read(body: Body, limit: usize, what: &str) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the {what} is larger than {limit} bytes"),
        )
    })
}

/// A JSON body as text, checked to be JSON; an empty body is `null`.
pub(crate) async fn json_text(
    limits: &BodyLimits,
    body: Body,
    what: &str,
) -> Result<String, ApiError> {
    let bytes = read(body, limits.json, what).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok("null".into());
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_request(format!("the {what} is not UTF-8")))?;
    serde_json::from_str::<&RawValue>(text)
        .map_err(|e| ApiError::bad_request(format!("the {what} is not JSON: {e}")))?;
    Ok(text.trim().to_owned())
}

/// A JSON body parsed as `T`; an empty body is `T`'s default.
pub(crate) async fn json<T: serde::de::DeserializeOwned + Default>(
    limits: &BodyLimits,
    body: Body,
    what: &str,
) -> Result<T, ApiError> {
    let bytes = read(body, limits.json, what).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("the {what}: {e}")))
}

/// A component's bytes.
pub(crate) async fn component(limits: &BodyLimits, body: Body) -> Result<Bytes, ApiError> {
    read(body, limits.component, "component").await
}
