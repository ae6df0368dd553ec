//! Forks: a new instance that goes on from a point of another's history.
//!
//! What a fork at event #N of an execution sees:
//! - its history is events #0..=#N of that execution, as they were (with
//!   their times), then an `Event::Forked` marker naming the source, then
//!   an `Event::Upgraded` marker when it runs other code than the source
//!   ran at #N. It replays them, and goes on live from there;
//! - every task open at #N (scheduled, not yet awaited to its end) is
//!   issued again for the fork: its activities run again, its timers fire
//!   at the time they were set for, its actor calls are made again (a
//!   fork's calls are its own; the actor applies them again), its
//!   sub-orchestrations start again as children of the fork;
//! - the external events the source took in after #N are raised to the
//!   fork again, in the order it took them, then those still waiting in
//!   the source's inbox;
//! - it is a top-level instance of the same orchestration and input, with
//!   the custom status the source had at #N and the source's pinning.
//!
//! The source is not touched.

use serde::Serialize;

use super::Runtime;
use super::reissue;
use super::upgrades::{Compatibility, verdict};
use crate::error::Error;
use crate::history::{Event, HistoryEvent};
use crate::ids::random_id;
use crate::names::{self, NameKind};
use crate::repair;
use crate::roles::orchestration;
use crate::store::{InstanceRecord, Lineage, Op, ParentRef};

/// Options for [`Runtime::fork`].
#[derive(Debug, Clone, Default)]
pub struct ForkOptions {
    /// The last event of the source's current execution the fork keeps;
    /// by default the last one before the execution ended (its last event
    /// if it has not).
    pub at: Option<u32>,
    /// The fork's id; a random one when `None`.
    pub instance_id: Option<String>,
    /// A registered component to run the fork on instead of the code the
    /// source ran at that point. The kept history must replay on it.
    pub component: Option<String>,
}

/// What a fork made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fork {
    /// The new instance.
    pub instance_id: String,
    /// The instance forked.
    pub from: String,
    /// Its execution.
    pub execution: u32,
    /// The last of its events the fork kept.
    pub at: u32,
    /// The component the fork runs.
    pub digest: String,
    /// The tasks open at the fork point, issued again for the fork.
    pub reissued: Vec<u32>,
    /// How many external events were raised to the fork again.
    pub events: usize,
}

impl Runtime {
    /// Forks instance `source`: a new instance with its history up to an
    /// event, which goes on from there (see the module's description of
    /// what a fork sees). Returns what was made.
    pub async fn fork(&self, source: &str, options: ForkOptions) -> Result<Fork, Error> {
        names::check(NameKind::InstanceId, source)?;
        let record = self.status(source).await?;
        let history = self.shared.store.history(source, record.execution).await?;
        let Some(limit) = repair::fork_limit(&history) else {
            return Err(Error::Conflict(format!("instance {source} has no history")));
        };
        let at = options.at.unwrap_or(limit);
        if at > limit {
            return Err(Error::Conflict(format!(
                "instance {source} can be forked at events #0 to #{limit} of execution {}, \
                 not at #{at}",
                record.execution
            )));
        }
        let id = options.instance_id.unwrap_or_else(random_id);
        names::check(NameKind::InstanceId, &id)?;
        let mut prefix = history[..=at as usize].to_vec();
        let ran_on =
            repair::digest_at(&prefix).map_or_else(|| record.digest.clone(), str::to_owned);
        let digest = match options.component {
            Some(digest) => {
                self.check_replays(&digest, &record, &prefix).await?;
                digest
            }
            None => ran_on.clone(),
        };
        let open: Vec<u32> = repair::open_tasks(&prefix).iter().map(|e| e.seq).collect();
        for &task in &open {
            own_child(&mut prefix[task as usize], &id)?;
        }

        let now = self.shared.now_ms();
        let Event::Started { input, .. } = &prefix[0].event else {
            return Err(Error::Conflict(format!(
                "instance {source}'s history does not begin with its start"
            )));
        };
        let (mut fork, _) =
            InstanceRecord::starting(id.clone(), &record.name, digest.clone(), input, None, now);
        fork.pinned = record.pinned;
        fork.forked_from = Some(Lineage {
            instance_id: source.to_owned(),
            execution: record.execution,
            event: at,
        });
        let custom_status = prefix.iter().rev().find_map(|e| match &e.event {
            Event::CustomStatus { status } => Some(status.clone()),
            _ => None,
        });
        let mut appended = prefix[1..].to_vec();
        appended.push(marker(
            at + 1,
            now,
            Event::Forked {
                instance_id: source.to_owned(),
                execution: record.execution,
                event: at,
            },
        ));
        if digest != ran_on {
            appended.push(marker(
                at + 2,
                now,
                Event::Upgraded {
                    from: ran_on,
                    to: digest.clone(),
                },
            ));
        }

        let mut batch = vec![
            Op::CreateInstance {
                record: fork,
                started: prefix[0].clone(),
            },
            Op::AppendHistory {
                instance_id: id.clone(),
                execution: 0,
                events: appended,
            },
        ];
        if let Some(status) = custom_status {
            batch.push(Op::SetCustomStatus {
                instance_id: id.clone(),
                status,
                at: now,
            });
        }
        let mut reissued = Vec::new();
        for &task in &open {
            let scheduled = &prefix[task as usize];
            if matches!(scheduled.event, Event::EventAwaited { .. }) {
                continue; // an event comes from outside: raised again below
            }
            let to = ParentRef {
                instance_id: id.clone(),
                execution: 0,
                task,
            };
            batch.extend(self.reissue(to, &digest, scheduled).await?);
            reissued.push(task);
        }
        let mut events: Vec<Op> = repair::events_taken_after(&history, at)
            .into_iter()
            .map(|(name, data)| reissue::event(&id, name, data))
            .collect();
        for waiting in self.shared.store.inbox(source).await? {
            if waiting.kind == crate::store::MessageKind::Event {
                let name = waiting.name.unwrap_or_default();
                events.push(reissue::event(&id, &name, &waiting.payload));
            }
        }
        let raised = events.len();
        batch.extend(events);
        self.shared.commit(batch).await?;
        Ok(Fork {
            instance_id: id,
            from: source.to_owned(),
            execution: record.execution,
            at,
            digest,
            reissued,
            events: raised,
        })
    }

    /// Fails unless registered component `digest` exports `record`'s
    /// orchestration and replays `history` without a difference.
    pub(super) async fn check_replays(
        &self,
        digest: &str,
        record: &InstanceRecord,
        history: &[HistoryEvent],
    ) -> Result<(), Error> {
        // The code is named in the request, not its path: one that is not
        // registered is a conflict with what the store holds.
        let component = match self.registered_component(digest).await {
            Err(Error::NotFound(why)) => return Err(Error::Conflict(why)),
            other => other?,
        };
        let code = &self.shared.code;
        let exported = orchestration::names(&code.guests, &code.directory, &component).await?;
        if !exported.contains(&record.name) {
            return Err(Error::Conflict(format!(
                "component {digest} does not export orchestration {:?}",
                record.name
            )));
        }
        let replay = orchestration::replay_only(
            &code.guests,
            &code.directory,
            &component,
            record,
            history.to_vec(),
        )
        .await;
        match verdict(replay) {
            Compatibility::Compatible => Ok(()),
            Compatibility::Diverges {
                position,
                recorded,
                requested,
            } => Err(Error::Conflict(format!(
                "instance {}'s history diverges from component {digest} at #{position}: \
                 history holds {recorded}, the code asks for {requested}",
                record.id
            ))),
            Compatibility::Fails { message } => Err(Error::Conflict(format!(
                "component {digest} fails on instance {}'s history: {message}",
                record.id
            ))),
        }
    }
}

/// A sub-orchestration open at the fork point starts again as the fork's
/// own child, under the id the fork's call would have given it. One
/// started under an id of the guest's choosing cannot: that id is the
/// source's child's.
fn own_child(scheduled: &mut HistoryEvent, fork: &str) -> Result<(), Error> {
    if let Event::ChildScheduled {
        instance_id,
        explicit_id,
        ..
    } = &mut scheduled.event
    {
        if *explicit_id {
            return Err(Error::Conflict(format!(
                "event #{} started sub-orchestration {instance_id} under an id of its own, \
                 which a fork cannot take again: fork before it or after it finished",
                scheduled.seq
            )));
        }
        *instance_id = format!("{fork}:0:{}", scheduled.seq);
    }
    Ok(())
}

fn marker(seq: u32, at: u64, event: Event) -> HistoryEvent {
    HistoryEvent { seq, at, event }
}
