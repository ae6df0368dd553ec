//! New code reaching live instances: the next execution of an eternal
//! orchestration runs the newest version, and an upgrade moves live
//! instances whose history replays against the new code, and only those.

use std::time::Duration;

use reprise::history::Event;
use reprise::store::{InstanceQuery, Status};
use reprise::{Compatibility, Runtime, StartOptions};
use reprise_tests::{Host, eventually, guest, js_guest};
use serde_json::Value;

/// Raises a transaction and waits until the account shows `status`.
async fn transact(host: &Host, id: &str, amount: i64, status: &str) {
    host.runtime
        .raise_event(id, "transaction", &amount.to_string())
        .await
        .unwrap();
    host.wait_for_custom_status(id, status).await;
}

/// The digest of the `Started` event of the instance's current execution.
async fn started_on(runtime: &Runtime, id: &str) -> Option<String> {
    let history = runtime.history(id).await.unwrap();
    match &history[0].event {
        Event::Started { digest, .. } => digest.clone(),
        other => panic!("history starts with {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_eternal_account_runs_the_next_version_once_it_continues_as_new() {
    let host = Host::new().await;
    let id = host.start("eternal_account", "{}").await;
    let v1 = host.runtime.status(&id).await.unwrap().digest;
    let options = StartOptions {
        instance_id: Some("pinned".into()),
        pinned: true,
    };
    let pinned = host
        .runtime
        .start("eternal_account", "{}", options)
        .await
        .unwrap();
    transact(&host, &id, 5, "5").await;
    transact(&host, &pinned, 5, "5").await;
    let v2 = host
        .runtime
        .register(&guest("upgrades_v2"))
        .await
        .unwrap()
        .digest;
    // The execution that was waiting when v2 came keeps its code to the end.
    transact(&host, &id, 7, "12").await;
    let record = host.runtime.status(&id).await.unwrap();
    assert_eq!((record.digest.as_str(), record.execution), (v2.as_str(), 2));
    assert_eq!(started_on(&host.runtime, &id).await, Some(v2.clone()));
    transact(&host, &id, 1, r#"{"balance":13,"version":2}"#).await;
    // A pinned instance stays on the code it started on.
    transact(&host, &pinned, 7, "12").await;
    transact(&host, &pinned, 1, "13").await;
    let record = host.runtime.status(&pinned).await.unwrap();
    assert!(record.pinned);
    assert_eq!((record.digest.as_str(), record.execution), (v1.as_str(), 3));
    assert_eq!(started_on(&host.runtime, &pinned).await, Some(v1));
}

/// Approvals waiting for their manager: every one has asked and races the
/// answer against a deadline an hour away.
async fn start_waiting_approvals(host: &Host, count: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let options = StartOptions {
            instance_id: Some(format!("approval-{n:04}")),
            ..StartOptions::default()
        };
        let input = r#"{"item":"desk","amount":300,"timeout_secs":3600}"#;
        ids.push(
            host.runtime
                .start("approval", input, options)
                .await
                .unwrap(),
        );
    }
    let query = InstanceQuery {
        status: Some(Status::Running),
        name: Some("approval".into()),
        ..InstanceQuery::default()
    };
    eventually(
        Duration::from_secs(120),
        format!(
            "all {count} approvals wait for an answer or the deadline (those that do are counted)"
        ),
        async || {
            let listed = host.runtime.list(&query).await.unwrap();
            let waiting = listed
                .iter()
                .filter(|r| r.waiting.as_ref().is_some_and(|w| w.tasks.len() == 2))
                .count();
            if waiting == count {
                Ok(())
            } else {
                Err(waiting)
            }
        },
    )
    .await;
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn live_approvals_move_to_a_compatible_version_and_never_to_an_incompatible_one() {
    const APPROVALS: usize = 1_000;
    let host = Host::new().await;
    let ids = start_waiting_approvals(&host, APPROVALS).await;
    let v1 = host.runtime.status(&ids[0]).await.unwrap().digest;

    let v3_plan = host
        .runtime
        .upgrade_plan(&guest("upgrades_v3"))
        .await
        .unwrap();
    assert_eq!(v3_plan.orchestrations, ["approval"]);
    assert_eq!(v3_plan.instances.len(), APPROVALS);
    for planned in &v3_plan.instances {
        assert_eq!(planned.from, v1);
        match &planned.compatibility {
            Compatibility::Diverges {
                position: 2,
                recorded,
                requested,
            } => {
                assert!(recorded.starts_with("activity \"notify\""), "{recorded}");
                assert!(requested.starts_with("activity \"notify\""), "{requested}");
                assert_ne!(recorded, requested);
            }
            other => panic!("{}: {other:?}", planned.instance_id),
        }
    }
    let v3 = host.runtime.upgrade(&guest("upgrades_v3")).await.unwrap();
    assert!(v3.moved.is_empty(), "{:?}", v3.moved);
    assert_eq!(v3.plan.totals().diverges, APPROVALS);
    // They keep running their own code beside the new.
    for id in &ids {
        assert_eq!(host.runtime.status(id).await.unwrap().digest, v1, "{id}");
    }

    let v2_plan = host
        .runtime
        .upgrade_plan(&guest("upgrades_v2"))
        .await
        .unwrap();
    assert_eq!(
        v2_plan.totals().compatible,
        APPROVALS,
        "{:?}",
        v2_plan.totals()
    );
    let v2 = host.runtime.upgrade(&guest("upgrades_v2")).await.unwrap();
    assert_eq!(v2.moved.len(), APPROVALS, "kept: {:?}", v2.kept);
    for id in &ids {
        let record = host.runtime.status(id).await.unwrap();
        assert_eq!(record.digest, v2.plan.digest, "{id}");
        let history = host.runtime.history(id).await.unwrap();
        let moves: Vec<_> = history
            .iter()
            .filter_map(|e| match &e.event {
                Event::Upgraded { from, to } => Some((from.clone(), to.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(moves, [(v1.clone(), v2.plan.digest.clone())], "{id}");
    }
    // Every one finishes on v2's code, hot or cold when it moved.
    for id in &ids {
        host.runtime
            .raise_event(id, "approval", r#"{"approved":true,"by":"dana"}"#)
            .await
            .unwrap();
    }
    for id in &ids {
        let record = host.wait(id).await;
        assert_eq!(
            record.status,
            Status::Completed,
            "{id}: {:?}",
            record.output
        );
        let output: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
        assert_eq!(output["version"], 2, "{id}: {output}");
        assert_eq!(output["by"], "dana", "{id}: {output}");
    }
    // Nothing is left for a plan: no live instance runs other code.
    let after = host
        .runtime
        .upgrade_plan_for(&v2.plan.digest)
        .await
        .unwrap();
    assert!(after.instances.is_empty(), "{:?}", after.instances);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_for_code_that_is_no_orchestration_or_no_component_changes_nothing() {
    let host = Host::new().await;
    let ids = start_waiting_approvals(&host, 3).await;
    let before = host.runtime.status(&ids[0]).await.unwrap();
    // Activities only: no orchestration for any instance to move to.
    let pricing = host
        .runtime
        .register(&js_guest("js_pricing"))
        .await
        .unwrap();
    let components = host.runtime.components().await.unwrap();
    let error = host.runtime.upgrade_to(&pricing.digest).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "component {} exports no orchestrations: it can take over no instance",
            pricing.digest
        )
    );
    let error = host
        .runtime
        .upgrade(&js_guest("js_pricing"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("exports no orchestrations"),
        "{error}"
    );
    let unknown = "0".repeat(64);
    let error = host.runtime.upgrade_plan_for(&unknown).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("no component with digest {unknown}")
    );
    let error = host.runtime.upgrade(b"not wasm").await.unwrap_err();
    assert!(
        matches!(error, reprise::Error::InvalidComponent(_)),
        "{error}"
    );
    assert_eq!(host.runtime.status(&ids[0]).await.unwrap(), before);
    assert_eq!(host.runtime.components().await.unwrap(), components);
}
