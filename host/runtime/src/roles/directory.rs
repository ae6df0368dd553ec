//! What a guest's host calls may look up in the runtime, and nothing more:
//! which component holds a name, whether an actor operation can ever be
//! handled, the limits, the time. Host calls hold an
//! `Arc<dyn Directory>`, not the runtime, so what they can reach is written
//! in one place; the runtime's is a [`Catalog`] of the registry's names.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use super::activity::Activities;
use crate::clock::Clock;
use crate::error::Error;
use crate::history::Outcome;
use crate::names::{self, NameError, NameKind};
use crate::store::ActorOperation;
use crate::wasm::{Limits, Registry};

/// The lookups host calls make.
#[async_trait::async_trait]
pub(crate) trait Directory: Send + Sync + 'static {
    /// Reads the names again: another process may have registered one a
    /// moment ago, before the change feed brought it here.
    async fn refresh_names(&self);

    /// The guests' limits (payload sizes above all).
    fn limits(&self) -> &Limits;
    /// Now, by the runtime's clock (ms since the Unix epoch).
    fn now_ms(&self) -> u64;
    /// The newest component holding orchestration `name`.
    fn orchestration(&self, name: &str) -> Option<String>;
    /// The component to run activity `name`: `preferred` (the calling
    /// orchestration's own) when it has it; `""` for a native activity.
    fn activity(&self, name: &str, preferred: &str) -> Option<String>;
    /// Whether actor kind `kind` is registered.
    fn has_actor_kind(&self, kind: &str) -> bool;
    /// How many operations the mailbox of an actor of kind `kind` may hold.
    fn mailbox_capacity(&self, kind: &str) -> u64;
    /// Runs `operation` at once against its actor's last committed state
    /// if it is read-only: its outcome; `None` if it goes to the mailbox.
    async fn read_actor(&self, operation: &ActorOperation) -> Option<Outcome>;

    /// The bound of an atomic request's mailboxes: the smallest of its
    /// actors' kinds.
    fn atomic_capacity(&self, operations: &[ActorOperation]) -> u64 {
        operations
            .iter()
            .map(|op| self.mailbox_capacity(&op.target.kind))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Whether an actor operation can ever be handled: its names follow the
    /// rules, its kind is registered and its input is JSON within the size
    /// limit.
    fn check_actor_operation(&self, operation: &ActorOperation) -> Result<(), Undeliverable> {
        let target = &operation.target;
        names::check(NameKind::ActorKind, &target.kind)?;
        names::check(NameKind::ActorKey, &target.key)?;
        names::check(NameKind::Operation, &operation.operation)?;
        if !self.has_actor_kind(&target.kind) {
            return Err(Undeliverable::UnknownKind(target.kind.clone()));
        }
        check_json(
            "operation input",
            &operation.input,
            self.limits().max_payload_bytes,
        )
        .map_err(Undeliverable::Input)
    }
}

/// Looks a name up with `find`; if it is not known, reads the names again
/// once first. A miss is recorded as a failure for good, so it must not be
/// a registration that is merely on its way.
pub(crate) async fn find<T>(
    directory: &dyn Directory,
    find: impl Fn(&dyn Directory) -> Option<T>,
) -> Option<T> {
    if let Some(found) = find(directory) {
        return Some(found);
    }
    directory.refresh_names().await;
    find(directory)
}

/// Reads the names again if an operation's actor kind is not known (see
/// [`find`]).
pub(crate) async fn know_kinds(directory: &dyn Directory, operations: &[ActorOperation]) {
    if operations
        .iter()
        .any(|op| !directory.has_actor_kind(&op.target.kind))
    {
        directory.refresh_names().await;
    }
}

/// A directory shared by the host calls of many guests.
pub(crate) type SharedDirectory = Arc<dyn Directory>;

/// The runtime's directory: the names registered in the store (as the
/// registry knows them), the native activities, the limits and the clock.
pub(crate) struct Catalog {
    pub(crate) registry: Arc<Registry>,
    /// The native activities (implemented in Rust), shared with the
    /// dispatcher that runs them: they take precedence over component
    /// activities of the same name.
    pub(crate) activities: Arc<Activities>,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) mailboxes: MailboxBounds,
    /// Who runs actor reads: set once the runtime has made it. Weak, since
    /// the reader's guests hold this directory.
    pub(crate) reader: OnceLock<Weak<dyn ActorReader>>,
}

/// Runs read-only actor operations (`roles::actor::Reads`), for
/// orchestrations' calls.
#[async_trait::async_trait]
pub(crate) trait ActorReader: Send + Sync + 'static {
    /// The operation's outcome if it is read-only; `None` if not.
    async fn read(&self, operation: &ActorOperation) -> Option<Outcome>;
}

/// How many operations an actor's mailbox may hold, by kind. A full
/// mailbox refuses a client's send at once and fails an actor operation
/// that sends to it; an orchestration's send waits for room (see
/// `sched::driver`). Mailboxes are read a page at a time, so the bound
/// protects the database and the fairness of the queue, not memory.
#[derive(Debug, Clone)]
pub(crate) struct MailboxBounds {
    /// For every kind not in `per_kind`.
    pub(crate) default: u64,
    pub(crate) per_kind: HashMap<String, u64>,
}

impl Default for MailboxBounds {
    fn default() -> Self {
        Self {
            default: 10_000,
            per_kind: HashMap::new(),
        }
    }
}

#[async_trait::async_trait]
impl Directory for Catalog {
    async fn refresh_names(&self) {
        if let Err(error) = self.registry.refresh().await {
            tracing::warn!(%error, "cannot read the registered names");
        }
    }

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    fn orchestration(&self, name: &str) -> Option<String> {
        self.registry.orchestration(name)
    }

    fn activity(&self, name: &str, preferred: &str) -> Option<String> {
        if self.activities.natives.contains_key(name) {
            return Some(String::new());
        }
        self.registry.activity(name, preferred)
    }

    fn has_actor_kind(&self, kind: &str) -> bool {
        self.registry.actor(kind).is_some()
    }

    fn mailbox_capacity(&self, kind: &str) -> u64 {
        let bounds = &self.mailboxes;
        bounds.per_kind.get(kind).copied().unwrap_or(bounds.default)
    }

    async fn read_actor(&self, operation: &ActorOperation) -> Option<Outcome> {
        let reader = self.reader.get()?.upgrade()?;
        reader.read(operation).await
    }
}

/// Why an actor operation can never be handled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Undeliverable {
    /// No component implements the kind.
    #[error("no actor kind {0:?} is registered")]
    UnknownKind(String),
    /// A name breaks the rules.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The input is not JSON or too large.
    #[error(transparent)]
    Input(Error),
}

impl From<Undeliverable> for Error {
    fn from(why: Undeliverable) -> Self {
        match why {
            Undeliverable::UnknownKind(_) => Error::NotFound(why.to_string()),
            Undeliverable::Name(_) => Error::InvalidInput(why.to_string()),
            Undeliverable::Input(error) => error,
        }
    }
}

/// Checks that `text` is JSON of at most `limit` bytes.
pub(crate) fn check_json(what: &str, text: &str, limit: usize) -> Result<(), Error> {
    if text.len() > limit {
        return Err(Error::InvalidInput(format!(
            "{what} is {} bytes; the limit is {limit} bytes",
            text.len()
        )));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map(|_| ())
        .map_err(|e| Error::InvalidInput(format!("{what} is not valid JSON: {e}")))
}
