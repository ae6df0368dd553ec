//! Actors: list a kind, read one's state, signal it, call it and wait for
//! the answer.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use reprise::store::ActorRecord;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::time::Duration;

use reprise::names::NameKind;

use crate::idempotency::IdempotencyKey;
use crate::params::{Params, check_name};
use crate::{ApiError, AppState, body};

type Router = axum::Router<AppState>;

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/api/actors/{kind}", get(list))
        .route("/api/actors/{kind}/{key}", get(state))
        .route("/api/actors/{kind}/{key}/signal/{operation}", post(signal))
        .route("/api/actors/{kind}/{key}/call/{operation}", post(call))
}

/// How long a call waits for its answer unless `timeout_ms` says otherwise.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A stored JSON text embedded as JSON (it was checked when it entered).
fn embedded(text: &str) -> Value {
    serde_json::from_str::<&RawValue>(text)
        .ok()
        .and_then(|raw| serde_json::to_value(raw).ok())
        .unwrap_or_else(|| Value::from(text))
}

fn actor_json(record: &ActorRecord) -> Value {
    json!({
        "kind": record.id.kind,
        "key": record.id.key,
        "state": embedded(&record.state),
    })
}

async fn list(
    State(app): State<AppState>,
    Path(kind): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::ActorKind, &kind)?;
    let limit = params.number("limit", 1..=1_000)?.unwrap_or(100) as usize;
    let actors: Vec<Value> = app
        .runtime
        .actors(&kind, limit)
        .await?
        .iter()
        .map(actor_json)
        .collect();
    Ok(Json(json!({ "actors": actors })))
}

async fn state(
    State(app): State<AppState>,
    Path((kind, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::ActorKind, &kind)?;
    check_name(NameKind::ActorKey, &key)?;
    let record = app.runtime.actor_state(&kind, &key).await?;
    let mailbox = app.runtime.actor_mailbox(&kind, &key).await?;
    let mut actor = actor_json(&record);
    actor["mailbox"] = mailbox.into();
    actor["mailbox_capacity"] = app.runtime.mailbox_capacity(&kind).into();
    Ok(Json(actor))
}

async fn signal(
    State(app): State<AppState>,
    Path((kind, key, operation)): Path<(String, String, String)>,
    IdempotencyKey(once): IdempotencyKey,
    input: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input = body::json_text(&app.limits, input, "operation input").await?;
    let runtime = &app.runtime;
    match &once {
        Some(once) => {
            let once = runtime.idempotent(once);
            once.signal_actor(&kind, &key, &operation, &input, None)
                .await?
        }
        None => {
            runtime
                .signal_actor(&kind, &key, &operation, &input, None)
                .await?
        }
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"accepted": true}))))
}

async fn call(
    State(app): State<AppState>,
    Path((kind, key, operation)): Path<(String, String, String)>,
    params: Params,
    IdempotencyKey(once): IdempotencyKey,
    input: Body,
) -> Result<Json<Value>, ApiError> {
    let timeout = match params.wait("timeout_ms")? {
        Some(wait) if wait.is_zero() => {
            return Err(ApiError::bad_request("timeout_ms must be at least 1"));
        }
        Some(wait) => wait,
        None => CALL_TIMEOUT,
    };
    let input = body::json_text(&app.limits, input, "operation input").await?;
    let runtime = &app.runtime;
    let output = match &once {
        Some(once) => {
            let once = runtime.idempotent(once);
            once.call_actor(&kind, &key, &operation, &input, timeout)
                .await?
        }
        None => {
            runtime
                .call_actor(&kind, &key, &operation, &input, timeout)
                .await?
        }
    };
    Ok(Json(json!({ "output": embedded(&output) })))
}
