//! Group commit: batches queued together still commit each on its own.

use reprise_core::store::{InstanceQuery, Op, Status, StoreError};

use crate::Backend;
use crate::fixtures::{create, ok, set_status};

/// Many batches queued at once (which a backend may fold into one
/// transaction) each commit all-or-nothing: one whose precondition fails
/// leaves nothing behind and takes no other batch down with it.
pub async fn batches_queued_together_commit_each_on_its_own<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    let tickets: Vec<_> = (0..64)
        .map(|i| {
            let mut batch = vec![create(&format!("i{i:02}"))];
            if i == 31 {
                // Fails after its create: the create must not stay.
                batch.push(Op::ExpectRunning {
                    instance_id: "nobody".into(),
                    execution: 0,
                    digest: None,
                });
            }
            store.commit(batch)
        })
        .collect();
    for (i, ticket) in tickets.into_iter().enumerate() {
        let result = ticket.await.expect("the store answers every batch");
        if i == 31 {
            assert!(
                matches!(result, Err(StoreError::NotFound(_))),
                "batch {i}: {result:?}"
            );
        } else {
            assert!(result.is_ok(), "batch {i}: {result:?}");
        }
    }
    let stored = store
        .instances(&InstanceQuery::status(None, 1_000))
        .await
        .unwrap();
    assert_eq!(stored.len(), 63);
    assert!(store.instance("i31").await.unwrap().is_none());
    assert!(store.instance("i32").await.unwrap().is_some());
}

/// Batches queued one after another by one caller apply in that order: a
/// precondition sees what an earlier batch of the same group wrote.
pub async fn a_batch_sees_what_batches_queued_before_it_wrote<B: Backend>() {
    let db = B::create().await;
    let store = db.connect().await;
    ok(&*store, vec![create("a")]).await;
    let terminate = store.commit(vec![set_status("a", Status::Terminated)]);
    let episode = store.commit(vec![
        Op::ExpectRunning {
            instance_id: "a".into(),
            execution: 0,
            digest: None,
        },
        Op::SetCustomStatus {
            instance_id: "a".into(),
            status: Some("\"late\"".into()),
            at: 1,
        },
    ]);
    assert!(terminate.await.unwrap().is_ok());
    let refused = episode.await.unwrap();
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let record = store.instance("a").await.unwrap().unwrap();
    assert_eq!(record.status, Status::Terminated);
    assert_eq!(record.custom_status, None, "nothing of the refused batch");
}
