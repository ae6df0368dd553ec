//! Components: list what is registered, register one by upload. An upload
//! is validated (a component, for a Reprise world) before anything is
//! stored, and stored in the database by digest: no file is written.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::{ApiError, AppState, body};

type Router = axum::Router<AppState>;

pub(crate) fn routes() -> Router {
    Router::new().route("/api/components", get(list).post(register))
}

async fn list(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let components = app.runtime.components().await?;
    Ok(Json(json!({ "components": components })))
}

async fn register(
    State(app): State<AppState>,
    upload: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bytes = body::component(&app.limits, upload).await?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request has no body: send the component's bytes",
        ));
    }
    let info = app.runtime.register(&bytes).await?;
    Ok((StatusCode::CREATED, Json(json!(info))))
}
