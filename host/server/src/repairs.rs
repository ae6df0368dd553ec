//! Repairs: fork an instance from a point of its history, rewind a failed
//! one to before its failure.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use reprise::names::NameKind;
use reprise::{ForkOptions, RewindOptions};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::components::check_digest;
use crate::instances::{instance_json, links};
use crate::params::check_name;
use crate::{ApiError, AppState, body};

type Router = axum::Router<AppState>;

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/api/instances/{id}/fork", post(fork))
        .route("/api/instances/{id}/rewind", post(rewind))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ForkRequest {
    at: Option<u32>,
    instance_id: Option<String>,
    component: Option<String>,
}

async fn fork(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    let request: ForkRequest = body::json(&state.limits, request, "fork request").await?;
    if let Some(digest) = &request.component {
        check_digest(digest)?;
    }
    let options = ForkOptions {
        at: request.at,
        instance_id: request.instance_id,
        component: request.component,
    };
    let fork = state.runtime.fork(&id, options).await?;
    let instance = instance_json(&state.runtime.status(&fork.instance_id).await?);
    let links = links(&fork.instance_id);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "fork": fork, "instance": instance, "links": links })),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RewindRequest {
    component: Option<String>,
}

async fn rewind(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    check_name(NameKind::InstanceId, &id)?;
    let request: RewindRequest = body::json(&state.limits, request, "rewind request").await?;
    if let Some(digest) = &request.component {
        check_digest(digest)?;
    }
    let options = RewindOptions {
        component: request.component,
    };
    let rewound = state.runtime.rewind(&id, options).await?;
    let instance = instance_json(&state.runtime.status(&id).await?);
    Ok(Json(json!({ "rewound": rewound, "instance": instance })))
}
