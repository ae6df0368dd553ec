//! Rewinds: a failed instance goes on from before its failure, keeping
//! where it was.
//!
//! What a rewind does to the failed execution, all in one commit:
//! - it cuts history at the await that returned the failure the execution
//!   ended with (at `Failed` itself when the guest failed on its own),
//!   and keeps what it cut inside an `Event::Rewound` marker in its place:
//!   nothing recorded is lost;
//! - the failed task runs again: an activity from its first attempt, an
//!   actor call or atomic call is made again, a failed sub-orchestration
//!   is rewound itself (and its own failed child, and so on);
//! - every other task open at the cut gets its result as it would have:
//!   one the cut events had taken in is delivered again, one waiting in
//!   the inbox stays there, and the activities and timers the failure
//!   dropped are issued again (timers for the time they were set for);
//! - the external events the cut events had taken in are raised again, in
//!   the order they were taken, ahead of those still waiting;
//! - given newer code, the instance moves to it in the same commit, if
//!   the history before the cut replays on it without a difference.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use super::Runtime;
use super::reissue::{self, result_kind};
use crate::error::Error;
use crate::history::{Event, HistoryEvent};
use crate::names::{self, NameKind};
use crate::repair;
use crate::store::{MessageKind, NewMessage, Op, ParentRef, Status};

/// How deep a rewind follows failed sub-orchestrations.
const MAX_DEPTH: usize = 16;

/// Options for [`Runtime::rewind`].
#[derive(Debug, Clone, Default)]
pub struct RewindOptions {
    /// A registered component to move the instance to as it is rewound;
    /// the history before the cut must replay on it.
    pub component: Option<String>,
}

/// What a rewind did to one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rewound {
    /// The instance.
    pub instance_id: String,
    /// Its execution.
    pub execution: u32,
    /// Where history was cut: the position of the `rewound` marker.
    pub cut_at: u32,
    /// The task whose failure was cut, run again; `None` when the guest
    /// failed on its own.
    pub failed_task: Option<u32>,
    /// Open tasks whose results, taken in after the cut, were delivered
    /// again.
    pub redelivered: Vec<u32>,
    /// Open tasks issued again (the failed one among them).
    pub reissued: Vec<u32>,
    /// External events raised again.
    pub events: usize,
    /// The component it runs on now.
    pub digest: String,
    /// Failed sub-orchestrations rewound with it.
    pub children: Vec<Rewound>,
}

type Pending<'a> = Pin<Box<dyn Future<Output = Result<Rewound, Error>> + Send + 'a>>;

impl Runtime {
    /// Rewinds failed instance `instance_id` to before its failure (see
    /// the module's description). A sub-orchestration is rewound through
    /// its parent, which awaits its result.
    pub async fn rewind(
        &self,
        instance_id: &str,
        options: RewindOptions,
    ) -> Result<Rewound, Error> {
        names::check(NameKind::InstanceId, instance_id)?;
        let mut batch = Vec::new();
        let rewound = self
            .rewind_into(instance_id, options.component, 0, &mut batch)
            .await?;
        self.shared.commit(batch).await?;
        Ok(rewound)
    }

    /// Adds the rewind of `id` (and of its failed children) to `batch`.
    fn rewind_into<'a>(
        &'a self,
        id: &'a str,
        component: Option<String>,
        depth: usize,
        batch: &'a mut Vec<Op>,
    ) -> Pending<'a> {
        Box::pin(async move {
            let record = self.status(id).await?;
            if record.status != Status::Failed {
                return Err(Error::Conflict(format!(
                    "instance {id} is {}; only a failed instance is rewound",
                    record.status.as_str()
                )));
            }
            if let (0, Some(parent)) = (depth, &record.parent) {
                return Err(Error::Conflict(format!(
                    "instance {id} is a sub-orchestration of {}: rewind that, and it rewinds this",
                    parent.instance_id
                )));
            }
            if depth > MAX_DEPTH {
                return Err(Error::Conflict(format!(
                    "instance {id} is more than {MAX_DEPTH} sub-orchestrations deep"
                )));
            }
            let execution = record.execution;
            let history = self.shared.store.history(id, execution).await?;
            let Some((cut_at, failed_task)) = repair::rewind_point(&history) else {
                return Err(Error::Conflict(format!(
                    "instance {id}'s history does not end with its failure"
                )));
            };
            let prefix = &history[..cut_at];
            let cut_at = cut_at as u32;
            let digest = component.unwrap_or_else(|| record.digest.clone());
            let now = self.shared.now_ms();
            let cut = history[cut_at as usize..].to_vec();
            batch.push(Op::Rewind {
                instance_id: id.to_owned(),
                execution,
                events: history.len() as u32,
                marker: HistoryEvent {
                    seq: cut_at,
                    at: now,
                    event: Event::Rewound { cut },
                },
                at: now,
            });
            if digest != record.digest {
                self.check_replays(&digest, &record, prefix).await?;
                batch.push(Op::MoveInstance {
                    instance_id: id.to_owned(),
                    execution,
                    from: record.digest.clone(),
                    to: digest.clone(),
                    events: cut_at + 1,
                    at: now,
                });
            }

            let awaited = repair::awaited_outcomes(&history[cut_at as usize..]);
            let inbox = self.shared.store.inbox(id).await?;
            let waiting_result = |task: u32| {
                inbox.iter().any(|m| {
                    m.kind != MessageKind::Event
                        && m.execution == Some(execution)
                        && m.task == Some(task)
                })
            };
            let mut rewound = Rewound {
                instance_id: id.to_owned(),
                execution,
                cut_at,
                failed_task,
                redelivered: Vec::new(),
                reissued: Vec::new(),
                events: 0,
                digest: digest.clone(),
                children: Vec::new(),
            };
            for open in repair::open_tasks(prefix) {
                let task = open.seq;
                let to = ParentRef {
                    instance_id: id.to_owned(),
                    execution,
                    task,
                };
                let kind = result_kind(&open.event);
                let taken = awaited.iter().find(|(t, _)| *t == task);
                if Some(task) == failed_task {
                    if let Event::ChildScheduled { instance_id, .. } = &open.event {
                        let child = self
                            .rewind_into(instance_id, None, depth + 1, batch)
                            .await?;
                        rewound.children.push(child);
                    } else {
                        batch.extend(self.reissue(to, &digest, open).await?);
                        rewound.reissued.push(task);
                    }
                } else if let (Some((_, outcome)), Some(kind)) = (taken, kind)
                    && kind != MessageKind::Event
                {
                    batch.push(Op::Send(NewMessage::task_result(&to, kind, outcome)));
                    rewound.redelivered.push(task);
                } else if !waiting_result(task)
                    && matches!(
                        open.event,
                        Event::ActivityScheduled { .. } | Event::TimerScheduled { .. }
                    )
                {
                    // Dropped when the instance failed; calls to actors and
                    // children are still under way and will answer.
                    batch.extend(self.reissue(to, &digest, open).await?);
                    rewound.reissued.push(task);
                }
            }

            let taken = repair::events_taken_after(&history, cut_at.saturating_sub(1));
            if !taken.is_empty() {
                // Raised again ahead of the events still waiting, which are
                // taken out and put back after them to keep the order.
                let waiting: Vec<_> = inbox
                    .iter()
                    .filter(|m| m.kind == MessageKind::Event)
                    .collect();
                if !waiting.is_empty() {
                    batch.push(Op::Consume(waiting.iter().map(|m| m.id).collect()));
                }
                for (name, data) in &taken {
                    batch.push(reissue::event(id, name, data));
                }
                for message in waiting {
                    let name = message.name.as_deref().unwrap_or_default();
                    batch.push(reissue::event(id, name, &message.payload));
                }
                rewound.events = taken.len();
            }
            Ok(rewound)
        })
    }
}
