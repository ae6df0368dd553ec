//! What every guest language keeps, asked of each the same way. The Python
//! and JavaScript test guests (`tests/guests/python`, `tests/guests/js`)
//! export the same orchestrations, activities and actor under their
//! language's prefix (`py_greet`, `js_greet`, ...), with the same payloads;
//! each test here runs once per language.

use std::time::Duration;

use reprise::store::Status;
use reprise_tests::{
    Host, actor_json, assert_replays_identically, completed_output as output, failure_of, js_guest,
    python_guest,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// A guest language's test components.
#[derive(Clone, Copy)]
struct Language {
    /// What the guest's names start with.
    prefix: &'static str,
    /// The test guest, and version 2 of its `greet`.
    guest: fn() -> Vec<u8>,
    guest_v2: fn() -> Vec<u8>,
}

const PYTHON: Language = Language {
    prefix: "py",
    guest: || python_guest("py_guest"),
    guest_v2: || python_guest("py_guest_v2"),
};

const JAVASCRIPT: Language = Language {
    prefix: "js",
    guest: || js_guest("js_guest"),
    guest_v2: || js_guest("js_guest_v2"),
};

impl Language {
    fn name(self, base: &str) -> String {
        format!("{}_{base}", self.prefix)
    }

    /// A host with the language's test guest registered beside the Rust
    /// examples (whose `say_hello` it calls).
    async fn host(self) -> Host {
        self.host_with(reprise::Limits::default()).await
    }

    async fn host_with(self, limits: reprise::Limits) -> Host {
        let host = Host::with(|builder| builder.limits(limits)).await;
        let info = host
            .runtime
            .register(&(self.guest)())
            .await
            .expect("the guest registers");
        assert!(
            info.orchestrations.contains(&self.name("greet")),
            "{info:?}"
        );
        assert_eq!(
            info.activities,
            [
                self.name("flaky"),
                self.name("hostile_activity"),
                self.name("shout")
            ]
        );
        assert_eq!(info.actors, [self.name("account")]);
        host
    }
}

/// Generates, for each language, a test that calls the function of the same
/// name with it.
macro_rules! for_each_language {
    ($($test:ident),* $(,)?) => {
        mod python {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(super::PYTHON).await
                }
            )*
        }
        mod javascript {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $test() {
                    super::$test(super::JAVASCRIPT).await
                }
            )*
        }
    };
}

for_each_language!(
    an_orchestration_calls_rust_and_its_own_activities_and_replays_identically,
    a_failing_orchestration_says_what_went_wrong,
    a_changed_orchestration_is_caught_at_the_first_call_that_differs,
    an_event_races_a_durable_timer,
    actors_move_money_all_or_nothing,
    the_cpu_deadline_and_the_memory_limit_stop_the_guest,
    a_value_json_cannot_carry_is_refused_saying_what_it_was,
);

async fn an_orchestration_calls_rust_and_its_own_activities_and_replays_identically(
    language: Language,
) {
    let host = language.host().await;

    let greet = host
        .run(&language.name("greet"), r#"["Oslo","Lima"]"#)
        .await;
    assert_eq!(
        output(&greet),
        json!({
            "greetings": ["Hello, Oslo!", "Hello, Lima!"],
            "shouted": "HELLO, OSLO! / HELLO, LIMA!!"
        })
    );
    let status: Value = serde_json::from_str(greet.custom_status.as_deref().unwrap()).unwrap();
    assert_eq!(status, json!({"greeted": 2}));
    assert_replays_identically(&host.runtime, &greet.id).await;

    let retried = host.run(&language.name("retry"), "3").await;
    let retried = output(&retried);
    assert_eq!(retried["attempt"], 3, "{retried}");
    assert!(retried["instance_id"].is_string(), "{retried}");

    let countdown = host.run(&language.name("countdown"), "3").await;
    assert_eq!(output(&countdown), json!("lift-off"));
    assert_eq!(countdown.execution, 3);
}

async fn a_failing_orchestration_says_what_went_wrong(language: Language) {
    let host = language.host().await;
    let failed = host.run(&language.name("fails"), r#""no luck""#).await;
    assert_eq!(failed.status, Status::Failed);
    let failure = failed.failure().unwrap();
    assert_eq!(failure.message, "no luck");
    let details: Value = serde_json::from_str(failure.details.as_deref().unwrap()).unwrap();
    assert_eq!(details, json!({"why": "asked to"}));
}

async fn a_changed_orchestration_is_caught_at_the_first_call_that_differs(language: Language) {
    let host = language.host().await;
    let greet = host.run(&language.name("greet"), r#"["Oslo"]"#).await;
    let error = host
        .runtime
        .replay_check(&greet.id, Some(&(language.guest_v2)()))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, reprise::Error::Nondeterminism(_)),
        "{message}"
    );
    // History's first call was say_hello("Oslo"); version 2 shouts first.
    assert!(
        message.contains("say_hello") && message.contains(&language.name("shout")),
        "{message}"
    );
    // The original still replays: the instance is untouched.
    assert_replays_identically(&host.runtime, &greet.id).await;
}

async fn an_event_races_a_durable_timer(language: Language) {
    let host = language.host().await;
    let id = host.start(&language.name("approval"), "3600000").await;
    host.runtime
        .raise_event(&id, "approval", r#"{"by":"dana"}"#)
        .await
        .unwrap();
    assert_eq!(
        output(&host.wait(&id).await),
        json!({"approved": {"by": "dana"}, "timed_out": false})
    );
    let timed_out = host.run(&language.name("approval"), "50").await;
    assert_eq!(
        output(&timed_out),
        json!({"approved": null, "timed_out": true})
    );
}

async fn actors_move_money_all_or_nothing(language: Language) {
    let host = language.host().await;
    let (runtime, account) = (&host.runtime, language.name("account"));
    for (key, amount) in [("a", 100), ("b", 20)] {
        runtime
            .call_actor(&account, key, "deposit", &amount.to_string(), WAIT)
            .await
            .unwrap();
    }
    let refused = runtime
        .call_actor(&account, "a", "withdraw", "500", WAIT)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("insufficient funds: balance 100 < 500"),
        "{refused}"
    );

    let transfer = language.name("transfer");
    let moved = host
        .run(&transfer, r#"{"from":"a","to":"b","amount":30}"#)
        .await;
    assert_eq!(output(&moved), json!({"done": true}));
    let refused = output(
        &host
            .run(&transfer, r#"{"from":"b","to":"a","amount":80}"#)
            .await,
    );
    assert_eq!(refused["done"], false);
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("insufficient funds"),
        "{refused}"
    );

    assert_eq!(
        actor_json(runtime, &account, "a").await,
        json!({"balance": 70, "operations": 2})
    );
    assert_eq!(
        actor_json(runtime, &account, "b").await,
        json!({"balance": 50, "operations": 2})
    );
    let closed = runtime
        .call_actor(&account, "b", "close", "null", WAIT)
        .await
        .unwrap();
    assert_eq!(closed, r#""closed""#);
    // Closing deletes the actor.
    let state = runtime.actor_state(&account, "b").await;
    assert!(
        matches!(&state, Err(reprise::Error::NotFound(m)) if *m == format!("no actor {account}/b")),
        "{state:?}"
    );
}

async fn the_cpu_deadline_and_the_memory_limit_stop_the_guest(language: Language) {
    let host = language
        .host_with(reprise::Limits {
            memory_bytes: 128 << 20,
            cpu_per_episode: Duration::from_secs(1),
            ..reprise::Limits::default()
        })
        .await;

    let spun = host.run(&language.name("spin"), "null").await;
    assert_eq!(spun.status, Status::Failed);
    let message = spun.failure().unwrap().message;
    assert!(message.contains("CPU"), "{message}");

    let hoarded = host.run(&language.name("hoard"), "null").await;
    assert_eq!(hoarded.status, Status::Failed);
    let message = hoarded.failure().unwrap().message;
    assert!(message.contains("memory"), "{message}");

    // The host is unharmed: the next instance runs.
    let greet = host.run(&language.name("greet"), r#"["Oslo"]"#).await;
    assert_eq!(greet.status, Status::Completed, "{:?}", greet.output);
}

/// NaN and the infinities have no JSON text (Python writes `NaN`, which is
/// not JSON; JavaScript writes `null`, which is another value): whatever
/// carries one fails, naming what it was.
async fn a_value_json_cannot_carry_is_refused_saying_what_it_was(language: Language) {
    let host = language.host().await;
    let hostile = language.name("hostile");
    for (mistake, what) in [
        ("nan", "the orchestration's output is not JSON: "),
        ("activity_output", "the activity's output is not JSON: "),
        ("activity_input", "the input to activity "),
    ] {
        let (failure, _) = failure_of(&host.run(&hostile, &format!("{mistake:?}")).await);
        let message = failure.message;
        assert!(message.starts_with(what), "{mistake}: {message}");
        assert!(message.contains("not JSON"), "{mistake}: {message}");
        let number = if mistake == "activity_input" {
            "inf"
        } else {
            "nan"
        };
        assert!(
            message.to_lowercase().contains(number),
            "{mistake}: {message}"
        );
    }
    // The whole line, with where in the value the number is.
    let (failure, _) = failure_of(&host.run(&hostile, r#""nan""#).await);
    let reason = match language.prefix {
        "py" => {
            "Out of range float values are not JSON compliant: nan; when serializing dict item 'rate'"
        }
        _ => "NaN at .rate (JSON has no NaN or infinity)",
    };
    assert_eq!(
        failure.message,
        format!("the orchestration's output is not JSON: {reason}")
    );

    let (runtime, account) = (&host.runtime, language.name("account"));
    runtime
        .call_actor(&account, "p", "deposit", "5", WAIT)
        .await
        .unwrap();
    let refused = runtime
        .call_actor(&account, "p", "poison", "null", WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("the actor's new state is not JSON: "),
        "{refused}"
    );
    // The failed operation left the state as it was.
    assert_eq!(
        actor_json(runtime, &account, "p").await,
        json!({"balance": 5, "operations": 1})
    );
}
