//! `/api/activities`: how each activity's tasks stand on every host
//! (waiting, running in a slot of a limited activity), with the limits
//! this server applies.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::{ApiError, AppState};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/activities", get(list))
}

async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let activities = state.runtime.activity_load().await?;
    Ok(Json(json!({ "activities": activities })))
}
