//! Leases and their fencing tokens.

use reprise_core::store::{Committed, Lease, Op, StoreError};

use crate::Backend;
use crate::fixtures::{assert_fenced, commit, create};

fn take(owner: &str, now: u64) -> Op {
    Op::TakeLease {
        name: "worker".into(),
        owner: owner.into(),
        now,
        until: now + 100,
    }
}

fn token(result: Result<Committed, StoreError>) -> u64 {
    result
        .expect("the lease should be granted")
        .lease
        .expect("a granted lease reports its token")
}

/// A lease is refused to others (naming its holder) until it runs out; its
/// holder renews it under the same token; each change of hands gives a
/// greater token, also after the lease was given up.
pub async fn a_lease_is_refused_to_others_until_it_runs_out_and_its_token_grows<B: Backend>() {
    let db = B::create().await;
    let store = &*db.connect().await;
    let first = token(commit(store, vec![take("a", 1_000)]).await);
    let refused = commit(store, vec![take("b", 1_050)]).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Conflict(why) if why.contains("held by a")),
        "{refused}"
    );
    assert_eq!(token(commit(store, vec![take("a", 1_090)]).await), first);
    assert!(
        commit(store, vec![take("b", 1_150)]).await.is_err(),
        "renewed"
    );
    let second = token(commit(store, vec![take("b", 1_191)]).await);
    assert!(second > first);
    let release = Op::ReleaseLease {
        name: "worker".into(),
        owner: "b".into(),
    };
    commit(store, vec![release]).await.unwrap();
    let third = token(commit(store, vec![take("c", 1_200)]).await);
    assert!(third > second);
    // Other leases are other rows.
    let other = Op::TakeLease {
        name: "partition-1".into(),
        owner: "a".into(),
        now: 1_200,
        until: 1_300,
    };
    assert!(commit(store, vec![other]).await.is_ok());
}

/// A batch fenced by a token the lease no longer has is refused whole: a
/// worker that paused past its lease cannot apply anything once another
/// has taken over, however sure it is that the lease is still its own.
pub async fn work_fenced_by_a_lease_that_moved_on_is_refused<B: Backend>() {
    let db = B::create().await;
    let store = &*db.connect().await;
    let fence = |token| Op::ExpectLease {
        name: "worker".into(),
        token,
    };
    assert_fenced(commit(store, vec![fence(1), create("never")]).await);
    let old = token(commit(store, vec![take("a", 1_000)]).await);
    commit(store, vec![fence(old), create("by-a")])
        .await
        .unwrap();
    // `a` stalls past its lease; `b` takes over.
    let new = token(commit(store, vec![take("b", 2_000)]).await);
    assert_fenced(commit(store, vec![fence(old), create("late-a")]).await);
    commit(store, vec![fence(new), create("by-b")])
        .await
        .unwrap();
    assert!(store.instance("by-a").await.unwrap().is_some());
    assert!(store.instance("late-a").await.unwrap().is_none());
    assert!(store.instance("by-b").await.unwrap().is_some());
    assert!(store.instance("never").await.unwrap().is_none());
}

/// The list of leases shows each one's holder, token and expiry, in name
/// order (byte order: `partition/10` before `partition/2`); a lease given
/// up stays listed, run out, with its token.
pub async fn leases_are_listed_by_name_with_holder_token_and_expiry<B: Backend>() {
    let db = B::create().await;
    let store = &*db.connect().await;
    assert_eq!(store.leases().await.unwrap(), Vec::new());
    let take = |name: &str, owner: &str| Op::TakeLease {
        name: name.into(),
        owner: owner.into(),
        now: 1_000,
        until: 5_000,
    };
    let two = token(commit(store, vec![take("partition/2", "a")]).await);
    let ten = token(commit(store, vec![take("partition/10", "b")]).await);
    let release = Op::ReleaseLease {
        name: "partition/10".into(),
        owner: "b".into(),
    };
    commit(store, vec![release]).await.unwrap();
    let leases = store.leases().await.unwrap();
    assert_eq!(
        leases,
        vec![
            Lease {
                name: "partition/10".into(),
                owner: "b".into(),
                token: ten,
                expires_at: 0,
            },
            Lease {
                name: "partition/2".into(),
                owner: "a".into(),
                token: two,
                expires_at: 5_000,
            },
        ]
    );
    assert!(leases[1].is_held(5_000) && !leases[1].is_held(5_001));
    assert!(!leases[0].is_held(1_000), "given up");
}
