//! Running orchestrations: one tokio task per live instance drives its guest
//! through executions and episodes.
//!
//! An instance is *hot* while its task lives: the guest is suspended inside
//! `await-task` and resumes without replay when a message arrives. It goes
//! *cold* when it finishes, is evicted after idling, or the host restarts;
//! the next message then replays it from history.

mod context;
mod state;
mod suspend;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::Instrument;

use state::ConsumedEvents;
pub(crate) use state::OrchestrationState;
use state::Unwind;

use crate::activity::ActivityResult;
use crate::component::ComponentError;
use crate::guest_log;
use crate::history::{Event, Failure, HistoryEvent, Outcome};
use crate::ownership::{Tenure, Unit};
use crate::replay::{Journal, Nondeterminism};
use crate::runtime::{Shared, Wake};
use crate::sandbox::{self, Determinism};
use crate::store::{InstanceRecord, MessageKind, NewMessage, Op, Status};
use crate::trap::{self, StderrTail};

/// What one execution hands to the next within an instance task.
struct Carry {
    wakes: UnboundedReceiver<Wake>,
    consumed: ConsumedEvents,
    /// The instance as its creation committed it, for the first execution
    /// of a task started by that commit.
    seed: Option<Seed>,
    /// Activity results passed straight to the task and neither consumed nor
    /// committed: the task commits them to the inbox as it ends (a next
    /// execution has no use for them; continuing as new removed their tasks).
    unsaved: Vec<ActivityResult>,
}

/// An instance as the commit that created it wrote it: its record and its
/// history so far (the start event). Every message for it reaches the new
/// task's inbox: those committed after the task was registered by routing,
/// those committed before by the watcher, which reads every new message.
#[derive(Debug)]
pub(crate) struct Seed {
    pub(crate) record: InstanceRecord,
    pub(crate) history: Vec<HistoryEvent>,
}

/// How an execution ended.
enum Ending {
    /// The instance moved to its next execution; keep driving it.
    ContinueAsNew,
    /// Nothing more to do in this task.
    Done,
    /// The task cannot go on (the store failed, or history is broken); the
    /// next message tries again.
    Broken(String),
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

/// Drives one instance until it finishes, stops or is evicted.
pub(crate) async fn drive(
    shared: Arc<Shared>,
    instance_id: String,
    wakes: UnboundedReceiver<Wake>,
    generation: u64,
    seed: Option<Seed>,
) {
    let span = guest_log::instance_span(&instance_id);
    async {
        // What this task commits is fenced by its partition's lease as it
        // is now: if the lease moves on meanwhile, none of it applies.
        let tenure = match shared.ownership.tenure(Unit::of_instance(&instance_id)) {
            Ok(tenure) => tenure,
            Err(why) => {
                tracing::debug!(%why, "not started");
                shared.router.release(&instance_id, generation);
                return;
            }
        };
        let mut carry = Some(Carry {
            wakes,
            consumed: ConsumedEvents::default(),
            seed,
            unsaved: Vec::new(),
        });
        let mut last = None;
        while let Some(previous) = carry.take() {
            match run_execution(&shared, &instance_id, previous, generation, &tenure).await {
                (Ending::ContinueAsNew, next) => carry = Some(next),
                (Ending::Done, done) => last = Some(done),
                (Ending::Broken(error), done) => {
                    tracing::error!(%error, "instance stopped");
                    last = Some(done);
                }
            }
        }
        shared.router.release(&instance_id, generation);
        // The partition moved away and came back while this task stopped:
        // the new tenure's recovery found the task still here and left the
        // instance to it. A task of the new tenure takes over.
        if shared.is_worker()
            && !shared.ownership.is_current(&tenure)
            && shared.ownership.owns_instance(&instance_id)
            && let Some(spawn) = shared.router.ensure(&instance_id)
        {
            shared.spawn(spawn);
        }
        if let Some(last) = last {
            save_unconsumed_results(&shared, &tenure, last).await;
        }
    }
    .instrument(span)
    .await;
}

/// Commits to the inbox the activity results passed to this task that it did
/// not consume: those it took in and those still queued. No more can arrive
/// once its slot is released.
async fn save_unconsumed_results(shared: &Arc<Shared>, tenure: &Tenure, carry: Carry) {
    let Carry {
        mut wakes,
        unsaved: mut results,
        ..
    } = carry;
    while let Ok(wake) = wakes.try_recv() {
        if let Wake::Result(result) = wake {
            results.push(result);
        }
    }
    if results.is_empty() {
        return;
    }
    let batch = results
        .into_iter()
        .map(ActivityResult::into_inbox)
        .collect();
    if let Err(error) = shared.commit_as_worker(batch, tenure).await {
        tracing::warn!(%error, "activity results not saved; the activities will run again");
    }
}

fn failure_text(failure: &Failure) -> String {
    serde_json::to_string(failure).unwrap_or_default()
}

/// Runs the current execution of an instance from the start, replaying what
/// history holds, then live.
async fn run_execution(
    shared: &Arc<Shared>,
    instance_id: &str,
    Carry {
        mut wakes,
        consumed,
        seed,
        // The previous execution's: continuing as new removed their tasks.
        unsaved: _,
    }: Carry,
    generation: u64,
    tenure: &Tenure,
) -> (Ending, Carry) {
    let mut direct_results = Vec::new();
    let carry = |wakes, consumed, unsaved| Carry {
        wakes,
        consumed,
        seed: None,
        unsaved,
    };
    let (record, history, inbox) = match seed {
        Some(Seed { record, history }) => (record, history, Vec::new()),
        None => {
            // Every message already signalled was committed before it was
            // sent, so the store, read below, has it, unless the previous
            // execution consumed it. Those wakes must not be taken in
            // again: an event it consumed would be applied twice. Results
            // passed straight from the dispatcher are in no store: kept.
            while let Ok(wake) = wakes.try_recv() {
                if let Wake::Result(result) = wake {
                    direct_results.push(result);
                }
            }
            match shared.store.resumable(instance_id).await {
                Ok(Some(found)) if found.record.status == Status::Running => {
                    (found.record, found.history, found.inbox)
                }
                Ok(_) => return (Ending::Done, carry(wakes, consumed, direct_results)),
                Err(error) => {
                    let carry = carry(wakes, consumed, direct_results);
                    return (Ending::Broken(error.to_string()), carry);
                }
            }
        }
    };
    tracing::Span::current().record("execution", record.execution);
    let Some(Event::Started { input, .. }) = history.first().map(|e| e.event.clone()) else {
        let why = format!("execution {} has no start event", record.execution);
        return (Ending::Broken(why), carry(wakes, consumed, direct_results));
    };

    let mut state = OrchestrationState::new(shared.clone(), &record, history, false);
    state.wakes = Some(wakes);
    state.consumed_events = consumed;
    state.generation = generation;
    state.tenure = Some(tenure.clone());
    for message in inbox {
        state.accept(message);
    }
    for result in direct_results {
        state.accept_result(result);
    }
    let component = match shared.registry.load(&record.digest).await {
        Ok(component) => component,
        Err(why) => {
            let batch = finish(&mut state, &record, Err(Failure::new(why.to_string())));
            commit_final(shared, tenure, batch).await;
            return (Ending::Done, state.carry());
        }
    };
    let (result, mut state) = execute(shared, &component, state, &record.name, &input).await;

    let ending = match result {
        Ok(outcome) => {
            let batch = finish(&mut state, &record, outcome);
            commit_final(shared, tenure, batch).await;
            Ending::Done
        }
        Err(Unwind::ContinueAsNew) => {
            let input = state.continue_as_new.take().unwrap_or_default();
            let mut batch = state.take_batch();
            batch.push(Op::ContinueAsNew {
                instance_id: record.id.clone(),
                execution: record.execution,
                input: input.clone(),
                started: HistoryEvent {
                    seq: 0,
                    at: shared.now_ms(),
                    event: Event::Started {
                        name: record.name.clone(),
                        input,
                    },
                },
            });
            match shared.commit_as_worker(batch, tenure).await {
                Ok(_) => Ending::ContinueAsNew,
                Err(e) => {
                    tracing::info!(error = %e, "continue-as-new not committed");
                    Ending::Done
                }
            }
        }
        Err(Unwind::Evicted) => {
            tracing::debug!("evicted while idle");
            Ending::Done
        }
        Err(Unwind::Stopped(why)) => {
            tracing::info!(%why, "stopped");
            Ending::Done
        }
        Err(Unwind::Store(error)) => Ending::Broken(error.to_string()),
        Err(Unwind::Nondeterminism(error)) => {
            tracing::error!(%error, "non-determinism");
            let batch = finish(&mut state, &record, Err(Failure::new(error.to_string())));
            commit_final(shared, tenure, batch).await;
            Ending::Done
        }
    };
    (ending, state.carry())
}

impl OrchestrationState {
    /// Hands the inbox and the consumed events to the next execution.
    fn carry(&mut self) -> Carry {
        Carry {
            wakes: self
                .wakes
                .take()
                .unwrap_or_else(|| tokio::sync::mpsc::unbounded_channel().1),
            consumed: std::mem::take(&mut self.consumed_events),
            seed: None,
            unsaved: self.unconsumed_results(),
        }
    }
}

/// Instantiates the guest and runs it. Traps and limit breaches become the
/// orchestration's failure; host-initiated unwinds are returned as such.
async fn execute(
    shared: &Arc<Shared>,
    component: &crate::component::LoadedComponent,
    state: OrchestrationState,
    name: &str,
    input: &str,
) -> (Result<Outcome, Unwind>, OrchestrationState) {
    let Some((pre, indices)) = &component.orchestration else {
        let failure = Failure::new(format!(
            "component {} holds no orchestrations",
            component.digest
        ));
        return (Ok(Err(failure)), state);
    };
    let sandbox =
        sandbox::orchestration_wasi(&state.instance_id, state.execution, &state.determinism);
    // Held while the guest lives: a hot instance keeps its slot as it waits.
    let _slot = if state.dry_run {
        None
    } else {
        Some(shared.hot_slot().await)
    };
    let guest = shared
        .wasm
        .guest(sandbox, state, shared.wasm.limits.cpu_per_episode);
    let (mut store, instance) = shared.instantiate(pre, guest).await;
    let run = async {
        let guest = indices.load(&mut store, &instance?)?;
        guest.call_run(&mut store, name, &input.to_owned()).await
    };
    let result = match run.await {
        Ok(Ok(output)) => match store.data().state.journal.check_finished() {
            Err(nondeterminism) => Err(Unwind::Nondeterminism(nondeterminism)),
            Ok(()) => {
                let limit = shared.wasm.limits.max_payload_bytes;
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
        Ok(Err(failure)) => Ok(Err(Failure {
            message: failure.message,
            details: failure.details,
        })),
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

/// The batch that ends an execution with its outcome.
fn finish(state: &mut OrchestrationState, record: &InstanceRecord, outcome: Outcome) -> Vec<Op> {
    let mut batch = state.take_batch();
    let (status, output, event) = match &outcome {
        Ok(output) => (
            Status::Completed,
            output.clone(),
            Event::Completed {
                output: output.clone(),
            },
        ),
        Err(failure) => (
            Status::Failed,
            failure_text(failure),
            Event::Failed {
                failure: failure.clone(),
            },
        ),
    };
    batch.push(Op::AppendHistory {
        instance_id: record.id.clone(),
        execution: record.execution,
        events: vec![HistoryEvent {
            seq: state.journal.len() as u32,
            at: state.live_time(),
            event,
        }],
    });
    batch.push(Op::SetStatus {
        instance_id: record.id.clone(),
        status,
        output: Some(output),
    });
    if let Some(parent) = &record.parent {
        let reply = NewMessage::task_result(parent, MessageKind::Child, &outcome);
        batch.push(Op::Send(reply));
    }
    batch
}

async fn commit_final(shared: &Arc<Shared>, tenure: &Tenure, batch: Vec<Op>) {
    if let Err(error) = shared.commit_as_worker(batch, tenure).await {
        tracing::info!(%error, "final episode not committed");
    }
}

impl OrchestrationState {
    pub(crate) fn new(
        shared: Arc<Shared>,
        record: &InstanceRecord,
        history: Vec<HistoryEvent>,
        dry_run: bool,
    ) -> Self {
        let determinism = Determinism::default();
        let journal = Journal::new(&record.id, history);
        determinism.set_time(journal.time());
        let committed_len = journal.len();
        let state = Self {
            directory: shared.clone(),
            shared,
            instance_id: record.id.clone(),
            execution: record.execution,
            digest: record.digest.clone(),
            journal,
            determinism,
            committed_len,
            ops: Vec::new(),
            consumed: Vec::new(),
            tasks: HashMap::new(),
            results: HashMap::new(),
            done: HashMap::new(),
            events: BTreeMap::new(),
            seen: HashSet::new(),
            consumed_events: ConsumedEvents::default(),
            wakes: None,
            generation: 0,
            tenure: None,
            rng: StdRng::from_seed(sandbox::seed(&record.id, record.execution, "context")),
            continue_as_new: None,
            dry_run,
        };
        state.sync_replaying();
        state
    }
}

/// Replays an instance's recorded history against `component` without
/// writing anything: what would this code do with this history?
pub(crate) async fn replay_only(
    shared: &Arc<Shared>,
    component: &crate::component::LoadedComponent,
    record: &InstanceRecord,
    history: Vec<HistoryEvent>,
) -> Result<ReplayVerdict, String> {
    let Some(Event::Started { input, .. }) = history.first().map(|e| e.event.clone()) else {
        return Err("history has no start event".into());
    };
    let state = OrchestrationState::new(shared.clone(), record, history, true);
    let (result, mut state) = execute(shared, component, state, &record.name, &input).await;
    match result {
        Ok(outcome) => Ok(ReplayVerdict::Returned(outcome)),
        Err(Unwind::ContinueAsNew) => Ok(ReplayVerdict::ContinuedAsNew(
            state.continue_as_new.take().unwrap_or_default(),
        )),
        Err(Unwind::Stopped(_)) => Ok(ReplayVerdict::Waiting),
        Err(Unwind::Nondeterminism(error)) => Err(error.to_string()),
        Err(other) => Err(other.to_string()),
    }
}

/// The names a component's orchestrator exports (none if it has none).
pub(crate) async fn names(
    shared: &Arc<Shared>,
    component: &crate::component::LoadedComponent,
) -> Result<Vec<String>, ComponentError> {
    let Some((pre, indices)) = &component.orchestration else {
        return Ok(Vec::new());
    };
    let (record, started) = InstanceRecord::starting(
        "registration".into(),
        "",
        component.digest.clone(),
        "null",
        None,
        0,
    );
    let state = OrchestrationState::new(shared.clone(), &record, vec![started], true);
    let sandbox = sandbox::orchestration_wasi(&record.id, 0, &state.determinism);
    let guest = shared
        .wasm
        .guest(sandbox, state, shared.wasm.limits.cpu_per_episode);
    let (mut store, instance) = shared.instantiate(pre, guest).await;
    let listing = |e: wasmtime::Error| ComponentError::listing("orchestrations", &e);
    let guest = indices
        .load(&mut store, &instance.map_err(listing)?)
        .map_err(listing)?;
    guest.call_orchestrations(&mut store).await.map_err(listing)
}
