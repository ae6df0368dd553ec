//! Components: list what is registered, register one by upload, and move
//! live instances to one (its upgrade plan, then the upgrade). An upload
//! is validated (a component, for a Reprise world) before anything is
//! stored, and stored in the database by digest: no file is written.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::params::Params;
use crate::{ApiError, AppState, body};

type Router = axum::Router<AppState>;

pub(crate) fn routes() -> Router {
    Router::new()
        .route("/api/components", get(list).post(register))
        .route("/api/components/{digest}/upgrade-plan", get(upgrade_plan))
        .route("/api/components/{digest}/upgrade", post(upgrade))
}

/// A digest from the path: 64 lowercase hex characters, or a bad request.
pub(crate) fn check_digest(digest: &str) -> Result<(), ApiError> {
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if digest.len() == 64 && digest.chars().all(hex) {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{digest:?} is not a component digest (64 lowercase hex characters)"
    )))
}

async fn upgrade_plan(
    State(app): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_digest(&digest)?;
    let plan = app.runtime.upgrade_plan_for(&digest).await?;
    Ok(Json(json!({ "totals": plan.totals(), "plan": plan })))
}

async fn upgrade(
    State(app): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_digest(&digest)?;
    let report = app.runtime.upgrade_to(&digest).await?;
    Ok(Json(
        json!({ "totals": report.plan.totals(), "report": report }),
    ))
}

async fn list(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    let components = app.runtime.components().await?;
    Ok(Json(json!({ "components": components })))
}

async fn register(
    State(app): State<AppState>,
    params: Params,
    upload: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let auto = match params.text("upgrade") {
        None | Some("none") => false,
        Some("auto") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "upgrade must be none or auto, not {other:?}"
            )));
        }
    };
    let bytes = body::component(&app.limits, upload).await?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the request has no body: send the component's bytes",
        ));
    }
    let info = app.runtime.register(&bytes).await?;
    if auto && !info.orchestrations.is_empty() {
        let report = app.runtime.upgrade_to(&info.digest).await?;
        let mut body = json!(info);
        body["upgrade"] = json!({ "totals": report.plan.totals(), "report": report });
        return Ok((StatusCode::CREATED, Json(body)));
    }
    Ok((StatusCode::CREATED, Json(json!(info))))
}
