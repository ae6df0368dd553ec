//! Read-only operations, run outside the mailbox: against the actor's last
//! committed state, side by side with each other and with the batch that
//! may be writing the actor meanwhile, never behind its queued writes. A
//! read commits nothing, so it may run on any process that can read the
//! store, whoever owns the actors; what it saw is the state of some
//! moment after every write committed before it began.
//!
//! A call that is a read is answered here at once; any other goes to the
//! mailbox. The same operation sent one-way, or inside an atomic request,
//! runs in the mailbox in its turn and is held to the same rule (see
//! [`Handler::handle`]): it may not change the state or have effects.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::handler::{Handler, IdleHandlers};
use crate::history::{Failure, Outcome};
use crate::roles::directory::{ActorReader, SharedDirectory};
use crate::store::{ActorOperation, Store};
use crate::wasm::{LoadedComponent, Registry};

/// Runs the read-only operations of client and orchestration calls.
pub(crate) struct Reads {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    directory: SharedDirectory,
    idle: Arc<IdleHandlers>,
    /// Reads running a guest at once: as many as batches may, apart from
    /// theirs, so that a flood of writes never holds a read back.
    running: Semaphore,
}

impl Reads {
    /// Reads served with instances from `idle`, shared with the batches.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        directory: SharedDirectory,
        idle: Arc<IdleHandlers>,
    ) -> Self {
        let running = Semaphore::new(idle.running_at_once());
        Self {
            store,
            registry,
            directory,
            idle,
            running,
        }
    }

    /// Runs `operation` at once if its kind declares it read-only: its
    /// outcome; `None` if it is a write, or if the kind's component cannot
    /// be had here (the mailbox then answers, in order).
    pub(crate) async fn try_read(&self, operation: &ActorOperation) -> Option<Outcome> {
        let component = component_for(&self.registry, &self.directory, &operation.target.kind)
            .await
            .ok()?;
        // A write is known for one without taking an instance, once any
        // instance of the component has listed its kind's reads.
        if self.idle.reads_only(&component, operation) == Some(false) {
            return None;
        }
        let mut handler = self.idle.take(&component, &operation.target).await.ok()?;
        if !handler.reads_only(operation) {
            self.idle.put(handler);
            return None;
        }
        let _slot = self.running.acquire().await.expect("never closed");
        match self.read(&mut handler, operation).await {
            Ok(output) => {
                self.idle.put(handler);
                Some(Ok(output))
            }
            Err((failure, poisoned)) => {
                if !poisoned {
                    self.idle.put(handler);
                }
                Some(Err(failure))
            }
        }
    }

    async fn read(
        &self,
        handler: &mut Handler,
        operation: &ActorOperation,
    ) -> Result<String, (Failure, bool)> {
        let state = self
            .store
            .actor(&operation.target)
            .await
            .map_err(|e| {
                (
                    Failure::new(format!("cannot read the actor's state: {e}")),
                    false,
                )
            })?
            .map(|record| record.state);
        let (_, output, _) = handler.handle(operation, state.as_deref()).await?;
        Ok(output)
    }
}

#[async_trait::async_trait]
impl ActorReader for Reads {
    async fn read(&self, operation: &ActorOperation) -> Option<Outcome> {
        self.try_read(operation).await
    }
}

/// The component that implements an actor's kind, or why there is none.
pub(crate) async fn component_for(
    registry: &Registry,
    directory: &SharedDirectory,
    kind: &str,
) -> Result<Arc<LoadedComponent>, Failure> {
    if registry.actor(kind).is_none() {
        // Registered by another process a moment ago?
        directory.refresh_names().await;
    }
    let digest = registry
        .actor(kind)
        .ok_or_else(|| Failure::new(format!("no actor kind {kind:?} is registered")))?;
    registry
        .load(&digest)
        .await
        .map_err(|e| Failure::new(e.to_string()))
}
