//! The instance driver: one tokio task per live instance drives its guest
//! through executions and episodes.
//!
//! An instance is *hot* while its task lives: the guest is suspended inside
//! `await-task` and resumes without replay when a wake arrives. It goes
//! *cold* when it finishes, is evicted after idling, or the host restarts;
//! the next message then replays it from history.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tracing::Instrument;

use super::Shared;
use super::ownership::{Tenure, Unit};
use super::router::Spawn;
use crate::history::{Event, Failure, HistoryEvent};
use crate::roles::activity::ActivityResult;
use crate::roles::orchestration::{self, ConsumedEvents, Driver, OrchestrationState, Unwind, Wake};
use crate::store::{Batch, InstanceRecord, Op, Status, StoreError};
use crate::wasm::guest_log;

/// An instance as the commit that created it wrote it: its record and its
/// history so far (the start event). Every message for it reaches the new
/// task's inbox: those committed after the task was registered by routing,
/// those committed before by the watcher, which reads every new message.
#[derive(Debug)]
pub(crate) struct Seed {
    pub(crate) record: InstanceRecord,
    pub(crate) history: Vec<HistoryEvent>,
}

/// What one execution hands to the next within an instance task.
struct Carry {
    wakes: UnboundedReceiver<Wake>,
    consumed: ConsumedEvents,
    /// The instance as its creation committed it, for the first execution
    /// of a task started by that commit.
    seed: Option<Seed>,
    /// Activity results passed straight to the task and neither consumed nor
    /// committed: the same execution run again takes them in; the task
    /// commits them to the inbox as it ends (a next execution has no use
    /// for them: continuing as new removed their tasks).
    unsaved: Vec<ActivityResult>,
}

impl Carry {
    /// Hands the inbox and the consumed events of `state` to the next
    /// execution.
    fn from_state(state: &mut OrchestrationState) -> Self {
        Carry {
            wakes: state
                .wakes
                .take()
                .unwrap_or_else(|| tokio::sync::mpsc::unbounded_channel().1),
            consumed: std::mem::take(&mut state.consumed_events),
            seed: None,
            unsaved: state.unconsumed_results(),
        }
    }
}

/// How an execution ended.
enum Ending {
    /// The instance moved to its next execution, or was changed by someone
    /// else while it ran (moved to new code); keep driving it as the store
    /// has it now.
    Again,
    /// Nothing more to do in this task.
    Done,
    /// The task cannot go on (the store failed, or history is broken); the
    /// next message tries again.
    Broken(String),
}

/// The way from one instance's guest to the scheduler: its episodes commit
/// under the tenure its task began in, and its idling is the router's.
struct InstanceLink {
    shared: Arc<Shared>,
    instance_id: String,
    generation: u64,
    tenure: Tenure,
}

#[async_trait::async_trait]
impl Driver for InstanceLink {
    /// An episode that sends to a full mailbox waits for room: it commits
    /// again, a little later each time, until the actor has caught up (or
    /// the instance was stopped, or its ownership moved). Its guest holds
    /// an instance slot meanwhile, never an actor's turn, so the actor it
    /// waits for goes on.
    async fn commit(&self, mut batch: Batch) -> Result<(), StoreError> {
        let mut pause = Duration::from_millis(10);
        loop {
            let again = sends_to_bounded_mailboxes(&batch).then(|| batch.clone());
            match self.shared.commit_as_worker(batch, &self.tenure).await {
                Err(StoreError::MailboxFull { actor, capacity }) if again.is_some() => {
                    tracing::debug!(%actor, capacity, "mailbox full; the episode waits for room");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                    batch = again.expect("checked above");
                }
                result => return result,
            }
        }
    }

    fn idle(&self) {
        self.shared
            .sched
            .router
            .idle(&self.instance_id, self.generation);
    }

    fn busy(&self) {
        self.shared
            .sched
            .router
            .busy(&self.instance_id, self.generation);
    }

    fn try_evict(&self, wakes: &UnboundedReceiver<Wake>) -> bool {
        self.shared
            .sched
            .router
            .try_evict(&self.instance_id, self.generation, wakes)
    }

    fn evict_after(&self) -> Duration {
        self.shared.settings.evict_after
    }
}

/// Whether a commit of `batch` may be refused for a full mailbox: only
/// then is it worth keeping a copy to commit again.
fn sends_to_bounded_mailboxes(batch: &Batch) -> bool {
    batch.iter().any(|op| {
        matches!(
            op,
            Op::EnqueueActor {
                capacity: Some(_),
                ..
            } | Op::EnqueueAtomic {
                capacity: Some(_),
                ..
            }
        )
    })
}

/// Starts an instance task; `seed` is what a commit of this process just
/// created, so the task need not read it back.
pub(crate) fn spawn(shared: &Arc<Shared>, (id, wakes, generation): Spawn, seed: Option<Seed>) {
    tokio::spawn(drive(shared.clone(), id, wakes, generation, seed));
}

/// Drives one instance until it finishes, stops or is evicted.
async fn drive(
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
        let tenure = match shared
            .sched
            .ownership
            .tenure(Unit::of_instance(&instance_id))
        {
            Ok(tenure) => tenure,
            Err(why) => {
                tracing::debug!(%why, "not started");
                shared.sched.router.release(&instance_id, generation);
                return;
            }
        };
        let link = Arc::new(InstanceLink {
            shared: shared.clone(),
            instance_id: instance_id.clone(),
            generation,
            tenure: tenure.clone(),
        });
        let mut carry = Some(Carry {
            wakes,
            consumed: ConsumedEvents::default(),
            seed,
            unsaved: Vec::new(),
        });
        let mut last = None;
        while let Some(previous) = carry.take() {
            match run_execution(&link, previous).await {
                (Ending::Again, next) => carry = Some(next),
                (Ending::Done, done) => last = Some(done),
                (Ending::Broken(error), done) => {
                    tracing::error!(%error, "instance stopped");
                    last = Some(done);
                }
            }
        }
        shared.sched.router.release(&instance_id, generation);
        // The partition moved away and came back while this task stopped:
        // the new tenure's recovery found the task still here and left the
        // instance to it. A task of the new tenure takes over.
        if !shared.sched.ownership.is_current(&tenure) {
            shared.run_here(&instance_id, None);
        }
        if let Some(last) = last {
            save_unconsumed_results(&link, last).await;
        }
    }
    .instrument(span)
    .await;
}

/// Commits to the inbox the activity results passed to this task that it did
/// not consume: those it took in and those still queued. No more can arrive
/// once its slot is released.
async fn save_unconsumed_results(link: &InstanceLink, carry: Carry) {
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
    if let Err(error) = link.commit(batch).await {
        tracing::warn!(%error, "activity results not saved; the activities will run again");
    }
}

/// Runs the current execution of an instance from the start, replaying what
/// history holds, then live.
async fn run_execution(
    link: &Arc<InstanceLink>,
    Carry {
        mut wakes,
        mut consumed,
        seed,
        unsaved,
    }: Carry,
) -> (Ending, Carry) {
    let shared = &link.shared;
    // Those of another execution are not taken in (see `accept_result`).
    let mut direct_results = unsaved;
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
            match shared.store.resumable(&link.instance_id).await {
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

    let driver: Arc<dyn Driver> = link.clone();
    let directory = shared.code.directory.clone();
    let mut state = OrchestrationState::new(directory, &record, history, Some(driver));
    state.wakes = Some(wakes);
    // What the store holds unconsumed is unconsumed, whatever an episode
    // that did not commit took in.
    for message in &inbox {
        consumed.remove(message.id);
    }
    state.consumed_events = consumed;
    for message in inbox {
        state.accept(message);
    }
    for result in direct_results {
        state.accept_result(result);
    }
    let component = match shared.code.registry.load(&record.digest).await {
        Ok(component) => component,
        Err(why) => {
            let batch = state.finish(&record, Err(Failure::new(why.to_string())));
            let ending = commit_ending(link, batch, Ending::Done).await;
            return (ending, Carry::from_state(&mut state));
        }
    };
    let (result, mut state) = {
        // Held while the guest lives: a hot instance keeps its slot as it waits.
        let _slot = shared.hot_slot().await;
        orchestration::run(&shared.code.guests, &component, state, &record.name, &input).await
    };

    let ending = match result {
        Ok(outcome) => {
            let batch = state.finish(&record, outcome);
            commit_ending(link, batch, Ending::Done).await
        }
        Err(Unwind::ContinueAsNew) => {
            let batch = state.continue_as_new_batch(&record);
            commit_ending(link, batch, Ending::Again).await
        }
        Err(Unwind::Reload(why)) => {
            tracing::info!(%why, "reading the instance again");
            Ending::Again
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
            let batch = state.finish(&record, Err(Failure::new(error.to_string())));
            commit_ending(link, batch, Ending::Done).await
        }
    };
    (ending, Carry::from_state(&mut state))
}

/// Commits the episode that ends an execution (its outcome, or its
/// continuing as new); `committed` is what the task does next once it is
/// durable. If someone else changed the instance meanwhile (moved it to new
/// code, terminated it), it is read again: what it does next is the store's
/// instance's to say.
async fn commit_ending(link: &InstanceLink, batch: Batch, committed: Ending) -> Ending {
    match link.commit(batch).await {
        Ok(_) => committed,
        Err(StoreError::Conflict(why)) => {
            tracing::info!(%why, "the execution's end not committed; reading the instance again");
            Ending::Again
        }
        Err(error) => {
            tracing::info!(%error, "the execution's end not committed");
            Ending::Done
        }
    }
}
