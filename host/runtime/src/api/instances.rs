//! Instances: starting them, sending them events, steering them
//! (terminate, suspend, resume, purge), and reading what they are.

use super::Runtime;
use crate::error::Error;
use crate::history::HistoryEvent;
use crate::ids::random_id;
use crate::names::{self, NameKind};
use crate::sched::Reaction;
use crate::store::{Batch, InstanceQuery, InstanceRecord, Op, Status};

/// Options for [`Runtime::start`].
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The instance id; a random one when `None`.
    pub instance_id: Option<String>,
    /// Keep every execution on the code the instance starts on, instead of
    /// moving to the newest registered version when it continues as new.
    pub pinned: bool,
}

impl Runtime {
    /// Starts an orchestration by registered name; returns the instance id.
    pub async fn start(
        &self,
        name: &str,
        input: &str,
        options: StartOptions,
    ) -> Result<String, Error> {
        let (id, batch) = self.start_batch(name, input, options).await?;
        self.shared.commit(batch).await?;
        Ok(id)
    }

    /// What a start commits, and the new instance's id.
    pub(super) async fn start_batch(
        &self,
        name: &str,
        input: &str,
        options: StartOptions,
    ) -> Result<(String, Batch), Error> {
        self.check_payload("input", input)?;
        let digest = self.orchestration_digest(name).await?;
        let id = options.instance_id.unwrap_or_else(random_id);
        names::check(NameKind::InstanceId, &id)?;
        let at = self.shared.now_ms();
        let (mut record, started) =
            InstanceRecord::starting(id.clone(), name, digest, input, None, at);
        record.pinned = options.pinned;
        Ok((id, vec![Op::CreateInstance { record, started }]))
    }

    /// Sends an external event to an instance. It waits in the instance's
    /// inbox until the orchestration asks for it. Unknown or finished
    /// instances are an error, never a silent drop.
    pub async fn raise_event(
        &self,
        instance_id: &str,
        name: &str,
        data: &str,
    ) -> Result<(), Error> {
        let batch = self.event_batch(instance_id, name, data)?;
        self.shared.commit(batch).await?;
        Ok(())
    }

    /// What raising an event commits.
    pub(super) fn event_batch(
        &self,
        instance_id: &str,
        name: &str,
        data: &str,
    ) -> Result<Batch, Error> {
        names::check(NameKind::InstanceId, instance_id)?;
        names::check(NameKind::EventName, name)?;
        self.check_payload("event data", data)?;
        Ok(vec![super::reissue::event(instance_id, name, data)])
    }

    async fn set_status(
        &self,
        instance_id: &str,
        from: &[Status],
        to: Status,
        output: Option<String>,
    ) -> Result<(), Error> {
        let record = self.status(instance_id).await?;
        if !from.contains(&record.status) {
            return Err(Error::Conflict(format!(
                "instance {instance_id} is {}",
                record.status.as_str()
            )));
        }
        let mut batch = Vec::new();
        if record.status == Status::Running {
            batch.push(Op::ExpectRunning {
                instance_id: instance_id.to_owned(),
                execution: record.execution,
                digest: None,
            });
        }
        batch.push(Op::SetStatus {
            instance_id: instance_id.to_owned(),
            status: to,
            output: output.or(record.output),
            at: self.shared.now_ms(),
        });
        self.shared.commit(batch).await?;
        Ok(())
    }

    /// Stops an instance for good.
    pub async fn terminate(&self, instance_id: &str, reason: &str) -> Result<(), Error> {
        let reason = serde_json::to_string(reason).unwrap_or_default();
        self.set_status(
            instance_id,
            &[Status::Running, Status::Suspended],
            Status::Terminated,
            Some(reason),
        )
        .await?;
        self.stop_here(instance_id, "terminated").await;
        Ok(())
    }

    /// Pauses an instance; messages keep arriving and wait for [`Runtime::resume`].
    pub async fn suspend(&self, instance_id: &str) -> Result<(), Error> {
        self.set_status(instance_id, &[Status::Running], Status::Suspended, None)
            .await?;
        self.stop_here(instance_id, "suspended").await;
        Ok(())
    }

    /// Resumes a suspended instance (replaying it from history).
    pub async fn resume(&self, instance_id: &str) -> Result<(), Error> {
        self.set_status(instance_id, &[Status::Suspended], Status::Running, None)
            .await?;
        let run = Reaction::Run(instance_id.to_owned(), None);
        self.shared.react(vec![run]).await;
        Ok(())
    }

    /// Deletes a finished instance with its history.
    pub async fn purge(&self, instance_id: &str) -> Result<(), Error> {
        self.shared
            .commit(vec![Op::Purge {
                instance_id: instance_id.to_owned(),
            }])
            .await?;
        Ok(())
    }

    /// An instance's status, output and custom status.
    pub async fn status(&self, instance_id: &str) -> Result<InstanceRecord, Error> {
        self.shared
            .store
            .instance(instance_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no instance {instance_id}")))
    }

    /// The current execution's history.
    pub async fn history(&self, instance_id: &str) -> Result<Vec<HistoryEvent>, Error> {
        let record = self.status(instance_id).await?;
        Ok(self
            .shared
            .store
            .history(instance_id, record.execution)
            .await?)
    }

    /// What this runtime has done since it started, and the store's depths
    /// now (instances by status, queued work).
    pub async fn metrics(&self) -> Result<crate::metrics::Metrics, Error> {
        let store = self.shared.store.counts().await?;
        let hot = self.shared.sched.router.hot_count() as u64;
        let activities = self.activity_load().await?;
        Ok(self.shared.counters.snapshot(store, hot, activities))
    }

    /// How each activity's tasks stand on every host (waiting, running in
    /// a slot), with the limits this process applies to it.
    pub async fn activity_load(&self) -> Result<Vec<crate::metrics::ActivityLoad>, Error> {
        let flows = self
            .shared
            .store
            .activity_flow(self.shared.now_ms())
            .await?;
        let limits = self.shared.sched.flow.limits();
        let mut load: Vec<crate::metrics::ActivityLoad> = flows
            .into_iter()
            .map(|flow| crate::metrics::ActivityLoad {
                limits: limits.get(&flow.name).cloned(),
                waiting: flow.scheduled.saturating_sub(flow.running),
                running: flow.running,
                name: flow.name,
            })
            .collect();
        for (name, limits) in limits {
            if !load.iter().any(|l| &l.name == name) {
                load.push(crate::metrics::ActivityLoad {
                    name: name.clone(),
                    waiting: 0,
                    running: 0,
                    limits: Some(limits.clone()),
                });
            }
        }
        load.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(load)
    }

    /// The instances `query` asks for, newest first.
    pub async fn list(&self, query: &InstanceQuery) -> Result<Vec<InstanceRecord>, Error> {
        Ok(self.shared.store.instances(query).await?)
    }

    /// Stops the instance's task if it is hot in this process; the commit
    /// that changed its status has already made that durable.
    async fn stop_here(&self, instance_id: &str, why: &str) {
        let stop = Reaction::Stop {
            instance_id: instance_id.to_owned(),
            why: why.to_owned(),
        };
        self.shared.react(vec![stop]).await;
    }
}
