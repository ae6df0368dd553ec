//! Repairs: a failed approval rewound after its activity was fixed goes on
//! where it was; a fork goes on from a point of another instance's
//! history, on the same code or on a compatible new version; bad requests
//! change nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use reprise::history::{Event, Failure};
use reprise::store::{InstanceQuery, Status};
use reprise::{Error, ForkOptions, RewindOptions, RuntimeBuilder};
use reprise_tests::http::ServerProcess;
use reprise_tests::{
    Host, assert_replays_identically, completed_output, eventually, guest, guest_path, python_guest,
};
use serde_json::{Value, json};

const REQUEST: &str = r#"{"item":"desk","amount":300,"timeout_secs":3600}"#;
const APPROVED: &str = r#"{"approved":true,"by":"dana"}"#;

/// The approval's `notify` activity: it fails for the requester while
/// `broken` is set, as a mail server that is down would, and counts the
/// notices it sent to each.
#[derive(Clone, Default)]
struct Mail {
    broken: Arc<AtomicBool>,
    to_manager: Arc<AtomicU32>,
    to_requester: Arc<AtomicU32>,
}

impl Mail {
    fn install(&self, builder: RuntimeBuilder) -> RuntimeBuilder {
        let mail = self.clone();
        builder.activity("notify", move |call| {
            let mail = mail.clone();
            async move {
                let notice: Value = serde_json::from_str(&call.input).unwrap();
                if notice["to"] == "manager" {
                    mail.to_manager.fetch_add(1, Ordering::SeqCst);
                    return Ok("null".to_owned());
                }
                mail.to_requester.fetch_add(1, Ordering::SeqCst);
                if mail.broken.load(Ordering::SeqCst) {
                    return Err(Failure::new("the mail server is down"));
                }
                Ok("null".to_owned())
            }
        })
    }
}

async fn host_with(mail: &Mail) -> Host {
    let mail = mail.clone();
    Host::with(move |builder| mail.install(builder)).await
}

/// An approval approved by dana.
async fn approved(host: &Host) -> String {
    let id = host.start("approval", REQUEST).await;
    host.wait_for_event_wait(&id, "approval").await;
    host.runtime
        .raise_event(&id, "approval", APPROVED)
        .await
        .unwrap();
    id
}

/// The service behind an activity, down until it is fixed: while down,
/// the activity fails saying `why`; up or down, it counts its calls.
#[derive(Clone)]
struct Outage {
    down: Arc<AtomicBool>,
    calls: Arc<AtomicU32>,
}

impl Outage {
    fn new() -> Self {
        Self {
            down: Arc::new(AtomicBool::new(true)),
            calls: Arc::default(),
        }
    }

    fn fix(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Installs activity `name`, which answers `answer(input)` once fixed.
    fn install(
        &self,
        builder: RuntimeBuilder,
        name: &str,
        why: &'static str,
        answer: fn(&str) -> String,
    ) -> RuntimeBuilder {
        let outage = self.clone();
        builder.activity(name, move |call| {
            let outage = outage.clone();
            async move {
                outage.calls.fetch_add(1, Ordering::SeqCst);
                if outage.down.load(Ordering::SeqCst) {
                    return Err(Failure::new(why));
                }
                Ok(answer(&call.input))
            }
        })
    }
}

fn types(events: &[reprise::history::HistoryEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let json = serde_json::to_value(&e.event).unwrap();
            json["type"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_approval_rewound_after_the_fix_runs_the_failed_activity_again_and_completes() {
    let mail = Mail::default();
    mail.broken.store(true, Ordering::SeqCst);
    let host = host_with(&mail).await;
    let id = approved(&host).await;
    let failed = host.wait(&id).await;
    assert_eq!(failed.status, Status::Failed);
    let before = host.runtime.history(&id).await.unwrap();
    assert_eq!(before.len(), 11, "{:?}", types(&before));
    assert!(matches!(before[10].event, Event::Failed { .. }));

    mail.broken.store(false, Ordering::SeqCst);
    let rewound = host
        .runtime
        .rewind(&id, RewindOptions::default())
        .await
        .unwrap();
    // Cut at the await of the requester's notice (#9), which runs again;
    // the deadline (#5), dropped when the instance failed, is set again.
    assert_eq!((rewound.cut_at, rewound.failed_task), (9, Some(8)));
    assert_eq!(rewound.reissued, [5, 8]);
    assert!(rewound.redelivered.is_empty());
    let done = host.wait(&id).await;
    assert_eq!(
        completed_output(&done),
        json!({"approved": true, "by": "dana", "escalated": false})
    );
    assert_eq!(mail.to_manager.load(Ordering::SeqCst), 1);
    assert_eq!(mail.to_requester.load(Ordering::SeqCst), 2);

    // What was cut is kept in the marker, as it was.
    let after = host.runtime.history(&id).await.unwrap();
    assert_eq!(&after[..9], &before[..9]);
    match &after[9].event {
        Event::Rewound { cut } => assert_eq!(cut, &before[9..]),
        other => panic!("#9 is {other:?}"),
    }
    assert_eq!(
        types(&after[10..]),
        ["task_awaited", "completed"],
        "{:?}",
        types(&after)
    );
    assert_replays_identically(&host.runtime, &id).await;

    // Only a failed instance is rewound; nothing changes otherwise.
    match host.runtime.rewind(&id, RewindOptions::default()).await {
        Err(Error::Conflict(why)) => assert_eq!(
            why,
            format!("instance {id} is completed; only a failed instance is rewound")
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(host.runtime.history(&id).await.unwrap(), after);
    match host
        .runtime
        .rewind("nobody", RewindOptions::default())
        .await
    {
        Err(Error::NotFound(why)) => assert_eq!(why, "no instance nobody"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_goes_on_from_its_point_with_the_events_the_source_took_in_after_it() {
    let mail = Mail::default();
    let host = host_with(&mail).await;
    let source = approved(&host).await;
    host.wait(&source).await;
    let history = host.runtime.history(&source).await.unwrap();
    assert_eq!(types(&history)[4], "event_awaited");

    // Forked after the manager was notified and the wait for the answer
    // began: the fork takes in dana's answer again, and notifies the
    // requester itself.
    let options = ForkOptions {
        at: Some(4),
        instance_id: Some("fork-1".into()),
        component: None,
    };
    let fork = host.runtime.fork(&source, options).await.unwrap();
    assert_eq!(
        (fork.instance_id.as_str(), fork.at, fork.events),
        ("fork-1", 4, 1)
    );
    assert!(fork.reissued.is_empty(), "{:?}", fork.reissued);
    let done = host.wait("fork-1").await;
    assert_eq!(
        completed_output(&done),
        completed_output(&host.wait(&source).await)
    );
    assert_eq!(mail.to_manager.load(Ordering::SeqCst), 1);
    assert_eq!(mail.to_requester.load(Ordering::SeqCst), 2);
    let forked = host.runtime.history("fork-1").await.unwrap();
    assert_eq!(&forked[..5], &history[..5]);
    assert_eq!(
        forked[5].event,
        Event::Forked {
            instance_id: source.clone(),
            execution: 0,
            event: 4
        }
    );
    assert_replays_identically(&host.runtime, "fork-1").await;
    // The source is not touched.
    assert_eq!(host.runtime.history(&source).await.unwrap(), history);

    // Forked before the manager's notice was awaited, onto version 2: the
    // notice goes out again, and the new code decides.
    let v2 = host
        .runtime
        .register(&guest("upgrades_v2"))
        .await
        .unwrap()
        .digest;
    let options = ForkOptions {
        at: Some(2),
        instance_id: Some("fork-2".into()),
        component: Some(v2.clone()),
    };
    let fork = host.runtime.fork(&source, options).await.unwrap();
    assert_eq!(
        (fork.reissued.as_slice(), fork.digest.as_str()),
        ([2].as_slice(), v2.as_str())
    );
    let done = host.wait("fork-2").await;
    assert_eq!(completed_output(&done)["version"], 2);
    assert_eq!(done.digest, v2);
    assert_eq!(mail.to_manager.load(Ordering::SeqCst), 2);
    let forked = host.runtime.history("fork-2").await.unwrap();
    assert_eq!(types(&forked)[3..5], ["forked", "upgraded"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fork_that_cannot_be_made_is_refused_and_makes_nothing() {
    let host = host_with(&Mail::default()).await;
    let source = approved(&host).await;
    host.wait(&source).await;
    let v3 = host
        .runtime
        .register(&guest("upgrades_v3"))
        .await
        .unwrap()
        .digest;
    let fork = |at: Option<u32>, id: Option<&str>, component: Option<&str>| ForkOptions {
        at,
        instance_id: id.map(str::to_owned),
        component: component.map(str::to_owned),
    };
    let refusals = [
        (
            fork(Some(99), None, None),
            format!(
                "instance {source} can be forked at events #0 to #9 of execution 0, not at #99"
            ),
        ),
        (
            fork(None, Some(&source), None),
            format!("an instance with id {source} already exists"),
        ),
        (
            fork(None, Some("bad\nid"), None),
            String::from("instance id"),
        ),
        (
            fork(Some(4), None, Some(&v3)),
            format!("instance {source}'s history diverges from component {v3} at #2"),
        ),
        (fork(None, None, Some("0000")), String::from("0000")),
    ];
    for (options, want) in refusals {
        let why = match host.runtime.fork(&source, options).await {
            Err(error) => error.to_string(),
            Ok(fork) => panic!("forked {fork:?}"),
        };
        assert!(why.contains(&want), "{why:?} does not say {want:?}");
    }
    match host.runtime.fork("nobody", ForkOptions::default()).await {
        Err(Error::NotFound(why)) => assert_eq!(why, "no instance nobody"),
        other => panic!("{other:?}"),
    }
    let all = host.runtime.list(&InstanceQuery::default()).await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
}

/// Over HTTP: a fork answers 201 with the new instance and its links, a
/// rewind of what has not failed 409, bad requests 400 and unknown
/// instances 404, and none of the refusals makes an instance.
#[tokio::test]
async fn fork_and_rewind_over_http_answer_with_their_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(&dir.path().join("serve.db"), &[]);
    let http = server.client();
    let bytes = std::fs::read(guest_path("approval")).unwrap();
    assert_eq!(http.upload("/api/components", &bytes).status, 201);
    let started = http.post(
        "/api/instances",
        &json!({"orchestration": "approval", "instance_id": "req-1", "input": serde_json::from_str::<Value>(REQUEST).unwrap()}).to_string(),
    );
    assert_eq!(started.status, 202, "{}", started.json());
    eventually(
        Duration::from_secs(10),
        "req-1 waits for its manager (its history is shown)",
        async || {
            let history = http.get("/api/instances/req-1/history").json();
            match history["events"].as_array().map(Vec::len) {
                Some(6..) => Ok(()),
                _ => Err(history),
            }
        },
    )
    .await;

    let forked = http.post(
        "/api/instances/req-1/fork",
        r#"{"at": 4, "instance_id": "req-1-again"}"#,
    );
    assert_eq!(forked.status, 201, "{}", forked.json());
    let body = forked.json();
    assert_eq!(body["fork"]["from"], "req-1");
    assert_eq!(body["instance"]["id"], "req-1-again");
    assert_eq!(body["links"]["status"], "/api/instances/req-1-again");
    // Its status names its lineage; the source's names none.
    assert_eq!(
        body["instance"]["forked_from"],
        json!({"instance_id": "req-1", "execution": 0, "event": 4})
    );
    assert!(http.get("/api/instances/req-1").json()["forked_from"].is_null());
    let history = http.get("/api/instances/req-1-again/history").json();
    assert_eq!(history["events"][5]["type"], "forked");
    assert_eq!(history["events"][5]["instance_id"], "req-1");

    let refusals = [
        ("/api/instances/req-1/rewind", "{}", 409),
        ("/api/instances/nobody/rewind", "{}", 404),
        ("/api/instances/nobody/fork", "{}", 404),
        ("/api/instances/req-1/fork", r#"{"at": 99}"#, 409),
        (
            "/api/instances/req-1/fork",
            r#"{"instance_id": "req-1"}"#,
            409,
        ),
        ("/api/instances/req-1/fork", r#"{"component": "v2"}"#, 400),
        ("/api/instances/req-1/fork", r#"{"when": 4}"#, 400),
        ("/api/instances/req-1/rewind", "[", 400),
    ];
    for (path, body, status) in refusals {
        let answer = http.post(path, body);
        assert_eq!(answer.status, status, "{path} {body}: {}", answer.json());
        assert!(
            answer.json()["error"]["message"].is_string(),
            "{}",
            answer.json()
        );
    }
    let listed = http.get("/api/instances?limit=100").json();
    assert_eq!(listed["instances"].as_array().unwrap().len(), 2, "{listed}");
}

/// A Python orchestration fans out to three Rust activities, then calls a
/// shouting activity that fails while the service behind it is down.
/// Rewound after the fix, it replays its fan-out from history (no
/// greeting is said again) and completes; a fork of it from the middle of
/// its fan-out runs the rest again.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_python_orchestration_rewound_replays_its_fan_out_and_a_fork_runs_the_rest() {
    let shouting = Outage::new();
    let outage = shouting.clone();
    let host = Host::with(move |builder| {
        outage.install(
            builder,
            "py_shout",
            "the shouting service is down",
            |input| {
                let text: String = serde_json::from_str(input).unwrap();
                serde_json::to_string(&text.to_uppercase()).unwrap()
            },
        )
    })
    .await;
    host.runtime
        .register(&python_guest("py_guest"))
        .await
        .unwrap();
    let id = host.start("py_greet", r#"["Oslo","Lima","Pune"]"#).await;
    assert_eq!(host.wait(&id).await.status, Status::Failed);
    let before = host.runtime.history(&id).await.unwrap();

    shouting.fix();
    let rewound = host
        .runtime
        .rewind(&id, RewindOptions::default())
        .await
        .unwrap();
    let shout = rewound.failed_task.expect("the shout failed");
    assert_eq!(rewound.reissued, [shout]);
    assert_eq!(rewound.cut_at as usize, before.len() - 2);
    let done = host.wait(&id).await;
    let output = completed_output(&done);
    assert_eq!(
        output["shouted"],
        "HELLO, OSLO! / HELLO, LIMA! / HELLO, PUNE!"
    );
    assert_eq!(shouting.calls(), 2);
    assert_replays_identically(&host.runtime, &id).await;

    // Forked once the first greeting was taken in: the other two greetings
    // were still open there, so the fork says them again itself, then
    // shouts, and ends as the rewound source did.
    let history = host.runtime.history(&id).await.unwrap();
    assert_eq!(
        types(&history)[1..5],
        [
            "activity_scheduled",
            "activity_scheduled",
            "activity_scheduled",
            "task_awaited"
        ]
    );
    let options = ForkOptions {
        at: Some(4),
        instance_id: Some("py-fork".into()),
        component: None,
    };
    let fork = host.runtime.fork(&id, options).await.unwrap();
    assert_eq!(fork.reissued, [2, 3]);
    let forked = host.wait("py-fork").await;
    assert_eq!(completed_output(&forked), output);
    assert_eq!(shouting.calls(), 3);
    let lineage = forked.forked_from.expect("the fork's lineage");
    assert_eq!(
        (
            lineage.instance_id.as_str(),
            lineage.execution,
            lineage.event
        ),
        (id.as_str(), 0, 4)
    );
    let fork_history = host.runtime.history("py-fork").await.unwrap();
    assert_eq!(&fork_history[..5], &history[..5]);
    assert_eq!(types(&fork_history)[5], "forked");
    assert_replays_identically(&host.runtime, "py-fork").await;
    assert_eq!(host.runtime.history(&id).await.unwrap(), history);
}

/// A Rust order runs its shipping as a Python sub-orchestration, whose
/// receipt activity fails while the printer is down; the order fails with
/// its child. Rewound after the fix, the child is rewound in the same
/// commit: the courier booked before the failure stays booked (the child
/// replays it from history), the receipt is rendered again, and the order
/// completes.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_child_is_rewound_with_its_parent_and_both_go_on() {
    let printer = Outage::new();
    let outage = printer.clone();
    let host = Host::with(move |builder| {
        let builder = builder.activity("price_order", |_call| async {
            Ok(r#"{"subtotal_cents":900,"discount_cents":0,"total_cents":900}"#.to_owned())
        });
        outage.install(
            builder,
            "render_receipt",
            "the receipt printer is down",
            |input| {
                let receipt: Value = serde_json::from_str(input).unwrap();
                json!(format!("receipt for {}", receipt["tracking"])).to_string()
            },
        )
    })
    .await;
    for component in [guest("orders"), python_guest("py_shipping")] {
        host.runtime.register(&component).await.unwrap();
    }
    let order = r#"{"id":"B-7","lines":[{"sku":"tea","quantity":2,"unit_cents":450}],"coupon":null,"address":"2 Quay St"}"#;
    let id = host.start("place_order", order).await;
    let failed = host.wait(&id).await;
    assert_eq!(failed.status, Status::Failed);
    let children = host
        .runtime
        .list(&InstanceQuery::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.parent.as_ref().is_some_and(|p| p.instance_id == id))
        .collect::<Vec<_>>();
    let [child] = children.as_slice() else {
        panic!("one child: {children:?}")
    };
    assert_eq!(
        (child.name.as_str(), child.status),
        ("ship_order", Status::Failed)
    );
    let child_before = host.runtime.history(&child.id).await.unwrap();
    let booked = types(&child_before)
        .iter()
        .filter(|t| *t == "activity_scheduled")
        .count();
    assert_eq!(booked, 2, "the courier, then the receipt");

    // Rewinding the child alone is refused; rewinding the order takes both.
    let alone = host
        .runtime
        .rewind(&child.id, RewindOptions::default())
        .await
        .unwrap_err();
    assert!(alone.to_string().contains(&id), "{alone}");
    printer.fix();
    let rewound = host
        .runtime
        .rewind(&id, RewindOptions::default())
        .await
        .unwrap();
    let [child_rewound] = rewound.children.as_slice() else {
        panic!("the child is rewound with its parent: {rewound:?}")
    };
    assert_eq!(child_rewound.instance_id, child.id);
    assert!(child_rewound.failed_task.is_some(), "{child_rewound:?}");
    assert_eq!(child_rewound.reissued, [child_rewound.failed_task.unwrap()]);

    let done = host.wait(&id).await;
    let output = completed_output(&done);
    assert_eq!(output["tracking"], "TRK-B-7");
    assert_eq!(output["receipt"], "receipt for \"TRK-B-7\"");
    // Rendered once before the fix (the receipt is not retried) and once
    // after it.
    assert_eq!(printer.calls(), 2);
    let child_after = host.runtime.history(&child.id).await.unwrap();
    assert_eq!(
        &child_after[..child_rewound.cut_at as usize],
        &child_before[..child_rewound.cut_at as usize],
        "the child keeps what it did before the failure"
    );
    assert!(types(&child_after).contains(&"rewound".to_owned()));
    assert_replays_identically(&host.runtime, &id).await;
    assert_replays_identically(&host.runtime, &child.id).await;
}
