//! Requests remembered by their idempotency keys.

use reprise_core::store::{Op, RememberedRequest, ReplyTo, StoreError};

use crate::Backend;
use crate::fixtures::{actor, commit, ok, operation};

fn remember(key: &str, answer: &str, call: Option<&str>, at: u64, forget_before: u64) -> Op {
    Op::RememberRequest {
        request: RememberedRequest {
            key: key.into(),
            fingerprint: format!("fp-{key}"),
            answer: answer.into(),
            call: call.map(str::to_owned),
            at,
        },
        forget_before,
    }
}

/// A key is remembered with the effect of its request, in one batch; the
/// same key again fails its whole batch (its effect is not made) while
/// the first is remembered, and replaces it once it is older than the
/// batch's horizon. Forgetting drops old keys and the kept outcomes of
/// their calls, and nothing newer.
pub async fn a_request_with_an_idempotency_key_takes_effect_once<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let a = actor("tally", "a");
    let signal = || Op::EnqueueActor {
        operation: operation(&a, "add", "1"),
        reply: ReplyTo::Nobody,
        visible_at: 0,
        capacity: None,
    };
    ok(
        &*store,
        vec![signal(), remember("k", "\"first\"", None, 100, 0)],
    )
    .await;
    let remembered = store.remembered_request("k").await.unwrap().unwrap();
    assert_eq!(
        (remembered.answer.as_str(), remembered.at, remembered.call),
        ("\"first\"", 100, None)
    );
    assert_eq!(remembered.fingerprint, "fp-k");
    assert_eq!(store.remembered_request("other").await.unwrap(), None);

    let again = commit(
        &*store,
        vec![signal(), remember("k", "\"second\"", None, 150, 50)],
    )
    .await;
    assert!(
        matches!(&again, Err(StoreError::Repeated(key)) if key == "k"),
        "{again:?}"
    );
    assert_eq!(
        store.actor_mailbox(&a).await.unwrap(),
        1,
        "the effect was not made again"
    );
    let kept = store.remembered_request("k").await.unwrap().unwrap();
    assert_eq!(kept.answer, "\"first\"");

    ok(
        &*store,
        vec![signal(), remember("k", "\"later\"", None, 300, 200)],
    )
    .await;
    assert_eq!(store.actor_mailbox(&a).await.unwrap(), 2);
    assert_eq!(
        store.remembered_request("k").await.unwrap().unwrap().at,
        300
    );

    ok(
        &*store,
        vec![
            remember("call", "\"req-1\"", Some("req-1"), 100, 0),
            Op::PutActorResult {
                request_id: "req-1".into(),
                outcome: r#"{"Ok":"7"}"#.into(),
            },
            Op::PutActorResult {
                request_id: "req-2".into(),
                outcome: r#"{"Ok":"8"}"#.into(),
            },
        ],
    )
    .await;
    ok(&*store, vec![Op::ForgetRequests { before: 200 }]).await;
    assert_eq!(store.remembered_request("call").await.unwrap(), None);
    assert_eq!(store.actor_result("req-1").await.unwrap(), None);
    assert!(
        store.actor_result("req-2").await.unwrap().is_some(),
        "not a remembered call's"
    );
    assert!(
        store.remembered_request("k").await.unwrap().is_some(),
        "newer"
    );
}
