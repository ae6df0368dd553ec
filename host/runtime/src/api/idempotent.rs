//! Requests that apply once: a start, a signal, a call or an event sent
//! with an idempotency key takes effect once however often it is sent,
//! and every repeat answers what the first answered.
//!
//! The key and the answer are remembered in the batch that makes the
//! effect, so the two commit together or not at all: a client that timed
//! out, or whose server was killed, sends the same request again and gets
//! the first answer, never a second effect. Two sends racing with one key
//! both try; the store refuses the second ([`StoreError::Repeated`]), which
//! then reads the first's answer. A key is remembered for the runtime's
//! retention (a day by default), then forgotten by the worker; a key used
//! again with a different request is refused.

use std::time::Duration;

use super::{Runtime, StartOptions};
use crate::error::Error;
use crate::ids::random_id;
use crate::store::{Batch, Op, RememberedRequest, StoreError, request_fingerprint};

impl Runtime {
    fn retention_ms(&self) -> u64 {
        self.shared.settings.idempotency_retention.as_millis() as u64
    }
}

/// A runtime's requests made with one idempotency key: see
/// [`Runtime::idempotent`].
#[derive(Debug, Clone, Copy)]
pub struct Idempotent<'a> {
    runtime: &'a Runtime,
    key: &'a str,
}

impl Runtime {
    /// The requests of this runtime made with idempotency key `key`: each
    /// takes effect once, and a repeat answers what the first answered.
    pub fn idempotent<'a>(&'a self, key: &'a str) -> Idempotent<'a> {
        Idempotent { runtime: self, key }
    }
}

impl Idempotent<'_> {
    /// [`Runtime::start`], once: a repeat answers the first instance's id.
    pub async fn start(
        &self,
        name: &str,
        input: &str,
        options: StartOptions,
    ) -> Result<String, Error> {
        let fingerprint = request_fingerprint(&[
            "start",
            name,
            input,
            options.instance_id.as_deref().unwrap_or(""),
            if options.pinned { "pinned" } else { "" },
        ]);
        let answer = self
            .once(&fingerprint, None, async |runtime: &Runtime| {
                let (id, batch) = runtime.start_batch(name, input, options).await?;
                Ok((serde_json::to_string(&id).unwrap_or_default(), batch))
            })
            .await?;
        serde_json::from_str(&answer).map_err(|e| Error::Internal(e.to_string()))
    }

    /// [`Runtime::signal_actor`], once.
    pub async fn signal_actor(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
        delay: Option<Duration>,
    ) -> Result<(), Error> {
        let delay_ms = delay.map_or(String::new(), |d| d.as_millis().to_string());
        let fingerprint = request_fingerprint(&["signal", kind, key, operation, input, &delay_ms]);
        self.once(&fingerprint, None, async |runtime: &Runtime| {
            let batch = runtime
                .signal_batch(kind, key, operation, input, delay)
                .await?;
            Ok(("null".to_owned(), batch))
        })
        .await?;
        Ok(())
    }

    /// [`Runtime::call_actor`], once: the operation is applied once, and a
    /// repeat waits for (or reads) its outcome.
    pub async fn call_actor(
        &self,
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
        timeout: Duration,
    ) -> Result<String, Error> {
        let fingerprint = request_fingerprint(&["call", kind, key, operation, input]);
        // The answer is the request id the outcome is kept under: a repeat
        // waits for the first call's outcome.
        let fresh = format!("idempotent-{}", random_id());
        let answer = self
            .once(&fingerprint, Some(&fresh), async |runtime: &Runtime| {
                let batch = runtime
                    .call_batch(kind, key, operation, input, &fresh)
                    .await?;
                Ok((serde_json::to_string(&fresh).unwrap_or_default(), batch))
            })
            .await?;
        let request_id: String =
            serde_json::from_str(&answer).map_err(|e| Error::Internal(e.to_string()))?;
        // The outcome stays while the key is remembered, for every repeat.
        let outcome = self
            .runtime
            .actor_outcome(kind, key, &request_id, timeout, false)
            .await?;
        self.runtime.call_answer(kind, key, operation, outcome)
    }

    /// [`Runtime::raise_event`], once.
    pub async fn raise_event(
        &self,
        instance_id: &str,
        name: &str,
        data: &str,
    ) -> Result<(), Error> {
        let fingerprint = request_fingerprint(&["event", instance_id, name, data]);
        self.once(&fingerprint, None, async |runtime: &Runtime| {
            Ok((
                "null".to_owned(),
                runtime.event_batch(instance_id, name, data)?,
            ))
        })
        .await?;
        Ok(())
    }

    /// Makes the request unless the key is remembered: its answer, the
    /// first's if it was made before.
    async fn once(
        &self,
        fingerprint: &str,
        call: Option<&str>,
        request: impl AsyncFnOnce(&Runtime) -> Result<(String, Batch), Error>,
    ) -> Result<String, Error> {
        if let Some(answer) = self.remembered(fingerprint).await? {
            return Ok(answer);
        }
        let (answer, mut batch) = request(self.runtime).await?;
        let at = self.runtime.shared.now_ms();
        batch.push(Op::RememberRequest {
            request: RememberedRequest {
                key: self.key.to_owned(),
                fingerprint: fingerprint.to_owned(),
                answer: answer.clone(),
                call: call.map(str::to_owned),
                at,
            },
            forget_before: at.saturating_sub(self.runtime.retention_ms()),
        });
        match self.runtime.shared.commit(batch).await {
            Ok(_) => Ok(answer),
            Err(StoreError::Repeated(_)) => self
                .remembered(fingerprint)
                .await?
                .ok_or_else(|| Error::Internal("a remembered request was forgotten".into())),
            Err(error) => Err(error.into()),
        }
    }

    /// The answer the key's request gave, if it is remembered; refused if
    /// the key was used for another request.
    async fn remembered(&self, fingerprint: &str) -> Result<Option<String>, Error> {
        let store = &self.runtime.shared.store;
        let Some(request) = store.remembered_request(self.key).await? else {
            return Ok(None);
        };
        let now = self.runtime.shared.now_ms();
        if request.at.saturating_add(self.runtime.retention_ms()) <= now {
            return Ok(None);
        }
        if request.fingerprint != fingerprint {
            return Err(Error::IdempotencyKeyReused(self.key.to_owned()));
        }
        Ok(Some(request.answer))
    }
}
