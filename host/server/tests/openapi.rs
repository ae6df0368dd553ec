//! The OpenAPI description and the routes stay in step: every operation it
//! describes is served, every method it leaves out of a path is refused
//! with 405, and every API route in the source is described.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use reprise::Runtime;
use reprise_server::{OPENAPI, ServerOptions, router};
use serde_json::Value;
use tower::ServiceExt;

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// The paths of the `.route("…")` calls in the server's source.
fn routed_paths() -> Vec<String> {
    let sources = [
        include_str!("../src/lib.rs"),
        include_str!("../src/instances.rs"),
        include_str!("../src/actors.rs"),
        include_str!("../src/components.rs"),
        include_str!("../src/activities.rs"),
    ];
    sources
        .iter()
        .flat_map(|source| source.split(".route(").skip(1))
        .filter_map(|call| call.trim_start().strip_prefix('"')?.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_description_and_the_routes_agree() {
    let dir = tempfile::tempdir().unwrap();
    let store = reprise_sqlite::SqliteStore::open(dir.path().join("api.db")).unwrap();
    let runtime = Runtime::builder(Arc::new(store)).build().await.unwrap();
    let app = router(runtime, &ServerOptions::default());
    let spec: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
    assert_eq!(spec["openapi"], "3.0.3");
    let paths = spec["paths"].as_object().expect("paths");

    for path in routed_paths() {
        assert!(
            paths.contains_key(&path) || path == "/healthz",
            "{path} is routed but not described"
        );
    }
    assert!(paths.contains_key("/healthz"));

    for (path, operations) in paths {
        // Path parameters get a value no resource has.
        let concrete = path.replace('{', "").replace('}', "-none");
        for method in METHODS {
            let described = operations.get(method.as_str().to_lowercase()).is_some();
            let request = Request::builder()
                .method(method.clone())
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&body);
            let unrouted = serde_json::from_slice::<Value>(&body)
                .is_ok_and(|b| b["error"]["code"] == "no_route");
            if described {
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && !unrouted,
                    "{method} {path} is described but not served: {status} {text}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not described: {text}"
                );
            }
        }
    }
}
