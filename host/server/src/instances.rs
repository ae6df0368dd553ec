//! Orchestration instances: start, list, status (with a long poll),
//! history, what it is waiting for, events, terminate, suspend, resume,
//! purge.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reprise::store::{InstanceCursor, InstanceQuery, InstanceRecord, Status};
use reprise::view::{EventView, InstanceView};
use reprise::{Error, StartOptions};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use reprise::names::NameKind;

use crate::idempotency::IdempotencyKey;
use crate::params::{Params, check_name};
use crate::{ApiError, AppState, body};

type Router = axum::Router<AppState>;

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/api/instances", get(list).post(start))
        .route("/api/instances/{id}", get(status).delete(purge))
        .route("/api/instances/{id}/history", get(history))
        .route("/api/instances/{id}/waiting", get(waiting))
        .route("/api/instances/{id}/events/{name}", post(raise_event))
        .route("/api/instances/{id}/terminate", post(terminate))
        .route("/api/instances/{id}/suspend", post(suspend))
        .route("/api/instances/{id}/resume", post(resume))
}

/// Instances listed per page unless `limit` says otherwise.
const PAGE: u64 = 50;
const MAX_PAGE: u64 = 1_000;

/// An instance as JSON (see `reprise::view`).
pub(crate) fn instance_json(record: &InstanceRecord) -> Value {
    let failure = record.failure();
    serde_json::to_value(InstanceView::new(record, failure.as_ref())).unwrap_or(Value::Null)
}

/// Where to see and steer an instance: what a client of the asynchronous
/// HTTP API pattern follows after a 202.
pub(crate) fn links(id: &str) -> Value {
    let base = format!("/api/instances/{}", path_segment(id));
    json!({
        "status": base,
        "history": format!("{base}/history"),
        "waiting": format!("{base}/waiting"),
        "raise_event": format!("{base}/events/{{name}}"),
        "terminate": format!("{base}/terminate"),
        "suspend": format!("{base}/suspend"),
        "resume": format!("{base}/resume"),
        "purge": base,
    })
}

/// `text` as one URL path segment: everything but unreserved characters
/// percent-encoded.
fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    orchestration: String,
    #[serde(default)]
    input: Option<Box<RawValue>>,
    #[serde(default)]
    instance_id: Option<String>,
    #[serde(default)]
    pinned: bool,
}

async fn start(
    State(state): State<AppState>,
    params: Params,
    IdempotencyKey(once): IdempotencyKey,
    request: Body,
) -> Result<Response, ApiError> {
    let wait = params.wait("wait_ms")?;
    let request: StartRequest = body::json(&state.limits, request, "start request").await?;
    if request.orchestration.is_empty() {
        return Err(ApiError::bad_request(
            "the start request names no orchestration",
        ));
    }
    let input = request.input.as_ref().map_or("null", |i| i.get());
    let options = StartOptions {
        instance_id: request.instance_id,
        pinned: request.pinned,
    };
    let name = &request.orchestration;
    let id = match &once {
        Some(key) => {
            state
                .runtime
                .idempotent(key)
                .start(name, input, options)
                .await?
        }
        None => state.runtime.start(name, input, options).await?,
    };
    if let Some(wait) = wait {
        match state.runtime.wait(&id, wait).await {
            Ok(record) => {
                let body =
                    json!({"id": id, "instance": instance_json(&record), "links": links(&id)});
                return Ok((StatusCode::OK, Json(body)).into_response());
            }
            Err(Error::Timeout(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    let location = format!("/api/instances/{}", path_segment(&id));
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!({"id": id, "links": links(&id)})),
    )
        .into_response())
}

async fn list(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let status = params
        .text("status")
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status must be running, suspended, completed, failed or terminated, not {s:?}"
                ))
            })
        })
        .transpose()?;
    let after = params
        .text("cursor")
        .map(|c| {
            InstanceCursor::decode(c).ok_or_else(|| {
                ApiError::bad_request(format!("{c:?} is not a cursor this server gave"))
            })
        })
        .transpose()?;
    let limit = params.number("limit", 1..=MAX_PAGE)?.unwrap_or(PAGE) as usize;
    let query = InstanceQuery {
        status,
        name: params.text("name").map(str::to_owned),
        created_from: params.number("created_after", 0..=i64::MAX as u64)?,
        created_before: params.number("created_before", 0..=i64::MAX as u64)?,
        after,
        limit,
    };
    let records = state.runtime.list(&query).await?;
    // A full page may have more after it; a short one is the last.
    let next = (records.len() == limit)
        .then(|| records.last().map(|r| InstanceCursor::after(r).encode()))
        .flatten();
    let instances: Vec<Value> = records.iter().map(instance_json).collect();
    Ok(Json(json!({"instances": instances, "next_cursor": next})))
}

async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    let record = match params.wait("wait_ms")? {
        Some(wait) => match state.runtime.wait(&id, wait).await {
            Ok(record) => record,
            Err(Error::Timeout(_)) => state.runtime.status(&id).await?,
            Err(error) => return Err(error.into()),
        },
        None => state.runtime.status(&id).await?,
    };
    Ok(Json(instance_json(&record)))
}

async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    let events = state.runtime.history(&id).await?;
    let events: Vec<EventView> = events.iter().map(EventView::from).collect();
    Ok(Json(json!({ "events": events })))
}

/// What a running instance awaits right now, from the store alone.
async fn waiting(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    let facts = state.runtime.waiting(&id).await?;
    Ok(Json(
        serde_json::to_value(facts.report()).unwrap_or(Value::Null),
    ))
}

async fn raise_event(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    IdempotencyKey(once): IdempotencyKey,
    data: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let data = body::json_text(&state.limits, data, "event data").await?;
    match &once {
        Some(key) => {
            state
                .runtime
                .idempotent(key)
                .raise_event(&id, &name, &data)
                .await?
        }
        None => state.runtime.raise_event(&id, &name, &data).await?,
    }
    Ok((StatusCode::ACCEPTED, Json(json!({"accepted": true}))))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TerminateRequest {
    reason: Option<String>,
}

async fn terminate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    let request: TerminateRequest = body::json(&state.limits, request, "terminate request").await?;
    let reason = request
        .reason
        .as_deref()
        .unwrap_or("terminated through the API");
    state.runtime.terminate(&id, reason).await?;
    Ok(Json(instance_json(&state.runtime.status(&id).await?)))
}

async fn suspend(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    state.runtime.suspend(&id).await?;
    Ok(Json(instance_json(&state.runtime.status(&id).await?)))
}

async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    state.runtime.resume(&id).await?;
    Ok(Json(instance_json(&state.runtime.status(&id).await?)))
}

async fn purge(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    state.runtime.purge(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
