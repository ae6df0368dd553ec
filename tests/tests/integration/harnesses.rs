//! The served API and dashboard under outside harnesses, against a real
//! `reprise serve` on loopback: schemathesis checks every operation against
//! the OpenAPI description the server serves, and a headless Chromium
//! (driven by playwright-core) uses the dashboard as a person would. Both
//! are installed, pinned, by `scripts/toolchains`.

use std::path::{Path, PathBuf};
use std::process::Command;

use reprise_tests::http::{Http, ServerProcess};
use reprise_tests::{guest_path, js_guest_path, python_guest_path};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the repository")
        .to_owned()
}

/// A fresh server with these example components uploaded.
fn server_with(components: &[&str], args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(&dir.path().join("serve.db"), args);
    let http: Http = server.client();
    for name in components {
        let bytes = std::fs::read(guest_path(name)).unwrap();
        let registered = http.upload("/api/components", &bytes);
        assert_eq!(registered.status, 201, "{:?}", registered.json());
    }
    (dir, server)
}

/// Runs a harness from the repository root; fails with its output unless
/// it exits 0.
fn run(mut command: Command, what: &str, install: &str) {
    let output = command
        .current_dir(repository())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({e}): {install}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("{stdout}");
}

/// No 5xx, every response as described (status, content type, schema,
/// headers), valid requests accepted and invalid ones refused, over
/// generated requests to every operation and stateful sequences of them.
#[test]
fn the_api_keeps_to_its_openapi_description_under_generated_requests() {
    let (_dir, server) = server_with(&["approval", "hello_sequence", "bank"], &[]);
    let schemathesis = repository().join("target/toolchains/schemathesis/bin/schemathesis");
    let mut command = Command::new(schemathesis);
    command
        .args(["--config-file", "tests/api/schemathesis.toml", "run"])
        .arg(format!("http://{}/api/openapi.json", server.addr))
        .env("NO_COLOR", "1");
    run(command, "schemathesis", "run scripts/toolchains");
}

/// Starts the approval example from the start form, sees it waiting for the
/// manager, raises the approval from the page, sees it completed with its
/// timeline, and shows ids, inputs and event data that carry scripts as
/// text without running them. Screenshots of each page are kept in
/// target/test-artifacts/dashboard.
#[test]
fn the_dashboard_runs_the_approval_in_a_browser_and_shows_scripts_as_text() {
    let (_dir, server) = server_with(&["approval", "hello_sequence"], &[]);
    let artifacts = repository().join("target/test-artifacts/dashboard");
    let mut command = Command::new("node");
    command
        .arg("tests/browser/dashboard.mjs")
        .arg(format!("http://{}", server.addr))
        .arg(&artifacts);
    run(
        command,
        "the browser harness",
        "run scripts/toolchains (it installs playwright-core and Chromium)",
    );
    for shot in [
        "1-instance-waiting.png",
        "2-instance-completed.png",
        "3-instances.png",
        "4-script-injection.png",
    ] {
        let size = std::fs::metadata(artifacts.join(shot)).map_or(0, |m| m.len());
        assert!(size > 10_000, "screenshot {shot} missing or empty");
    }
}

/// Live work through change from the dashboard: the Components page shows
/// the instances on each version, registers v2, shows an incompatible
/// plan with nothing to move and applies a compatible one; a moved
/// approval is forked from its timeline and the fork's page names its
/// source; an order that failed for want of its pricing component is
/// rewound from its page once it is deployed, and completes. Screenshots
/// are kept in target/test-artifacts/change.
#[test]
fn the_dashboard_moves_live_work_to_new_code_forks_it_and_rewinds_it_in_a_browser() {
    let (_dir, server) = server_with(
        &["approval", "orders"],
        &["--activity-limit", "price_order:concurrency=2,rate=10/1s"],
    );
    let artifacts = repository().join("target/test-artifacts/change");
    let mut command = Command::new("node");
    command
        .arg("tests/browser/change.mjs")
        .arg(format!("http://{}", server.addr))
        .arg(&artifacts)
        .arg(guest_path("upgrades_v2"))
        .arg(guest_path("upgrades_v3"))
        .arg(js_guest_path("js_pricing"))
        .arg(python_guest_path("py_shipping"));
    run(
        command,
        "the browser harness",
        "run scripts/toolchains (it installs playwright-core and Chromium)",
    );
    for shot in [
        "1-components.png",
        "2-plan-diverges.png",
        "3-upgrade-applied.png",
        "4-fork.png",
        "5-failed.png",
        "6-rewound.png",
    ] {
        let size = std::fs::metadata(artifacts.join(shot)).map_or(0, |m| m.len());
        assert!(size > 10_000, "screenshot {shot} missing or empty");
    }
}
