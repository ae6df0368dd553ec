//! What the host keeps for one orchestration execution while its guest runs:
//! the journal, the writes of the current episode, and the task results that
//! have arrived but not yet been consumed.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use rand::rngs::StdRng;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::activity::ActivityResult;
use crate::directory::SharedDirectory;
use crate::history::{Event, Outcome};
use crate::ownership::Tenure;
use crate::replay::Journal;
use crate::runtime::{Shared, Wake};
use crate::sandbox::Determinism;
use crate::store::{Message, MessageKind, Op, Waiting};

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

    fn insert(&mut self, id: i64) {
        if self.ids.insert(id) {
            self.order.push_back(id);
        }
        while self.order.len() > Self::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
    }

    fn contains(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }
}

pub(crate) struct OrchestrationState {
    /// What the host calls may look up (`context`).
    pub(crate) directory: SharedDirectory,
    /// The scheduler, for committing episodes and waiting for wakes
    /// (`suspend`, and the driver in this module); host calls never
    /// reach for it.
    pub(super) shared: Arc<Shared>,
    pub(crate) instance_id: String,
    pub(crate) execution: u32,
    pub(crate) digest: String,
    pub(crate) journal: Journal,
    pub(crate) determinism: Determinism,
    /// Index in the journal of the first event not yet committed.
    pub(crate) committed_len: usize,
    /// Writes of the current episode besides history.
    pub(crate) ops: Vec<Op>,
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
    pub(crate) generation: u64,
    /// The partition's ownership its commits are fenced by (`None` for
    /// replay-only runs, which never commit).
    pub(crate) tenure: Option<Tenure>,
    pub(crate) rng: StdRng,
    pub(crate) continue_as_new: Option<String>,
    /// Replay-only runs (the replay check) never wait or write.
    pub(crate) dry_run: bool,
}

impl OrchestrationState {
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
                let outcome =
                    serde_json::from_str::<Outcome>(&message.payload).unwrap_or_else(|e| {
                        Err(crate::history::Failure::new(format!(
                            "unreadable task result: {e}"
                        )))
                    });
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
            Wake::Stop(_) | Wake::Evict => {}
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
                    since: self.shared.now_ms(),
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
}
