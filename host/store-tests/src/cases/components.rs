//! Components, the names registered to them, and their compiled code.

use reprise_core::store::{Op, Role};

use crate::Backend;
use crate::fixtures::ok;

/// Registrations come back oldest first (the newest wins for new
/// instances); registering the same bytes twice keeps one copy; compiled
/// code is kept per engine and replaced by a newer compilation.
pub async fn registrations_keep_their_order_and_compiled_code_its_engine<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let register = |digest: &str, name: &str| Op::RegisterComponent {
        digest: digest.into(),
        bytes: digest.as_bytes().to_vec(),
        names: vec![
            (Role::Orchestration, name.into()),
            (Role::Activity, "shared".into()),
        ],
        at: 1,
    };
    ok(&*store, vec![register("d1", "hello")]).await;
    ok(&*store, vec![register("d2", "hello")]).await;
    ok(&*store, vec![register("d1", "again")]).await;
    let names: Vec<(Role, String, String)> = store
        .registrations()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.role, r.name, r.digest))
        .collect();
    let expected = [
        ("hello", "d1"),
        ("shared", "d1"),
        ("hello", "d2"),
        ("shared", "d2"),
        ("again", "d1"),
        ("shared", "d1"),
    ];
    assert_eq!(names.len(), expected.len());
    for ((_, name, digest), (want_name, want_digest)) in names.iter().zip(expected) {
        assert_eq!((name.as_str(), digest.as_str()), (want_name, want_digest));
    }
    assert_eq!(store.component("d1").await.unwrap(), Some(b"d1".to_vec()));
    assert_eq!(store.component("nope").await.unwrap(), None);

    let cache = |engine: &str, bytes: &[u8]| Op::CacheCompiled {
        digest: "d1".into(),
        engine: engine.into(),
        bytes: bytes.to_vec(),
    };
    ok(&*store, vec![cache("engine-1", b"old")]).await;
    ok(&*store, vec![cache("engine-2", b"other")]).await;
    ok(&*store, vec![cache("engine-1", b"new")]).await;
    assert_eq!(
        store.compiled("d1", "engine-1").await.unwrap(),
        Some(b"new".to_vec())
    );
    assert_eq!(
        store.compiled("d1", "engine-2").await.unwrap(),
        Some(b"other".to_vec())
    );
    assert_eq!(store.compiled("d1", "engine-3").await.unwrap(), None);
    assert_eq!(store.compiled("d2", "engine-1").await.unwrap(), None);
}
