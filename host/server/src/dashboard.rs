//! The web dashboard: one page, its style sheet and its ES modules,
//! embedded in the binary, so the server needs nothing beside it and
//! fetches nothing at run time. There is no build step: the browser loads
//! the modules as they are written, the page's `<script type="module">`
//! importing the others. The pages read everything through the API.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// One embedded file: where it is served and as what.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// An ES module of `assets/`, served under `/assets/` by the same name.
macro_rules! module {
    ($name:literal) => {
        Asset {
            path: concat!("/assets/", $name),
            content_type: JAVASCRIPT,
            body: include_str!(concat!("../assets/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/index.html"),
    },
    Asset {
        path: "/assets/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/app.css"),
    },
    module!("main.js"),
    module!("router.js"),
    module!("context.js"),
    module!("api.js"),
    module!("token.js"),
    module!("messages.js"),
    module!("dom.js"),
    module!("format.js"),
    module!("widgets.js"),
    module!("timeline.js"),
    module!("waiting.js"),
    module!("instance-actions.js"),
    module!("pages/instances.js"),
    module!("pages/instance.js"),
    module!("pages/actors.js"),
    module!("pages/actor.js"),
    module!("pages/start.js"),
    module!("pages/components.js"),
];

/// The dashboard's only Content-Security-Policy (the page carries none of
/// its own): nothing by default; scripts, which are the modules, style and
/// API requests from this origin only, so nothing inline runs; the icon is
/// a `data:` image; no plugins, no `<base>`, no form posts (the forms are
/// handled by script), no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// What every response of the dashboard sends: no framing by other sites,
/// no content-type guessing, no scripts but ours.
const SECURITY: [(header::HeaderName, &str); 3] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
];

pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    ASSETS.iter().fold(axum::Router::new(), |router, asset| {
        router.route(asset.path, get(move || serve(asset)))
    })
}

async fn serve(asset: &'static Asset) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, asset.content_type)],
        SECURITY,
        asset.body,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    fn asset(path: &str) -> Option<&'static Asset> {
        ASSETS.iter().find(|a| a.path == path)
    }

    /// `base` with the relative specifier `spec` resolved against it, as a
    /// browser resolves a module's imports.
    fn resolve(base: &str, spec: &str) -> String {
        let mut parts: Vec<&str> = base.split('/').collect();
        parts.pop();
        for part in spec.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                _ => parts.push(part),
            }
        }
        parts.join("/")
    }

    /// The specifiers a module imports from (`import … from '…'`, one or
    /// several lines).
    fn imports(source: &str) -> Vec<&str> {
        source
            .lines()
            .map(str::trim_start)
            .filter(|line| line.starts_with("import ") || line.starts_with("} from "))
            .filter_map(|line| line.split("from '").nth(1)?.split('\'').next())
            .collect()
    }

    /// The `src` of every `<script>` of the page; panics on an inline one.
    fn page_scripts() -> Vec<&'static str> {
        let page = asset("/").unwrap().body;
        page.split("<script")
            .skip(1)
            .map(|tag| {
                let tag = tag.split('>').next().unwrap();
                assert!(
                    tag.contains(r#"type="module""#),
                    "a classic script: <script{tag}>"
                );
                tag.split(r#"src=""#)
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or_else(|| panic!("an inline script: <script{tag}>"))
            })
            .collect()
    }

    #[test]
    fn every_module_the_page_imports_is_served_and_every_served_module_is_imported() {
        let mut reached = BTreeSet::new();
        let mut pending: Vec<String> = page_scripts().into_iter().map(str::to_owned).collect();
        while let Some(path) = pending.pop() {
            let module =
                asset(&path).unwrap_or_else(|| panic!("{path} is imported but not served"));
            assert_eq!(module.content_type, JAVASCRIPT, "{path}");
            if !reached.insert(path.clone()) {
                continue;
            }
            for spec in imports(module.body) {
                assert!(
                    spec.starts_with("./") || spec.starts_with("../"),
                    "{path} imports {spec}: only relative specifiers resolve without a build step"
                );
                pending.push(resolve(&path, spec));
            }
        }
        let served: BTreeSet<String> = ASSETS
            .iter()
            .filter(|a| a.content_type == JAVASCRIPT)
            .map(|a| a.path.to_owned())
            .collect();
        assert_eq!(reached, served, "a served module no page imports");
    }

    #[test]
    fn the_page_has_no_policy_of_its_own_and_no_inline_script() {
        let page = asset("/").unwrap().body;
        assert!(
            !page.to_ascii_lowercase().contains("http-equiv"),
            "a <meta> policy beside the header's"
        );
        assert_eq!(page_scripts(), ["/assets/main.js"]);
    }

    #[tokio::test]
    async fn every_file_is_served_with_its_type_and_the_policy() {
        let app: axum::Router = routes();
        for asset in ASSETS {
            let request = Request::get(asset.path).body(Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{}", asset.path);
            let headers = response.headers();
            assert_eq!(headers[header::CONTENT_TYPE], asset.content_type);
            assert_eq!(
                headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY
            );
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        }
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    }
}
