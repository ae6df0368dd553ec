//! What a commit or a change in the feed sets in motion, as data.
//!
//! A batch this process committed and a change another process committed
//! (read from the store's change feed) turn into the same [`Reaction`]s,
//! and [`Shared::react`] is the one place that carries them out: the
//! decisions are written once, and so are the actions. (Restate's
//! partition state machine, which collects actions for the leader to carry
//! out, is the model.)

use std::sync::Arc;

use super::Shared;
use super::driver::{self, Seed};
use crate::store::{ActivityTask, Change, Committed, InstanceRecord, Message, Op, Status};

/// One thing to do because something was committed.
#[derive(Debug)]
pub(crate) enum Reaction {
    /// Clients waiting for actor call outcomes look for theirs.
    ActorResults,
    /// The instance finished (or was purged): its waiters wake.
    Finished(String),
    /// Every finish waiter looks again (after the change feed was lost).
    FinishedAll,
    /// A committed inbox message: to its instance if hot here, else the
    /// instance starts (if it is this process's to run) and reads it.
    Deliver(Message),
    /// The instance should be running here: start it unless it is hot.
    /// The seed is its record and history as the commit that created it
    /// wrote them, when this process made that commit.
    Run(String, Option<Seed>),
    /// A hot instance stops: it was terminated, suspended or purged.
    Stop { instance_id: String, why: String },
    /// The instance moved to new code: a hot guest replays on it now (a
    /// cold one runs it when its next message comes).
    Reload(String),
    /// A new activity task for the dispatcher.
    Dispatch(ActivityTask),
    /// A loop has work to look at.
    Wake(Loop),
    /// The registered names changed: read them again before what follows.
    RefreshNames,
}

/// The worker loops a reaction can wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loop {
    /// The activity dispatcher (a retry was scheduled).
    Activities,
    /// The timer loop (a timer was scheduled).
    Timers,
    /// The actor dispatcher (an operation was queued).
    Actors,
}

/// What a batch will set in motion once committed, noted op by op before
/// it is handed to the store (which takes it). The messages and activity
/// tasks it inserts come back with their ids in [`Committed`].
#[derive(Debug, Default)]
pub(crate) struct Plan {
    actor_results: bool,
    finished: Vec<String>,
    moved: Vec<String>,
    rerun: Vec<String>,
    created: Vec<Seed>,
    wakes: Vec<Loop>,
}

impl Plan {
    /// Notes what committing `op` will set in motion.
    pub(crate) fn note(&mut self, op: &Op) {
        let wake = match op {
            Op::RetryActivity { .. } => Some(Loop::Activities),
            Op::ScheduleTimer(_) => Some(Loop::Timers),
            Op::EnqueueActor { .. } | Op::EnqueueAtomic { .. } => Some(Loop::Actors),
            Op::PutActorResult { .. } => {
                self.actor_results = true;
                None
            }
            Op::SetStatus {
                instance_id,
                status,
                ..
            } if status.is_final() => {
                self.finished.push(instance_id.clone());
                None
            }
            Op::Purge { instance_id } => {
                self.finished.push(instance_id.clone());
                None
            }
            Op::MoveInstance { instance_id, .. } => {
                self.moved.push(instance_id.clone());
                None
            }
            Op::Rewind { instance_id, .. } => {
                self.rerun.push(instance_id.clone());
                None
            }
            Op::CreateInstance { record, started } => {
                self.created.push(Seed {
                    record: record.clone(),
                    history: vec![started.clone()],
                });
                None
            }
            // A fork writes its instance's history and custom status in
            // the batch that creates it: the seed is all of that.
            Op::AppendHistory {
                instance_id,
                events,
                ..
            } => {
                if let Some(seed) = self.seed_of(instance_id) {
                    seed.history.extend(events.iter().cloned());
                }
                None
            }
            Op::SetCustomStatus {
                instance_id,
                status,
                ..
            } => {
                if let Some(seed) = self.seed_of(instance_id) {
                    seed.record.custom_status.clone_from(status);
                }
                None
            }
            // A seed has no inbox: an instance sent messages in the batch
            // that creates it reads itself from the store instead.
            Op::Send(message) => {
                let id = &message.instance_id;
                if self.seed_of(id).is_some() {
                    self.created.retain(|seed| seed.record.id != *id);
                    self.rerun.push(id.clone());
                }
                None
            }
            _ => None,
        };
        if let Some(wake) = wake
            && !self.wakes.contains(&wake)
        {
            self.wakes.push(wake);
        }
    }

    /// The seed of an instance this batch creates.
    fn seed_of(&mut self, instance_id: &str) -> Option<&mut Seed> {
        self.created
            .iter_mut()
            .find(|seed| seed.record.id == instance_id)
    }

    /// The reactions, now that the batch is committed: waiters first, then
    /// the worker's work.
    pub(crate) fn committed(self, committed: Committed) -> Vec<Reaction> {
        let Committed {
            messages,
            activities,
            ..
        } = committed;
        let mut reactions = Vec::new();
        if self.actor_results {
            reactions.push(Reaction::ActorResults);
        }
        reactions.extend(self.finished.into_iter().map(Reaction::Finished));
        reactions.extend(self.moved.into_iter().map(Reaction::Reload));
        reactions.extend(self.rerun.into_iter().map(|id| Reaction::Run(id, None)));
        reactions.extend(messages.into_iter().map(Reaction::Deliver));
        reactions.extend(
            self.created
                .into_iter()
                .map(|seed| Reaction::Run(seed.record.id.clone(), Some(seed))),
        );
        reactions.extend(activities.into_iter().map(Reaction::Dispatch));
        reactions.extend(self.wakes.into_iter().map(Reaction::Wake));
        reactions
    }
}

/// What a change another process committed sets in motion.
pub(crate) fn of_change(change: Change) -> Vec<Reaction> {
    match change {
        Change::Instance {
            id,
            status: Some(Status::Running),
        } => vec![Reaction::Run(id, None)],
        Change::Instance { id, status } => vec![
            Reaction::Stop {
                instance_id: id.clone(),
                why: status.map_or("purged", Status::as_str).to_owned(),
            },
            Reaction::Finished(id),
        ],
        Change::Moved { id } => vec![Reaction::Reload(id)],
        // Hot instances ignore what they already have; cold ones wake up.
        Change::Message(message) => vec![Reaction::Deliver(message)],
        Change::Registrations => vec![Reaction::RefreshNames],
        Change::Activities => vec![Reaction::Wake(Loop::Activities)],
        Change::Timers => vec![Reaction::Wake(Loop::Timers)],
        Change::Actors => vec![Reaction::Wake(Loop::Actors)],
        Change::ActorResult { .. } => vec![Reaction::ActorResults],
        _ => Vec::new(),
    }
}

/// What recovery sets in motion, from the instances the store holds as
/// running: each runs (where it is this process's), and every loop and
/// waiter looks again.
pub(crate) fn of_recovery(running: Vec<InstanceRecord>) -> Vec<Reaction> {
    let mut reactions: Vec<Reaction> = running
        .into_iter()
        .map(|record| Reaction::Run(record.id, None))
        .collect();
    reactions.extend([
        Reaction::Wake(Loop::Activities),
        Reaction::Wake(Loop::Timers),
        Reaction::Wake(Loop::Actors),
        Reaction::ActorResults,
        Reaction::FinishedAll,
    ]);
    reactions
}

impl Shared {
    /// Carries out reactions in order. Waking waiters and stopping hot
    /// instances happen in any process; running work only in a worker, and
    /// only for the units this process owns.
    pub(crate) async fn react(self: &Arc<Self>, reactions: Vec<Reaction>) {
        for reaction in reactions {
            match reaction {
                Reaction::ActorResults => self.waiters.actor_results.notify_waiters(),
                Reaction::Finished(id) => self.waiters.finished.finished(&id),
                Reaction::FinishedAll => self.waiters.finished.wake_all(),
                Reaction::Stop { instance_id, why } => self.sched.router.stop(&instance_id, &why),
                Reaction::Reload(id) => self.sched.router.reload(&id),
                Reaction::RefreshNames => self.code.directory.refresh_names().await,
                _ if !self.sched.is_worker() => {}
                Reaction::Deliver(message) => {
                    if self.sched.ownership.owns_instance(&message.instance_id)
                        && let Some(spawn) = self.sched.router.deliver(message)
                    {
                        driver::spawn(self, spawn, None);
                    }
                }
                Reaction::Run(id, seed) => self.run_here(&id, seed),
                Reaction::Dispatch(task) => {
                    if let Some(handover) = &*super::lock(&self.sched.activity_handover) {
                        // If the dispatcher has stopped, a scan finds the task.
                        let _ = handover.send(task);
                    }
                }
                Reaction::Wake(Loop::Activities) => self.sched.activity_wake.notify_one(),
                Reaction::Wake(Loop::Timers) => self.sched.timer_wake.notify_one(),
                Reaction::Wake(Loop::Actors) => self.sched.actor_wake.notify_one(),
            }
        }
    }

    /// Starts the instance's task unless it is hot here, if this process
    /// runs the worker and owns the instance's partition.
    pub(crate) fn run_here(self: &Arc<Self>, instance_id: &str, seed: Option<Seed>) {
        if self.sched.is_worker()
            && self.sched.ownership.owns_instance(instance_id)
            && let Some(spawn) = self.sched.router.ensure(instance_id)
        {
            driver::spawn(self, spawn, seed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MessageKind;

    fn create(id: &str) -> Op {
        Op::create_instance(id.into(), "o", "d".into(), "null", None, 1)
    }

    #[test]
    fn a_commit_wakes_waiters_before_it_routes_work() {
        let mut plan = Plan::default();
        let batch = [
            create("child"),
            Op::SetStatus {
                instance_id: "done".into(),
                status: Status::Completed,
                output: None,
                at: 1,
            },
            Op::PutActorResult {
                request_id: "r".into(),
                outcome: "null".into(),
            },
            Op::EnqueueAtomic {
                operations: Vec::new(),
                reply: crate::store::ReplyTo::Nobody,
                capacity: None,
            },
            Op::EnqueueActor {
                operation: crate::store::ActorOperation {
                    target: crate::store::ActorId {
                        kind: "k".into(),
                        key: "a".into(),
                    },
                    operation: "op".into(),
                    input: "null".into(),
                },
                reply: crate::store::ReplyTo::Nobody,
                visible_at: 0,
                capacity: None,
            },
        ];
        batch.iter().for_each(|op| plan.note(op));
        let message = Message {
            id: 7,
            instance_id: "parent".into(),
            execution: None,
            task: None,
            kind: MessageKind::Event,
            name: Some("e".into()),
            payload: "null".into(),
        };
        let committed = Committed {
            messages: vec![message],
            ..Committed::default()
        };
        let reactions: Vec<String> = plan
            .committed(committed)
            .iter()
            .map(|r| match r {
                Reaction::ActorResults => "actor-results".to_owned(),
                Reaction::Finished(id) => format!("finished {id}"),
                Reaction::Deliver(m) => format!("deliver {} to {}", m.id, m.instance_id),
                Reaction::Run(id, seed) => format!("run {id} seeded={}", seed.is_some()),
                Reaction::Wake(what) => format!("wake {what:?}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            reactions,
            [
                "actor-results",
                "finished done",
                "deliver 7 to parent",
                "run child seeded=true",
                // Two operations queued, one wake.
                "wake Actors",
            ]
        );
    }

    #[test]
    fn a_change_elsewhere_reacts_like_the_same_commit_here() {
        let stopped = of_change(Change::Instance {
            id: "a".into(),
            status: Some(Status::Terminated),
        });
        assert!(matches!(
            &stopped[..],
            [Reaction::Stop { instance_id, why }, Reaction::Finished(finished)]
                if instance_id == "a" && why == "terminated" && finished == "a"
        ));
        let purged = of_change(Change::Instance {
            id: "a".into(),
            status: None,
        });
        assert!(matches!(&purged[0], Reaction::Stop { why, .. } if why == "purged"));
        assert!(matches!(
            &of_change(Change::Instance {
                id: "b".into(),
                status: Some(Status::Running),
            })[..],
            [Reaction::Run(id, None)] if id == "b"
        ));
        assert!(matches!(
            &of_change(Change::Timers)[..],
            [Reaction::Wake(Loop::Timers)]
        ));
    }
}
