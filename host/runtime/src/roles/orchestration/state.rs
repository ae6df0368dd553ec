//! What the host keeps for one orchestration execution while its guest runs:
//! the journal, the writes of the current episode, and the task results that
//! have arrived but not yet been consumed.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::mpsc::UnboundedReceiver;

use super::{Driver, Wake};
use crate::history::{Event, Failure, HistoryEvent, Outcome};
use crate::replay::Journal;
use crate::roles::activity::ActivityResult;
use crate::roles::directory::SharedDirectory;
use crate::store::{
    ActorId, Batch, InstanceRecord, Message, MessageKind, NewMessage, Op, Status, Waiting,
};
use crate::wasm::sandbox::{self, Determinism};

#[cfg(test)]
mod tests;

/// What a task is, as far as awaiting it is concerned.
#[derive(Debug, Clone)]
pub(crate) enum TaskKind {
    /// Completed by a message carrying the task's id.
    Result,
    /// Completed by the oldest unconsumed event of this name.
    Event(String),
}

/// How a task result reached the instance, which decides what consuming it
/// writes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arrival {
    /// A committed inbox message, deleted when consumed.
    Inbox(i64),
    /// Passed straight from the activity dispatcher, not yet committed:
    /// consuming it removes the activity task (the row id); if the episode
    /// ends without consuming it, it is committed to the inbox.
    Direct(i64),
}

/// Why the guest was unwound by the host rather than returning.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unwind {
    /// `continue-as-new` was called.
    #[error("continued as new")]
    ContinueAsNew,
    /// Idle too long: unloaded; the next message replays it.
    #[error("evicted while idle")]
    Evicted,
    /// Terminated, suspended or otherwise changed by someone else.
    #[error("stopped: {0}")]
    Stopped(String),
    /// Changed by someone else while it ran: moved to new code, or an
    /// episode's commit found the instance not as this guest left it. The
    /// driver reads the instance again and runs it as the store has it.
    #[error("reloading: {0}")]
    Reload(String),
    /// The code diverged from history.
    #[error(transparent)]
    Nondeterminism(#[from] crate::replay::Nondeterminism),
    /// The store failed while committing an episode.
    #[error("store failed: {0}")]
    Store(#[source] crate::store::StoreError),
}

/// Events this instance consumed, kept across its executions. A copy of a
/// message can still be on its way after it was consumed (the router and the
/// cross-process watcher may each deliver it once, moments apart); once the
/// event's execution has continued as new, only this set tells the copy from
/// a new event. Copies arrive within a watcher period, so the most recent ids
/// suffice.
#[derive(Debug, Default)]
pub(crate) struct ConsumedEvents {
    order: VecDeque<i64>,
    ids: HashSet<i64>,
}

impl ConsumedEvents {
    const KEEP: usize = 65_536;

    pub(crate) fn insert(&mut self, id: i64) {
        if self.ids.insert(id) {
            self.order.push_back(id);
        }
        while self.order.len() > Self::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }

    pub(crate) fn contains(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }

    /// Forgets an id the store still holds unconsumed: the episode that
    /// consumed it never committed.
    pub(crate) fn remove(&mut self, id: i64) {
        if self.ids.remove(&id) {
            self.order.retain(|kept| *kept != id);
        }
    }
}

pub(crate) struct OrchestrationState {
    /// What the host calls may look up (`context`).
    pub(crate) directory: SharedDirectory,
    /// The scheduler that commits its episodes and wakes it (`suspend`);
    /// `None` for replay-only runs (the replay check, listing the names),
    /// which never wait or write. Host calls never reach for it.
    pub(super) driver: Option<Arc<dyn Driver>>,
    pub(crate) instance_id: String,
    pub(crate) execution: u32,
    pub(crate) digest: String,
    pub(crate) journal: Journal,
    pub(crate) determinism: Determinism,
    /// Index in the journal of the first event not yet committed.
    pub(crate) committed_len: usize,
    /// Writes of the current episode besides history.
    pub(crate) ops: Vec<Op>,
    /// Operations the current episode sends to each actor.
    pub(crate) sends: HashMap<ActorId, u64>,
    /// Inbox messages consumed in the current episode.
    pub(crate) consumed: Vec<i64>,
    pub(crate) tasks: HashMap<u32, TaskKind>,
    /// Task results of this execution that arrived, by task.
    pub(crate) results: HashMap<u32, (Arrival, Outcome)>,
    /// Tasks already awaited (live or in replayed history), with the
    /// position of the await event that holds their outcome: awaiting a
    /// task again returns that outcome.
    pub(crate) done: HashMap<u32, usize>,
    /// Unconsumed external events in arrival order: id → (name, payload).
    pub(crate) events: BTreeMap<i64, (String, String)>,
    pub(crate) seen: HashSet<i64>,
    pub(crate) consumed_events: ConsumedEvents,
    pub(crate) wakes: Option<UnboundedReceiver<Wake>>,
    pub(crate) rng: StdRng,
    pub(crate) continue_as_new: Option<String>,
}

impl OrchestrationState {
    /// Counts a send to `target` into the episode. An episode's commit
    /// waits while a mailbox is full, so one that sends an actor more than
    /// its mailbox can ever hold would wait for ever: that send is refused.
    pub(crate) fn count_send(&mut self, target: &ActorId) -> Result<(), String> {
        let capacity = self.directory.mailbox_capacity(&target.kind);
        let sent = self.sends.entry(target.clone()).or_insert(0);
        *sent += 1;
        if *sent > capacity {
            return Err(format!(
                "one episode sends more than {capacity} operations to actor {target}, the bound of its mailbox: await some of them first"
            ));
        }
        Ok(())
    }

    /// The state of an execution about to run from `history`; `driver`
    /// is `None` for a replay-only run.
    pub(crate) fn new(
        directory: SharedDirectory,
        record: &InstanceRecord,
        history: Vec<HistoryEvent>,
        driver: Option<Arc<dyn Driver>>,
    ) -> Self {
        let determinism = Determinism::default();
        let journal = Journal::new(&record.id, history);
        determinism.set_time(journal.time());
        let committed_len = journal.len();
        let state = Self {
            directory,
            driver,
            instance_id: record.id.clone(),
            execution: record.execution,
            digest: record.digest.clone(),
            journal,
            determinism,
            committed_len,
            ops: Vec::new(),
            sends: HashMap::new(),
            consumed: Vec::new(),
            tasks: HashMap::new(),
            results: HashMap::new(),
            done: HashMap::new(),
            events: BTreeMap::new(),
            seen: HashSet::new(),
            consumed_events: ConsumedEvents::default(),
            wakes: None,
            rng: StdRng::from_seed(sandbox::seed(&record.id, record.execution, "context")),
            continue_as_new: None,
        };
        state.sync_replaying();
        state
    }

    /// Takes in a message from the inbox (once, however often it is delivered).
    pub(crate) fn accept(&mut self, message: Message) {
        if !self.seen.insert(message.id) {
            return;
        }
        match message.kind {
            MessageKind::Event if self.consumed_events.contains(message.id) => {}
            MessageKind::Event => {
                let name = message.name.unwrap_or_default();
                self.events.insert(message.id, (name, message.payload));
            }
            MessageKind::Activity
            | MessageKind::Timer
            | MessageKind::Child
            | MessageKind::Actor => {
                if message.execution != Some(self.execution) {
                    return;
                }
                let Some(task) = message.task else { return };
                let outcome = serde_json::from_str::<Outcome>(&message.payload)
                    .unwrap_or_else(|e| Err(Failure::new(format!("unreadable task result: {e}"))));
                self.results
                    .insert(task, (Arrival::Inbox(message.id), outcome));
            }
        }
    }

    /// Takes in an activity result passed straight from the dispatcher; a
    /// result already here for the task (a copy from the inbox) wins.
    pub(crate) fn accept_result(&mut self, result: ActivityResult) {
        if result.execution == self.execution {
            self.results
                .entry(result.task)
                .or_insert((Arrival::Direct(result.task_id), result.outcome));
        }
    }

    /// Takes in whatever a wake carries; stops and evictions are the
    /// caller's business.
    pub(crate) fn take_in(&mut self, wake: Wake) {
        match wake {
            Wake::Message(message) => self.accept(message),
            Wake::Result(result) => self.accept_result(result),
            Wake::Stop(_) | Wake::Evict | Wake::Reload => {}
        }
    }

    /// Takes out the results passed straight from the dispatcher and not
    /// consumed: they must not live only in memory beyond the episode they
    /// arrived in.
    pub(crate) fn unconsumed_results(&mut self) -> Vec<ActivityResult> {
        self.results
            .extract_if(|_, (arrival, _)| matches!(arrival, Arrival::Direct(_)))
            .filter_map(|(task, (arrival, outcome))| match arrival {
                Arrival::Direct(task_id) => Some(ActivityResult {
                    task_id,
                    instance_id: self.instance_id.clone(),
                    execution: self.execution,
                    task,
                    outcome,
                }),
                Arrival::Inbox(_) => None,
            })
            .collect()
    }

    /// The task's result if it is available now. The first time, this
    /// consumes what completed it; after that, the same outcome comes back.
    pub(crate) fn take(&mut self, task: u32) -> Option<Outcome> {
        match self.done.get(&task) {
            Some(&position) => self.journal.awaited_outcome(position).cloned(),
            None => self.consume(task),
        }
    }

    /// Records the event of a live await that returned `task`'s outcome;
    /// the first such event is where later awaits of the task find it.
    pub(crate) fn record_await(&mut self, task: u32, event: Event) {
        self.done.entry(task).or_insert(self.journal.len());
        self.record(event);
    }

    /// Notes that the await event just replayed returned `task`'s outcome.
    pub(crate) fn replayed_await(&mut self, task: u32) {
        let position = self.journal.next_seq() as usize - 1;
        self.done.entry(task).or_insert(position);
    }

    /// Consumes the message or event that completes the task, if it is here.
    fn consume(&mut self, task: u32) -> Option<Outcome> {
        match self.tasks.get(&task)? {
            TaskKind::Result => {
                let (arrival, outcome) = self.results.remove(&task)?;
                match arrival {
                    Arrival::Inbox(id) => self.consumed.push(id),
                    Arrival::Direct(task_id) => {
                        self.ops.push(Op::ConsumeActivity { task_id });
                    }
                }
                Some(outcome)
            }
            TaskKind::Event(name) => {
                let id = self
                    .events
                    .iter()
                    .find(|(_, (event_name, _))| event_name == name)
                    .map(|(id, _)| *id)?;
                let (_, payload) = self.events.remove(&id)?;
                self.consumed.push(id);
                self.consumed_events.insert(id);
                Some(Ok(payload))
            }
        }
    }

    /// Whether the task could be taken now, without taking it.
    pub(crate) fn ready(&self, task: u32) -> bool {
        if self.done.contains_key(&task) {
            return true;
        }
        match self.tasks.get(&task) {
            Some(TaskKind::Result) => self.results.contains_key(&task),
            Some(TaskKind::Event(name)) => self.events.values().any(|(n, _)| n == name),
            None => false,
        }
    }

    /// When a call made live now is recorded: the wall clock, but never
    /// before the latest event, so orchestration time does not go back.
    pub(crate) fn live_time(&self) -> u64 {
        self.directory.now_ms().max(self.journal.time())
    }

    /// Appends a live call to the journal, advancing orchestration time.
    pub(crate) fn record(&mut self, event: Event) {
        self.record_at(self.live_time(), event);
    }

    /// Appends a live call stamped `at` (from [`Self::live_time`]), for a
    /// call whose event holds a time derived from its own.
    pub(crate) fn record_at(&mut self, at: u64, event: Event) {
        self.journal.record(at, event);
        self.determinism.set_time(at);
    }

    pub(crate) fn sync_replaying(&self) {
        self.determinism.set_replaying(self.journal.replaying());
    }

    /// True when the episode has something to commit.
    pub(crate) fn has_writes(&self) -> bool {
        self.journal.len() > self.committed_len
            || !self.ops.is_empty()
            || !self.consumed.is_empty()
            || self
                .results
                .values()
                .any(|(arrival, _)| matches!(arrival, Arrival::Direct(_)))
    }

    /// Drains the episode's writes into one batch, for a guest that blocks
    /// on the tasks `awaited`: the writes, and what it awaits.
    pub(crate) fn take_batch_for_wait(&mut self, awaited: &[u32]) -> Vec<Op> {
        // What the guest awaits changes only as history grows (leaving a
        // wait records its result): a replay that reaches the same wait, or
        // an episode that only stored results for later, finds it recorded.
        let history_grew = self.journal.len() > self.committed_len;
        let mut batch = self.take_batch();
        if history_grew {
            batch.push(Op::SetWaiting {
                instance_id: self.instance_id.clone(),
                waiting: Waiting {
                    execution: self.execution,
                    tasks: awaited.to_vec(),
                    since: self.directory.now_ms(),
                },
            });
        }
        batch
    }

    /// Drains the episode's writes into one batch.
    pub(crate) fn take_batch(&mut self) -> Vec<Op> {
        let mut batch = vec![Op::ExpectRunning {
            instance_id: self.instance_id.clone(),
            execution: self.execution,
            digest: Some(self.digest.clone()),
        }];
        let events = self.journal.since(self.committed_len).to_vec();
        self.committed_len = self.journal.len();
        if !events.is_empty() {
            batch.push(Op::AppendHistory {
                instance_id: self.instance_id.clone(),
                execution: self.execution,
                events,
            });
        }
        batch.append(&mut self.ops);
        self.sends.clear();
        if !self.consumed.is_empty() {
            batch.push(Op::Consume(std::mem::take(&mut self.consumed)));
        }
        // Committed, they come back through the router as inbox messages
        // before the guest runs again.
        batch.extend(
            self.unconsumed_results()
                .into_iter()
                .map(ActivityResult::into_inbox),
        );
        batch
    }

    /// The batch that ends the execution with its outcome: the episode's
    /// writes, the final event and status, and the outcome sent to the
    /// parent of a sub-orchestration.
    pub(crate) fn finish(&mut self, record: &InstanceRecord, outcome: Outcome) -> Batch {
        let mut batch = self.take_batch();
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
                serde_json::to_string(failure).unwrap_or_default(),
                Event::Failed {
                    failure: failure.clone(),
                },
            ),
        };
        let at = self.live_time();
        batch.push(Op::AppendHistory {
            instance_id: record.id.clone(),
            execution: record.execution,
            events: vec![HistoryEvent {
                seq: self.journal.len() as u32,
                at,
                event,
            }],
        });
        batch.push(Op::SetStatus {
            instance_id: record.id.clone(),
            status,
            output: Some(output),
            at,
        });
        if let Some(parent) = &record.parent {
            let reply = NewMessage::task_result(parent, MessageKind::Child, &outcome);
            batch.push(Op::Send(reply));
        }
        batch
    }

    /// The batch that ends the execution by continuing as new: the
    /// episode's writes, and the next execution with the input the guest
    /// gave, started now on the newest registered version of the
    /// orchestration (on the same code if the instance is pinned).
    pub(crate) fn continue_as_new_batch(&mut self, record: &InstanceRecord) -> Batch {
        let input = self.continue_as_new.take().unwrap_or_default();
        let digest = match self.directory.orchestration(&record.name) {
            Some(newest) if !record.pinned => newest,
            _ => self.digest.clone(),
        };
        let mut batch = self.take_batch();
        batch.push(Op::ContinueAsNew {
            instance_id: record.id.clone(),
            execution: record.execution,
            input: input.clone(),
            digest: digest.clone(),
            started: HistoryEvent {
                seq: 0,
                at: self.directory.now_ms(),
                event: Event::Started {
                    name: record.name.clone(),
                    input,
                    digest: Some(digest),
                },
            },
        });
        batch
    }
}
