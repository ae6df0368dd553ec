//! Reprise over HTTP: a JSON API to start and steer orchestrations, call
//! actors and register components, and a web dashboard, served by the
//! process that runs the worker.
//!
//! The API follows the asynchronous HTTP API pattern of Durable Functions:
//! starting an instance answers `202 Accepted` with a `Location` and links
//! to steer it; a client that wants the result waits on the status with
//! `wait_ms` (a long poll, woken when the instance finishes, never polling
//! the store). Errors are JSON with the status they came with
//! ([`ApiError`]). `openapi.json` describes every route; a test keeps the
//! two in step.
//!
//! - `instances`, `actors`, `components`: the routes, by resource.
//! - `auth`: the bearer token; `body`, `params`: request bodies within
//!   their limits and query parameters, each with a clear error.
//! - `dashboard`: the web pages, embedded in the binary.
//! - `metrics`: `/metrics` for Prometheus.

mod activities;
mod actors;
mod auth;
mod body;
mod components;
mod dashboard;
mod error;
mod idempotency;
mod instances;
mod metrics;
mod params;
mod repairs;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use reprise::Runtime;

pub use error::ApiError;

/// How the server runs.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// A bearer token every API request must carry; `None` for none, which
    /// only a server on a loopback address may run with (see [`check_exposure`]).
    pub token: Option<String>,
    /// The largest component that can be uploaded, in bytes.
    pub max_component_bytes: Option<usize>,
}

/// Refuses to serve beyond loopback without a token: anyone who can reach
/// the port could run code on the host.
pub fn check_exposure(address: &SocketAddr, options: &ServerOptions) -> Result<(), String> {
    if address.ip().is_loopback() || options.token.as_deref().is_some_and(|t| !t.is_empty()) {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {address} without a token: set --token (or REPRISE_TOKEN), or listen on loopback"
        ))
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    runtime: Runtime,
    limits: Arc<body::BodyLimits>,
}

/// The OpenAPI description of the API, as served.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The API and the dashboard over `runtime`. The caller runs the worker.
pub fn router(runtime: Runtime, options: &ServerOptions) -> Router {
    let limits = body::BodyLimits::new(runtime.limits(), options.max_component_bytes);
    let state = AppState {
        runtime,
        limits: Arc::new(limits),
    };
    let api = Router::new()
        .merge(instances::routes())
        .merge(actors::routes())
        .merge(components::routes())
        .merge(activities::routes())
        .merge(repairs::routes())
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::middleware::from_fn_with_state(
            auth::Token::new(options.token.clone()),
            auth::require,
        ));
    Router::new()
        .merge(api)
        .route("/healthz", get(healthz))
        .merge(dashboard::routes())
        .fallback(error::no_route)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}
