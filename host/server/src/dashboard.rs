//! The web dashboard: three static files embedded in the binary, so the
//! server needs nothing beside it and fetches nothing at run time. The
//! pages read everything through the API.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::AppState;

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/app.css");

/// What every page sends: no framing by other sites, no scripts but ours.
const SECURITY: [(header::HeaderName, &str); 3] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
];

pub(crate) fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/", get(|| page("text/html; charset=utf-8", INDEX)))
        .route(
            "/assets/app.js",
            get(|| page("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/assets/app.css",
            get(|| page("text/css; charset=utf-8", STYLE)),
        )
}

async fn page(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type)], SECURITY, body)
}
