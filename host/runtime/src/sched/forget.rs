//! Forgetting requests made with an idempotency key once their retention
//! is over, so the store keeps a day of them, not all of them. Until then
//! a lookup already treats an expired key as unknown; this only frees the
//! space. The host that serves the actors does it, so one host does.

use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use super::ownership::Unit;
use crate::store::Op;

/// How often expired keys are forgotten.
const EVERY: Duration = Duration::from_secs(60);

/// Forgets expired idempotency keys, forever.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(EVERY).await;
        if !shared.sched.ownership.owns(Unit::Actors) {
            continue;
        }
        let retention = shared.settings.idempotency_retention.as_millis() as u64;
        let before = shared.now_ms().saturating_sub(retention);
        if let Err(error) = shared.commit(vec![Op::ForgetRequests { before }]).await {
            tracing::warn!(%error, "cannot forget expired idempotency keys");
        }
    }
}
