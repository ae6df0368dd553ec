//! The actor side of the client API: signal and call actors, read their state.

use std::time::Duration;

use super::Runtime;
use crate::error::Error;
use crate::history::Outcome;
use crate::ids::random_id;
use crate::store::{ActorId, ActorOperation, ActorRecord, Batch, Op, ReplyTo};

impl Runtime {
    async fn actor_operation(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
    ) -> Result<ActorOperation, Error> {
        let operation = ActorOperation {
            target: ActorId {
                kind: kind.to_owned(),
                key: key.to_owned(),
            },
            operation: operation.to_owned(),
            input: input.to_owned(),
        };
        let code = &self.shared.code;
        if code.registry.actor(kind).is_none() {
            // Registered by another process a moment ago?
            code.registry.refresh().await?;
        }
        code.directory.check_actor_operation(&operation)?;
        Ok(operation)
    }

    /// How many operations the mailbox of an actor of kind `kind` may
    /// hold here (see [`RuntimeBuilder::mailbox_capacity`]).
    ///
    /// [`RuntimeBuilder::mailbox_capacity`]: crate::RuntimeBuilder::mailbox_capacity
    pub fn mailbox_capacity(&self, kind: &str) -> u64 {
        self.shared.code.directory.mailbox_capacity(kind)
    }

    /// Sends an operation to an actor, one-way; `delay` makes it a reminder.
    /// The actor is created by its first operation.
    pub async fn signal_actor(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
        delay: Option<Duration>,
    ) -> Result<(), Error> {
        let batch = self
            .signal_batch(kind, key, operation, input, delay)
            .await?;
        self.shared.commit(batch).await?;
        Ok(())
    }

    /// What a signal commits.
    pub(super) async fn signal_batch(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
        delay: Option<Duration>,
    ) -> Result<Batch, Error> {
        let operation = self.actor_operation(kind, key, operation, input).await?;
        let now = self.shared.now_ms();
        let visible_at = delay.map_or(0, |d| now.saturating_add(d.as_millis() as u64));
        Ok(vec![Op::EnqueueActor {
            operation,
            reply: ReplyTo::Nobody,
            visible_at,
            capacity: Some(self.mailbox_capacity(kind)),
        }])
    }

    /// Calls an actor operation and waits (up to `timeout`) for its output.
    /// A failed operation is an [`Error::ActorFailed`] carrying the guest's
    /// failure. An operation its kind declares read-only is answered at
    /// once from the actor's last committed state, ahead of the writes in
    /// its mailbox.
    pub async fn call_actor(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
        timeout: Duration,
    ) -> Result<String, Error> {
        let call = self.actor_operation(kind, key, operation, input).await?;
        if let Some(outcome) = self.shared.code.reads.try_read(&call).await {
            return self.call_answer(kind, key, operation, outcome);
        }
        let request_id = random_id();
        self.shared.commit(self.call_ops(call, &request_id)).await?;
        let outcome = self
            .actor_outcome(kind, key, &request_id, timeout, true)
            .await?;
        self.call_answer(kind, key, operation, outcome)
    }

    /// What a call commits: the operation, its outcome to `request_id`.
    pub(super) async fn call_batch(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
        request_id: &str,
    ) -> Result<Batch, Error> {
        let operation = self.actor_operation(kind, key, operation, input).await?;
        Ok(self.call_ops(operation, request_id))
    }

    /// What a call of a checked operation commits.
    fn call_ops(&self, operation: ActorOperation, request_id: &str) -> Batch {
        let capacity = Some(self.mailbox_capacity(&operation.target.kind));
        vec![Op::EnqueueActor {
            operation,
            reply: ReplyTo::Client(request_id.to_owned()),
            visible_at: 0,
            capacity,
        }]
    }

    /// A call's outcome as the caller gets it.
    pub(super) fn call_answer(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        outcome: Outcome,
    ) -> Result<String, Error> {
        outcome.map_err(|failure| Error::ActorFailed {
            actor: ActorId {
                kind: kind.to_owned(),
                key: key.to_owned(),
            },
            operation: operation.to_owned(),
            failure,
        })
    }

    /// Waits (up to `timeout`) for the outcome of call `request_id`, and
    /// forgets it once read if `forget`.
    pub(super) async fn actor_outcome(
        &self,
        kind: &str,
        key: &str,
        request_id: &str,
        timeout: Duration,
        forget: bool,
    ) -> Result<Outcome, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Registered before reading, so an outcome committed meanwhile
            // is not missed.
            let answered = self.shared.waiters.actor_results.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            if let Some(outcome) = self.shared.store.actor_result(request_id).await? {
                if forget {
                    self.shared
                        .commit(vec![Op::DropActorResult {
                            request_id: request_id.to_owned(),
                        }])
                        .await?;
                }
                return serde_json::from_str(&outcome).map_err(|e| Error::Internal(e.to_string()));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout(format!(
                    "no answer from {kind}/{key} after {timeout:?}; the operation stays queued and may still be applied"
                )));
            }
            // An outcome committed by this process notifies at once, and so
            // does one that this process's worker reads in the change feed.
            // A client without a worker has nobody reading the feed for it:
            // it looks again soon.
            let look_again = if self.shared.sched.is_worker() {
                Duration::from_millis(100)
            } else {
                Duration::from_millis(5)
            };
            let until = deadline.min(tokio::time::Instant::now() + look_again);
            let _ = tokio::time::timeout_at(until, answered).await;
        }
    }

    /// An actor's last committed state, without waiting behind its mailbox.
    pub async fn actor_state(&self, kind: &str, key: &str) -> Result<ActorRecord, Error> {
        let id = ActorId {
            kind: kind.to_owned(),
            key: key.to_owned(),
        };
        self.shared
            .store
            .actor(&id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no actor {id}")))
    }

    /// The actors of a kind, by key.
    pub async fn actors(&self, kind: &str, limit: usize) -> Result<Vec<ActorRecord>, Error> {
        Ok(self.shared.store.actors(kind, limit).await?)
    }

    /// Operations queued for one actor and not yet handled.
    pub async fn actor_mailbox(&self, kind: &str, key: &str) -> Result<u64, Error> {
        let id = ActorId {
            kind: kind.to_owned(),
            key: key.to_owned(),
        };
        Ok(self.shared.store.actor_mailbox(&id).await?)
    }

    /// Actor operations not yet handled.
    pub async fn actor_backlog(&self) -> Result<u64, Error> {
        Ok(self.shared.store.actor_backlog().await?)
    }
}
