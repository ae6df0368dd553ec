//! The orchestration role: deterministic code whose every host call is
//! checked against history when replaying and recorded when live.
//!
//! - `context`: the `orchestration-context` host calls.
//! - `state`: what the host keeps for one execution while its guest runs
//!   (the journal, the episode's writes, the results that have arrived).
//! - `suspend`: an episode's end, when the guest awaits a task not done.
//!
//! Running a guest here is one execution from its start: replaying what
//! history holds, then live. Which instances run, and when, is the
//! scheduler's; it reaches a hot guest through its [`Wake`]s, and the guest
//! reaches it through its [`Driver`].

mod context;
mod state;
mod suspend;

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

pub(crate) use state::{ConsumedEvents, OrchestrationState, Unwind};

use super::activity::ActivityResult;
use super::directory::SharedDirectory;
use crate::history::{Event, Failure, HistoryEvent, Outcome};
use crate::replay::Nondeterminism;
use crate::store::{Batch, InstanceRecord, Message, StoreError};
use crate::wasm::bindings::ORCHESTRATOR;
use crate::wasm::bindings::exports::reprise::durable::orchestrator;
use crate::wasm::bindings::reprise::durable::orchestration_context;
use crate::wasm::role_bindings;
use crate::wasm::trap::{self, StderrTail};
use crate::wasm::{ComponentError, Guests, LoadedComponent, Prepared, Role, sandbox};

/// The orchestration role.
pub(crate) struct Orchestration;

impl Role for Orchestration {
    type State = OrchestrationState;

    const EXPORT: &'static str = ORCHESTRATOR;
    const CONTEXT: &'static str = "reprise:durable/orchestration-context@0.1.0";
    const DESCRIPTION: &'static str = "an orchestration";
    const LISTS: &'static str = "orchestrations";

    role_bindings!(orchestrator, orchestration_context, call_orchestrations);
}

/// What a hot instance's guest is woken with. (Not to be confused with an
/// actor signal, a one-way actor operation.)
#[derive(Debug)]
pub(crate) enum Wake {
    /// A committed inbox message.
    Message(Message),
    /// An activity result not yet committed; see [`ActivityResult`].
    Result(ActivityResult),
    /// Stop now (terminated or suspended); state is already committed.
    Stop(String),
    /// The instance moved to new code: stop running the old and replay its
    /// history, as the store holds it, on the new.
    Reload,
    /// Instance slots are scarce: unload if still idle.
    Evict,
}

/// How a hot orchestration reaches the scheduler that drives it: commit an
/// episode under the instance's ownership, say that it waits, and ask
/// whether it may be unloaded. The one door from a guest to the runtime
/// besides its [`Directory`](super::Directory).
#[async_trait::async_trait]
pub(crate) trait Driver: Send + Sync {
    /// Commits an episode's batch, fenced by the instance's ownership.
    async fn commit(&self, batch: Batch) -> Result<(), StoreError>;
    /// The guest begins to wait for a wake: it may be evicted from now on.
    fn idle(&self);
    /// A wake arrived: the guest runs again.
    fn busy(&self);
    /// Unloads the instance unless a wake is already waiting in `wakes`.
    fn try_evict(&self, wakes: &UnboundedReceiver<Wake>) -> bool;
    /// How long a guest waits idle before it is unloaded.
    fn evict_after(&self) -> Duration;
}

/// What a replay-only run found.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReplayVerdict {
    /// The code returned this, having made exactly the recorded calls.
    Returned(Outcome),
    /// The code consumed all of history and waits for more: consistent so far.
    Waiting,
    /// The code continued as new with this input.
    ContinuedAsNew(String),
}

/// Why a replay-only run could not say what the code would do.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReplayError {
    /// The code asked for something other than what history holds.
    #[error(transparent)]
    Diverged(Nondeterminism),
    /// The history or the run is broken (no start event, a store failure).
    #[error("{0}")]
    Broken(String),
}

/// Instantiates the guest and runs execution `name` on `input` from its
/// start. Traps and limit breaches become the orchestration's failure;
/// host-initiated unwinds are returned as such.
pub(crate) async fn run(
    guests: &Guests,
    component: &LoadedComponent,
    state: OrchestrationState,
    name: &str,
    input: &str,
) -> (Result<Outcome, Unwind>, OrchestrationState) {
    let Prepared { pre, indices } = match component.require::<Orchestration>() {
        Ok(prepared) => prepared,
        Err(failure) => return (Ok(Err(failure)), state),
    };
    let sandbox =
        sandbox::orchestration_wasi(&state.instance_id, state.execution, &state.determinism);
    let limits = guests.limits();
    let (mut store, instance) = guests
        .instantiate(pre, sandbox, state, limits.cpu_per_episode)
        .await;
    let run = async {
        let guest = indices.load(&mut store, &instance?)?;
        guest.call_run(&mut store, name, &input.to_owned()).await
    };
    let result = match run.await {
        Ok(Ok(output)) => match store.data().state.journal.check_finished() {
            Err(nondeterminism) => Err(Unwind::Nondeterminism(nondeterminism)),
            Ok(()) => {
                let limit = limits.max_payload_bytes;
                if output.len() > limit {
                    Ok(Err(Failure::new(format!(
                        "output of {} bytes exceeds the limit of {limit} bytes",
                        output.len()
                    ))))
                } else {
                    Ok(Ok(output))
                }
            }
        },
        Ok(Err(failure)) => Ok(Err(failure.into())),
        Err(error) => classify(error, &store.data().stderr),
    };
    (result, store.into_data().state)
}

/// Host-initiated unwinds go back to the driver; everything else (a trap,
/// a limit, a refused call) is the orchestration's failure.
fn classify(error: wasmtime::Error, stderr: &StderrTail) -> Result<Outcome, Unwind> {
    let error = match error.downcast::<Unwind>() {
        Ok(unwind) => return Err(unwind),
        Err(error) => error,
    };
    if let Some(nondeterminism) = error.downcast_ref::<Nondeterminism>() {
        return Err(Unwind::Nondeterminism(nondeterminism.clone()));
    }
    Ok(Err(trap::describe(&error, stderr)))
}

/// Replays an instance's recorded history against `component` without
/// writing anything: what would this code do with this history?
pub(crate) async fn replay_only(
    guests: &Guests,
    directory: &SharedDirectory,
    component: &LoadedComponent,
    record: &InstanceRecord,
    history: Vec<HistoryEvent>,
) -> Result<ReplayVerdict, ReplayError> {
    let Some(Event::Started { input, .. }) = history.first().map(|e| e.event.clone()) else {
        return Err(ReplayError::Broken("history has no start event".into()));
    };
    let state = OrchestrationState::new(directory.clone(), record, history, None);
    let (result, mut state) = run(guests, component, state, &record.name, &input).await;
    match result {
        Ok(outcome) => Ok(ReplayVerdict::Returned(outcome)),
        Err(Unwind::ContinueAsNew) => Ok(ReplayVerdict::ContinuedAsNew(
            state.continue_as_new.take().unwrap_or_default(),
        )),
        Err(Unwind::Stopped(_)) => Ok(ReplayVerdict::Waiting),
        Err(Unwind::Nondeterminism(error)) => Err(ReplayError::Diverged(error)),
        Err(other) => Err(ReplayError::Broken(other.to_string())),
    }
}

/// The names a component's orchestrator exports (none if it has none).
pub(crate) async fn names(
    guests: &Guests,
    directory: &SharedDirectory,
    component: &LoadedComponent,
) -> Result<Vec<String>, ComponentError> {
    crate::wasm::list_exports::<Orchestration>(guests, component, || {
        let (record, started) = InstanceRecord::starting(
            "registration".into(),
            "",
            component.digest.clone(),
            "null",
            None,
            0,
        );
        let state = OrchestrationState::new(directory.clone(), &record, vec![started], None);
        let sandbox = sandbox::orchestration_wasi(&record.id, 0, &state.determinism);
        Ok((sandbox, state))
    })
    .await
}
