//! What is particular to JavaScript guests (componentize-qjs,
//! `guest-sdk/js`): `Date.now()` and `Math.random()` replay identically
//! (the engine's own `Math.random` is fixed when the component is built),
//! errors say what they were, the engine offers no way out of the sandbox,
//! and the bank runs on JavaScript accounts. What every language keeps is
//! in `languages.rs`.

use std::time::Duration;

use reprise::store::Status;
use reprise_tests::{
    Host, assert_replays_identically, completed_output as output, failure_of, js_guest,
};
use serde_json::Value;

async fn host_with_js() -> Host {
    let host = Host::new().await;
    host.runtime
        .register(&js_guest("js_guest"))
        .await
        .expect("the JavaScript guest registers");
    host
}

/// `Date.now()` reads orchestration time and `Math.random()` is seeded per
/// instance from a recorded number: a replay sees the same values, and two
/// instances different random ones. In an activity `Math.random()` is
/// random too, not the sequence the engine was built with.
#[tokio::test(flavor = "multi_thread")]
async fn javascript_clocks_and_randomness_replay_identically() {
    let host = host_with_js().await;
    let first = host.run("js_clocks", "null").await;
    let second = host.run("js_clocks", "null").await;
    assert_replays_identically(&host.runtime, &first.id).await;
    assert_replays_identically(&host.runtime, &second.id).await;
    let (first, second) = (output(&first), output(&second));
    for key in ["random", "ctxRandom", "ctxUuid"] {
        assert_ne!(first[key], second[key], "{key} differs between instances");
    }
    let random = first["random"].as_array().unwrap();
    assert_ne!(random[0], random[1], "{first}");
    for value in random.iter().chain([&first["ctxRandom"]]) {
        let value = value.as_f64().unwrap();
        assert!((0.0..1.0).contains(&value), "{first}");
    }
    // Date.now() is orchestration time: the same instant as ctx.now().
    assert_eq!(first["dateNow"], first["ctxNow"], "{first}");
    assert_eq!(first["date"], first["ctxDate"], "{first}");

    let mut activity_randoms = Vec::new();
    for _ in 0..2 {
        activity_randoms.push(output(&host.run("js_retry", "1").await)["random"].clone());
    }
    assert_ne!(activity_randoms[0], activity_randoms[1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_javascript_error_is_named_and_keeps_its_stack() {
    let host = host_with_js().await;
    let typo = host.run("js_typo", "null").await;
    assert_eq!(typo.status, Status::Failed);
    let failure = typo.failure().unwrap();
    assert!(
        failure.message.starts_with("TypeError: "),
        "{}",
        failure.message
    );
    let details: Value = serde_json::from_str(failure.details.as_deref().unwrap()).unwrap();
    assert!(
        details["stack"].as_str().unwrap().contains("app.js"),
        "{details}"
    );

    // The constructor is not an operation, though it is on the prototype.
    let refused = host
        .runtime
        .call_actor(
            "js_account",
            "a",
            "constructor",
            "null",
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("has no operation \"constructor\""),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_javascript_orchestration_has_no_way_out_of_its_sandbox() {
    let host = host_with_js().await;
    let probe = output(&host.run("js_sandbox", "null").await);
    assert!(probe.get("require").is_some(), "{probe}");
    for (name, kind) in probe.as_object().unwrap() {
        assert_eq!(kind, "undefined", "{name} is reachable: {probe}");
    }
}

/// An `async` function (or one that returns a Promise) would complete with
/// `{}`: it fails instead, saying how to write it, whatever its role.
#[tokio::test(flavor = "multi_thread")]
async fn an_async_javascript_function_fails_saying_to_write_it_plain() {
    const HOW: &str = "returned a Promise: write it as a plain (non-async) function; ctx.callActivity, task.result() and the SDK's other calls return their results without await";
    let host = host_with_js().await;
    for (mistake, who) in [
        ("async", r#"orchestration "js_hostile""#),
        ("activity_async", r#"activity "js_hostile_activity""#),
    ] {
        let (failure, _) = failure_of(&host.run("js_hostile", &format!("{mistake:?}")).await);
        assert_eq!(failure.message, format!("{who} {HOW}"), "{mistake}");
    }
    let refused = host
        .runtime
        .call_actor("js_account", "a", "later", "null", Duration::from_secs(60))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!(r#"operation "later" of actor js_account/a {HOW}"#)),
        "{refused}"
    );
    // The engine has no process to exit: the guest's own error says so.
    let (failure, _) = failure_of(&host.run("js_hostile", r#""exit""#).await);
    assert_eq!(failure.message, "ReferenceError: process is not defined");
}

/// The bank demo with its accounts in JavaScript.
#[test]
fn the_bank_demo_conserves_money_with_the_js_account_actor() {
    reprise_tests::assert_bank_demo_conserves_money(&reprise_tests::js_guest_path("js_bank"));
}
