//! `reprise serve` over real HTTP on loopback: the asynchronous HTTP API
//! pattern, listing and paging, actors, components, the token, and every
//! error status with nothing changed behind it.

use std::time::Duration;

use reprise_tests::http::{Http, ServerProcess};
use reprise_tests::{eventually, guest_path};
use serde_json::{Value, json};

fn server(args: &[&str]) -> (tempfile::TempDir, ServerProcess) {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(&dir.path().join("serve.db"), args);
    (dir, server)
}

/// Registers example components by upload.
fn upload(http: &Http, components: &[&str]) {
    for name in components {
        let bytes = std::fs::read(guest_path(name)).unwrap();
        let registered = http.upload("/api/components", &bytes);
        assert_eq!(registered.status, 201, "{:?}", registered.json());
    }
}

fn start(http: &Http, body: Value) -> String {
    let started = http.post("/api/instances", &body.to_string());
    assert_eq!(started.status, 202, "{}", started.json());
    started.json()["id"].as_str().unwrap().to_owned()
}

/// Waits (up to ten seconds) until an approval's waiting report shows it
/// blocked on its race (the manager's answer against its deadline), and
/// returns the report.
async fn blocked_on_its_race(http: &Http, id: &str) -> Value {
    eventually(
        Duration::from_secs(10),
        format!("approval {id} blocks on its race (its waiting report is shown)"),
        async || {
            let report = http.get(&format!("/api/instances/{id}/waiting"));
            assert_eq!(report.status, 200);
            let report = report.json();
            if report["waiting"].as_array().unwrap().len() == 2 {
                Ok(report)
            } else {
                Err(report)
            }
        },
    )
    .await
}

fn instance_count(http: &Http) -> usize {
    let listed = http.get("/api/instances?limit=1000");
    listed.json()["instances"].as_array().unwrap().len()
}

/// Start answers 202 with a Location and links; the status long-polls
/// until the instance finishes; an event, suspend, resume, terminate and
/// purge go through the links, and each refuses the wrong state with 409.
#[tokio::test]
async fn the_async_http_api_starts_waits_for_and_steers_instances() {
    let (_dir, server) = server(&[]);
    let http = server.client();
    upload(&http, &["hello_sequence", "approval"]);
    let components = http.get("/api/components").json();
    let names: Vec<&Value> = components["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["orchestrations"].as_array().unwrap())
        .collect();
    assert_eq!(names, [&json!("hello_sequence"), &json!("approval")]);

    let started = http.post(
        "/api/instances",
        r#"{"orchestration": "hello_sequence", "input": ["Tokyo", "Oslo"], "instance_id": "trip/1"}"#,
    );
    assert_eq!(started.status, 202);
    assert_eq!(started.header("location"), Some("/api/instances/trip%2F1"));
    let links = &started.json()["links"];
    assert_eq!(
        links["raise_event"],
        "/api/instances/trip%2F1/events/{name}"
    );
    let done = http.get("/api/instances/trip%2F1?wait_ms=20000").json();
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["output"], json!(["Hello, Tokyo!", "Hello, Oslo!"]));
    let history = http.get(links["history"].as_str().unwrap()).json();
    let types: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"started"));
    assert_eq!(types.last(), Some(&"completed"));
    assert_eq!(
        types.iter().filter(|t| **t == "activity_scheduled").count(),
        2
    );

    // Waiting at the start: 200 with the finished instance.
    let waited = http.post(
        "/api/instances?wait_ms=20000",
        r#"{"orchestration": "hello_sequence", "input": ["Lima"]}"#,
    );
    assert_eq!(waited.status, 200);
    assert_eq!(waited.json()["instance"]["output"], json!(["Hello, Lima!"]));

    // An approval waits for its event; the status long poll ends when the
    // event has let it finish.
    let request = json!({"item": "laptop", "amount": 1800, "timeout_secs": 600});
    let id = start(
        &http,
        json!({"orchestration": "approval", "input": request}),
    );
    let path = format!("/api/instances/{id}");
    let waiting = http.get(&format!("{path}?wait_ms=300")).json();
    assert_eq!(waiting["status"], "running");
    // What it waits for: the manager's answer, raced against its deadline.
    let awaited = blocked_on_its_race(&http, &id).await;
    assert_eq!(awaited["waiting"][0]["kind"], "event", "{awaited}");
    assert_eq!(awaited["waiting"][0]["name"], "approval");
    assert_eq!(awaited["waiting"][1]["kind"], "timer");
    let poll = {
        let (http, path) = (http.clone(), path.clone());
        std::thread::spawn(move || http.get(&format!("{path}?wait_ms=20000")).json())
    };
    let raised = http.post(
        &format!("{path}/events/approval"),
        r#"{"approved": true, "by": "dana"}"#,
    );
    assert_eq!(raised.status, 202);
    let finished = poll.join().unwrap();
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["output"]["by"], "dana", "{finished}");
    let late = http.post(&format!("{path}/events/approval"), "{}");
    assert_eq!((late.status, late.error_code().as_str()), (409, "conflict"));

    // Suspend, resume, terminate, purge; each refuses the wrong state.
    let id = start(
        &http,
        json!({"orchestration": "approval", "input": request}),
    );
    let path = format!("/api/instances/{id}");
    let action = |what: &str| http.post(&format!("{path}/{what}"), "");
    assert_eq!(action("suspend").json()["status"], "suspended");
    assert_eq!(action("suspend").status, 409);
    assert_eq!(action("resume").json()["status"], "running");
    assert_eq!(action("resume").status, 409);
    assert_eq!(http.delete(&path).status, 409, "a running instance stays");
    let terminated = http.post(&format!("{path}/terminate"), r#"{"reason": "no budget"}"#);
    assert_eq!(terminated.json()["status"], "terminated");
    assert_eq!(terminated.json()["output"], "no budget");
    assert_eq!(action("terminate").status, 409);
    assert_eq!(http.delete(&path).status, 204);
    assert_eq!(http.get(&path).error_code(), "not_found");
}

/// Filters by status, name and creation time; pages of three with the
/// cursor give every instance once, newest first.
#[test]
fn instances_are_listed_by_filter_and_paged_by_cursor() {
    let (_dir, server) = server(&[]);
    let http = server.client();
    upload(&http, &["hello_sequence", "approval"]);
    let request = json!({"item": "pen", "amount": 2, "timeout_secs": 600});
    let mut started = Vec::new();
    for i in 0..7 {
        started.push(start(
            &http,
            json!({"orchestration": "hello_sequence", "input": [format!("c{i}")]}),
        ));
        started.push(start(
            &http,
            json!({"orchestration": "approval", "input": request}),
        ));
    }
    // The greetings finish, the approvals wait: the listing holds both.
    for id in started.iter().step_by(2) {
        let done = http
            .get(&format!("/api/instances/{id}?wait_ms=20000"))
            .json();
        assert_eq!(done["status"], "completed", "{done}");
    }
    let ids = |body: &Value| -> Vec<String> {
        body["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = http.get("/api/instances").json();
    assert_eq!(ids(&all).len(), 14);
    assert!(all["next_cursor"].is_null(), "one page holds them");

    let mut paged = Vec::new();
    let mut path = "/api/instances?limit=3".to_owned();
    loop {
        let page = http.get(&path).json();
        paged.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                let cursor: String = url_encode(cursor);
                path = format!("/api/instances?limit=3&cursor={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(paged, ids(&all));

    let approvals = http
        .get("/api/instances?name=approval&status=running")
        .json();
    assert_eq!(ids(&approvals).len(), 7);
    let newest = all["instances"][0]["created_at"].as_u64().unwrap();
    let recent = http
        .get(&format!("/api/instances?created_after={newest}"))
        .json();
    assert!(ids(&recent).contains(&ids(&all)[0]));
    let none = http.get("/api/instances?created_before=1").json();
    assert!(ids(&none).is_empty());

    for bad in [
        "status=sleeping",
        "limit=0",
        "limit=x",
        "cursor=nonsense",
        "created_after=-1",
    ] {
        let answer = http.get(&format!("/api/instances?{bad}"));
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (400, "bad_request"),
            "{bad}"
        );
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Actors over HTTP: signal, call, a failed call's failure (422), state
/// with its mailbox, a kind's list.
#[test]
fn actors_are_signalled_called_and_read_over_http() {
    let (_dir, server) = server(&[]);
    let http = server.client();
    upload(&http, &["bank"]);
    let signalled = http.post("/api/actors/account/alice/signal/deposit", "100");
    assert_eq!(signalled.status, 202);
    let called = http.post(
        "/api/actors/account/bob/call/deposit?timeout_ms=20000",
        "40",
    );
    assert_eq!(called.status, 200, "{}", called.json());
    let balance = http
        .post("/api/actors/account/alice/call/balance", "null")
        .json();
    assert_eq!(balance["output"], 100, "{balance}");

    let refused = http.post("/api/actors/account/bob/call/withdraw", "500");
    assert_eq!(refused.error_code(), "actor_failed");
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("insufficient funds"), "{message}");

    let alice = http.get("/api/actors/account/alice").json();
    assert_eq!(alice["mailbox"], 0, "{alice}");
    assert_eq!(alice["mailbox_capacity"], 10_000, "the default bound");
    assert_eq!(alice["kind"], "account");
    let accounts = http.get("/api/actors/account").json();
    let keys: Vec<&str> = accounts["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["alice", "bob"]);
    assert_eq!(
        http.get("/api/actors/account/carol").error_code(),
        "not_found"
    );
    assert_eq!(
        http.post("/api/actors/nobody/x/signal/op", "1")
            .error_code(),
        "not_found"
    );
}

/// Every kind of bad request gets its status and a JSON error, and leaves
/// the instances and components as they were.
#[test]
fn bad_requests_get_their_status_and_change_nothing() {
    let (_dir, server) = server(&[]);
    let http = server.client();
    upload(&http, &["hello_sequence"]);
    let taken = start(
        &http,
        json!({"orchestration": "hello_sequence", "input": ["x"], "instance_id": "taken"}),
    );
    // The snapshot is taken once the instance has finished: the components'
    // tallies count instances by status, and only bad requests may not move them.
    let done = http
        .get(&format!("/api/instances/{taken}?wait_ms=20000"))
        .json();
    assert_eq!(done["status"], "completed", "{done}");
    let (instances, components) = (instance_count(&http), http.get("/api/components").json());

    let oversized = format!("[\"{}\"]", "x".repeat(2 << 20));
    let cases: Vec<(&str, String, Option<String>, u16, &str)> = vec![
        (
            "POST",
            "/api/instances".into(),
            Some("{not json".into()),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/instances".into(),
            Some(r#"{"orchestration": "hello_sequence", "extra": 1}"#.into()),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/instances".into(),
            Some(r#"{"input": 1}"#.into()),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/instances".into(),
            Some(r#"{"orchestration": "nope"}"#.into()),
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/instances".into(),
            Some(format!(
                r#"{{"orchestration": "hello_sequence", "instance_id": "{taken}"}}"#
            )),
            409,
            "conflict",
        ),
        (
            "POST",
            "/api/instances".into(),
            Some(r#"{"orchestration": "hello_sequence", "instance_id": "bad\u0001id"}"#.into()),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/instances?wait_ms=9999999".into(),
            Some(r#"{"orchestration": "hello_sequence"}"#.into()),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/instances".into(),
            Some(format!(
                r#"{{"orchestration": "hello_sequence", "input": {oversized}}}"#
            )),
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/api/instances/taken/events/go".into(),
            Some(oversized.clone()),
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/api/instances/taken/events/go".into(),
            Some("[1,".into()),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/instances/ghost/events/go".into(),
            Some("1".into()),
            404,
            "not_found",
        ),
        ("GET", "/api/instances/ghost".into(), None, 404, "not_found"),
        (
            "GET",
            "/api/instances/bad%01id".into(),
            None,
            400,
            "bad_request",
        ),
        (
            "DELETE",
            "/api/instances/bad%01id".into(),
            None,
            400,
            "bad_request",
        ),
        (
            "GET",
            format!("/api/actors/{}", "k".repeat(129)),
            None,
            400,
            "bad_request",
        ),
        (
            "GET",
            "/api/actors/account/bad%7Fkey".into(),
            None,
            400,
            "bad_request",
        ),
        (
            "GET",
            "/api/instances?created_before=9223372036854775808".into(),
            None,
            400,
            "bad_request",
        ),
        (
            "GET",
            "/api/instances/ghost/history".into(),
            None,
            404,
            "not_found",
        ),
        (
            "GET",
            "/api/instances/ghost/waiting".into(),
            None,
            404,
            "not_found",
        ),
        (
            "POST",
            "/api/instances/ghost/terminate".into(),
            None,
            404,
            "not_found",
        ),
        (
            "DELETE",
            "/api/instances/ghost".into(),
            None,
            404,
            "not_found",
        ),
        ("GET", "/api/nowhere".into(), None, 404, "no_route"),
        (
            "PUT",
            "/api/instances".into(),
            None,
            405,
            "method_not_allowed",
        ),
        (
            "POST",
            "/api/actors/account/a/signal/deposit".into(),
            Some("{".into()),
            400,
            "bad_request",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let answer = http.send(method, &path, body.as_deref().map(str::as_bytes));
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (status, code),
            "{method} {path}"
        );
    }
    // Not a component, and a component of no Reprise world.
    let not_wasm = http.upload("/api/components", b"\0asm but not really");
    assert_eq!(not_wasm.error_code(), "bad_request");
    let foreign = http.upload(
        "/api/components",
        &std::fs::read(guest_path("not-reprise")).unwrap(),
    );
    assert_eq!(foreign.error_code(), "bad_request");
    let empty = http.upload("/api/components", b"");
    assert_eq!(empty.error_code(), "bad_request");

    assert_eq!(instance_count(&http), instances);
    assert_eq!(http.get("/api/components").json(), components);
}

/// With a token, the API answers 401 without it (saying how to send it);
/// health and the dashboard's pages stay open. Without a token, the server
/// refuses to listen beyond loopback.
#[test]
fn the_token_guards_the_api_and_exposure_needs_one() {
    let (_dir, server) = server(&["--token", "s3cret"]);
    let mut http = server.client();
    let refused = http.get("/api/instances");
    assert_eq!(refused.error_code(), "unauthorized");
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    http.token = Some("wrong".into());
    let wrong = http.get("/api/components");
    assert_eq!(wrong.error_code(), "unauthorized");
    let message = wrong.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("not this server's"), "{message}");
    assert_eq!(http.get("/metrics").error_code(), "unauthorized");
    http.token = Some("s3cret".into());
    assert_eq!(http.get("/api/instances").status, 200);
    assert_eq!(http.get("/metrics").status, 200);
    http.token = None;
    assert_eq!(http.get("/healthz").json(), json!({"status": "ok"}));
    let page = http.get("/");
    assert_eq!(page.status, 200);
    assert!(page.header("content-security-policy").is_some());

    let dir = tempfile::tempdir().unwrap();
    let exposed = std::process::Command::new(reprise_tests::reprise_bin())
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("REPRISE_TOKEN")
        .output()
        .unwrap();
    assert!(!exposed.status.success());
    let stderr = String::from_utf8_lossy(&exposed.stderr);
    assert!(stderr.contains("refusing to listen on 0.0.0.0"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// The samples of a Prometheus text page, by name with labels.
fn samples(page: &str) -> std::collections::HashMap<String, f64> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').expect("name value");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// `/metrics` counts what the server did (episodes, activity attempts and
/// failures, instances by status, commits with their latency) and what the
/// store holds (a running instance's timer), in the Prometheus text format.
#[tokio::test]
async fn metrics_count_the_work_and_the_store() {
    let (_dir, server) = server(&[]);
    let http = server.client();
    upload(&http, &["hello_sequence", "approval", "misbehaving"]);
    let run = |orchestration: &str, input: Value| {
        let body = json!({"orchestration": orchestration, "input": input});
        let done = http.post("/api/instances?wait_ms=30000", &body.to_string());
        assert_eq!(done.status, 200, "{}", done.json());
        assert_eq!(done.json()["instance"]["status"], "completed");
    };
    run("hello_sequence", json!(["Tokyo", "Oslo"]));
    // Two failed attempts, then one that succeeds.
    run("retrying", json!(2));
    let approval = start(
        &http,
        json!({"orchestration": "approval", "input": {"item": "pen", "amount": 2, "timeout_secs": 600}}),
    );
    blocked_on_its_race(&http, &approval).await;

    let page = http.get("/metrics");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(page.body.clone()).unwrap();
    let m = samples(&text);
    let at = |name: &str| {
        *m.get(name)
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert_eq!(at(r#"reprise_instances{status="completed"}"#), 2.0);
    assert_eq!(at(r#"reprise_instances{status="running"}"#), 1.0);
    assert_eq!(at(r#"reprise_instances{status="failed"}"#), 0.0);
    assert_eq!(at("reprise_instances_started_total"), 3.0);
    assert_eq!(
        at(r#"reprise_instances_finished_total{status="completed"}"#),
        2.0
    );
    // hello_sequence: 2; retrying: 3, two of them failed; approval's notify: 1.
    assert_eq!(at("reprise_activity_attempts_total"), 6.0);
    assert_eq!(at("reprise_activity_failures_total"), 2.0);
    assert_eq!(at("reprise_timers"), 1.0, "the approval's deadline");
    assert_eq!(at("reprise_activity_tasks"), 0.0);
    assert!(at("reprise_episodes_total") >= 3.0);
    let commits = at("reprise_commits_total");
    assert!(commits >= at("reprise_episodes_total"));
    assert_eq!(at("reprise_commit_duration_seconds_count"), commits);
    assert_eq!(
        at(r#"reprise_commit_duration_seconds_bucket{le="+Inf"}"#),
        commits
    );
    assert!(at("reprise_commit_duration_seconds_sum") > 0.0);
    assert!(at("reprise_hot_instances") >= 1.0, "the approval waits hot");
}

/// A limited activity's queue is visible while it drains: `/api/activities`
/// and `/metrics` show its attempts waiting and the one running (its
/// limit), with the limit itself, and nothing left once it is done.
#[tokio::test]
async fn activities_show_their_waiting_and_running_tasks_and_their_limits() {
    let (_dir, server) = server(&["--activity-limit", "stamped:concurrency=1,rate=50/1s"]);
    let http = server.client();
    upload(&http, &["misbehaving"]);
    let id = start(
        &http,
        json!({"orchestration": "stamped_fan_out", "input": [12, 2, 150]}),
    );
    let stamped = |http: &Http| {
        let listed = http.get("/api/activities");
        assert_eq!(listed.status, 200, "{}", listed.json());
        let activities = listed.json()["activities"].clone();
        activities
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "stamped")
            .cloned()
            .unwrap_or(Value::Null)
    };
    eventually(
        Duration::from_secs(30),
        "one attempt runs and others wait, in the API and in /metrics (shown: the API's, then the gauges)",
        async || {
            let api = stamped(&http);
            let text = String::from_utf8(http.get("/metrics").body).unwrap();
            let m = samples(&text);
            let gauge = |state: &str| {
                m.get(&format!(r#"reprise_activity_flow_tasks{{activity="stamped",state="{state}"}}"#))
                    .copied()
            };
            let shown = (api["running"] == 1 && api["waiting"].as_u64() > Some(0))
                && gauge("running") == Some(1.0)
                && gauge("waiting") > Some(0.0);
            if shown { Ok(()) } else { Err((api, gauge("waiting"), gauge("running"))) }
        },
    )
    .await;
    let api = stamped(&http);
    assert_eq!(
        api["limits"],
        json!({"concurrency": 1, "rate": {"count": 50, "period_ms": 1000}, "per_key": null})
    );
    let text = String::from_utf8(http.get("/metrics").body).unwrap();
    let m = samples(&text);
    assert_eq!(
        m.get(r#"reprise_activity_limit{activity="stamped",limit="concurrency"}"#),
        Some(&1.0)
    );
    assert_eq!(
        m.get(r#"reprise_activity_limit{activity="stamped",limit="rate"}"#),
        Some(&50.0)
    );

    let done = http.get(&format!("/api/instances/{id}?wait_ms=60000"));
    assert_eq!(done.json()["status"], "completed", "{}", done.json());
    let api = stamped(&http);
    assert_eq!(
        (api["waiting"].clone(), api["running"].clone()),
        (json!(0), json!(0))
    );
}
