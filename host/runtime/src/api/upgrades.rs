//! Upgrades: moving live instances to new code without changing their
//! past. The plan replays the history of every live instance of the
//! orchestrations a component exports against that component, writing
//! nothing, and gives each a verdict; applying it moves the compatible
//! instances, each in a commit that checks its history has not grown since
//! it was checked. Incompatible ones keep running their own code.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::Runtime;
use crate::error::Error;
use crate::roles::orchestration::{self, ReplayError, ReplayVerdict};
use crate::sched::Shared;
use crate::store::{InstanceCursor, InstanceQuery, InstanceRecord, Op, Status, StoreError};
use crate::wasm::{ComponentError, LoadedComponent};

/// What replaying an instance's history against new code found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Compatibility {
    /// The new code makes the same calls, with the same arguments, up to
    /// the point history reached.
    Compatible,
    /// At history position `position` the new code asks for something else.
    Diverges {
        /// The position.
        position: u32,
        /// What history holds there.
        recorded: String,
        /// What the new code asked for.
        requested: String,
    },
    /// The new code fails on this history, with the guest's message.
    Fails {
        /// Why.
        message: String,
    },
}

/// One live instance in an upgrade plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedInstance {
    /// The instance.
    pub instance_id: String,
    /// Its orchestration.
    pub name: String,
    /// Running or suspended.
    pub status: Status,
    /// Its current execution, the one checked.
    pub execution: u32,
    /// The component it runs now.
    pub from: String,
    /// Whether it stays on its code (an upgrade does not move it).
    pub pinned: bool,
    /// How many events of its history were replayed.
    pub events: u32,
    /// The verdict.
    #[serde(flatten)]
    pub compatibility: Compatibility,
}

/// The verdict for every live instance the new code could take over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradePlan {
    /// The new code.
    pub digest: String,
    /// The orchestrations it exports: the live instances of these, on other
    /// code, were checked.
    pub orchestrations: Vec<String>,
    /// The instances, in the order they were listed (newest first by name).
    pub instances: Vec<PlannedInstance>,
}

/// How many instances got each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlanTotals {
    /// Compatible.
    pub compatible: usize,
    /// Diverging.
    pub diverges: usize,
    /// Failing.
    pub fails: usize,
}

impl UpgradePlan {
    /// The number of instances per verdict.
    pub fn totals(&self) -> PlanTotals {
        let mut totals = PlanTotals::default();
        for instance in &self.instances {
            match instance.compatibility {
                Compatibility::Compatible => totals.compatible += 1,
                Compatibility::Diverges { .. } => totals.diverges += 1,
                Compatibility::Fails { .. } => totals.fails += 1,
            }
        }
        totals
    }
}

/// What applying an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradeReport {
    /// The plan as it stood when the moves were made: an instance whose
    /// history grew while it was moved was checked again.
    pub plan: UpgradePlan,
    /// The instances moved to the new code.
    pub moved: Vec<String>,
    /// Compatible instances left where they are, and why (pinned, finished
    /// meanwhile).
    pub kept: Vec<KeptInstance>,
}

/// A compatible instance an upgrade did not move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptInstance {
    /// The instance.
    pub instance_id: String,
    /// Why it was not moved.
    pub why: String,
}

/// Rounds of checking again an instance whose history grew between its
/// check and its move, before it is left where it is.
const MAX_RECHECKS: usize = 5;

impl Runtime {
    /// The upgrade plan for new code not registered yet: compiles `bytes`
    /// (validating them) and checks every live instance it could take
    /// over. Writes nothing.
    pub async fn upgrade_plan(&self, bytes: &[u8]) -> Result<UpgradePlan, Error> {
        let (digest, component, _) = self.compile(bytes).await?;
        self.plan_for(&digest, component).await
    }

    /// The upgrade plan for a registered component. Writes nothing.
    pub async fn upgrade_plan_for(&self, digest: &str) -> Result<UpgradePlan, Error> {
        let component = self.registered_component(digest).await?;
        self.plan_for(digest, component).await
    }

    /// Registers `bytes` and moves every compatible, unpinned live instance
    /// of the orchestrations they export to them. Code that exports no
    /// orchestration is refused before anything is stored.
    pub async fn upgrade(&self, bytes: &[u8]) -> Result<UpgradeReport, Error> {
        let inspected = self.inspect(bytes).await?;
        no_orchestrations(&inspected.info.digest, &inspected.info.orchestrations)?;
        let info = self.store_component(bytes, inspected).await?;
        self.upgrade_to(&info.digest).await
    }

    /// Moves every compatible, unpinned live instance of the orchestrations
    /// a registered component exports to it.
    pub async fn upgrade_to(&self, digest: &str) -> Result<UpgradeReport, Error> {
        let component = self.registered_component(digest).await?;
        let mut plan = self.plan_for(digest, component.clone()).await?;
        let (mut moved, mut kept) = (Vec::new(), Vec::new());
        let mut to_move: Vec<PlannedInstance> = Vec::new();
        for instance in &plan.instances {
            match (&instance.compatibility, instance.pinned) {
                (Compatibility::Compatible, false) => to_move.push(instance.clone()),
                (Compatibility::Compatible, true) => kept.push(KeptInstance {
                    instance_id: instance.instance_id.clone(),
                    why: "pinned to its code".into(),
                }),
                _ => {}
            }
        }
        for round in 0..=MAX_RECHECKS {
            if to_move.is_empty() {
                break;
            }
            let mut refused = Vec::new();
            for (instance, result) in self.commit_moves(digest, to_move).await {
                match result {
                    Ok(()) => moved.push(instance.instance_id),
                    Err(why) => refused.push((instance.instance_id, why)),
                }
            }
            let ids: Vec<String> = refused.iter().map(|(id, _)| id.clone()).collect();
            let records = if round == MAX_RECHECKS {
                Vec::new()
            } else {
                self.read_live(&ids, digest).await?
            };
            // Those that finished or moved elsewhere stay; those whose
            // history grew are checked again as they are now.
            for (id, why) in refused {
                if !records.iter().any(|r| r.id == id) {
                    kept.push(KeptInstance {
                        instance_id: id,
                        why,
                    });
                }
            }
            to_move = Vec::new();
            for instance in check_all(&self.shared, &component, records).await? {
                if let Some(entry) = plan
                    .instances
                    .iter_mut()
                    .find(|p| p.instance_id == instance.instance_id)
                {
                    *entry = instance.clone();
                }
                if instance.compatibility == Compatibility::Compatible && !instance.pinned {
                    to_move.push(instance);
                }
            }
        }
        moved.sort();
        Ok(UpgradeReport { plan, moved, kept })
    }

    /// A registered component, loaded (from the registry's cache when it
    /// can); not found if the store holds no component with this digest
    /// (components are stored only by registering them).
    pub(super) async fn registered_component(
        &self,
        digest: &str,
    ) -> Result<Arc<LoadedComponent>, Error> {
        match self.shared.code.registry.load(digest).await {
            Ok(component) => Ok(component),
            Err(missing @ ComponentError::Missing(_)) => Err(Error::NotFound(missing.to_string())),
            Err(other) => Err(Error::InvalidComponent(other)),
        }
    }

    /// Checks the live instances of the orchestrations `component` exports
    /// that run other code.
    async fn plan_for(
        &self,
        digest: &str,
        component: Arc<LoadedComponent>,
    ) -> Result<UpgradePlan, Error> {
        let code = &self.shared.code;
        let orchestrations =
            orchestration::names(&code.guests, &code.directory, &component).await?;
        no_orchestrations(digest, &orchestrations)?;
        let mut live = Vec::new();
        for name in &orchestrations {
            for status in [Status::Running, Status::Suspended] {
                live.extend(self.list_all(name, status).await?);
            }
        }
        live.retain(|record| record.digest != digest);
        let instances = check_all(&self.shared, &component, live).await?;
        Ok(UpgradePlan {
            digest: digest.to_owned(),
            orchestrations,
            instances,
        })
    }

    /// Every instance of orchestration `name` with `status`, page by page.
    async fn list_all(&self, name: &str, status: Status) -> Result<Vec<InstanceRecord>, Error> {
        const PAGE: usize = 1_000;
        let mut all = Vec::new();
        let mut query = InstanceQuery {
            status: Some(status),
            name: Some(name.to_owned()),
            limit: PAGE,
            ..InstanceQuery::default()
        };
        loop {
            let page = self.shared.store.instances(&query).await?;
            let Some(last) = page.last() else { break };
            query.after = Some(InstanceCursor::after(last));
            let full = page.len() == PAGE;
            all.extend(page);
            if !full {
                break;
            }
        }
        Ok(all)
    }

    /// The instances of `ids` that are still live and not on `digest`.
    async fn read_live(&self, ids: &[String], digest: &str) -> Result<Vec<InstanceRecord>, Error> {
        let mut records = Vec::new();
        for id in ids {
            if let Some(record) = self.shared.store.instance(id).await?
                && !record.status.is_final()
                && record.digest != digest
            {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// Commits one move per instance, all at once (the store groups them);
    /// an instance whose move was refused comes back with why.
    async fn commit_moves(
        &self,
        digest: &str,
        instances: Vec<PlannedInstance>,
    ) -> Vec<(PlannedInstance, Result<(), String>)> {
        let mut commits = JoinSet::new();
        for instance in instances {
            let shared = self.shared.clone();
            let op = Op::MoveInstance {
                instance_id: instance.instance_id.clone(),
                execution: instance.execution,
                from: instance.from.clone(),
                to: digest.to_owned(),
                events: instance.events,
                at: shared.now_ms(),
            };
            commits.spawn(async move {
                let result = match shared.commit(vec![op]).await {
                    Ok(()) => Ok(()),
                    Err(StoreError::Conflict(why) | StoreError::NotFound(why)) => Err(why),
                    Err(other) => Err(other.to_string()),
                };
                (instance, result)
            });
        }
        let mut results = Vec::new();
        while let Some(joined) = commits.join_next().await {
            if let Ok(result) = joined {
                results.push(result);
            }
        }
        results
    }
}

/// Code that exports no orchestration can take over no instance.
fn no_orchestrations(digest: &str, orchestrations: &[String]) -> Result<(), Error> {
    if orchestrations.is_empty() {
        return Err(Error::InvalidInput(format!(
            "component {digest} exports no orchestrations: it can take over no instance"
        )));
    }
    Ok(())
}

/// Replays each instance's current history against `component`, a few at
/// a time and on blocking threads: a plan over thousands of instances
/// must not stall the worker's async threads. Keeps the instances' order.
async fn check_all(
    shared: &Arc<Shared>,
    component: &Arc<LoadedComponent>,
    records: Vec<InstanceRecord>,
) -> Result<Vec<PlannedInstance>, Error> {
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
    let permits = Arc::new(Semaphore::new(parallel));
    let mut checks = JoinSet::new();
    for (index, record) in records.into_iter().enumerate() {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let history = shared.store.history(&record.id, record.execution).await?;
        let (shared, component) = (shared.clone(), component.clone());
        let handle = tokio::runtime::Handle::current();
        checks.spawn_blocking(move || {
            let _permit = permit;
            let events = history.len() as u32;
            let code = &shared.code;
            let replay = orchestration::replay_only(
                &code.guests,
                &code.directory,
                &component,
                &record,
                history,
            );
            let compatibility = verdict(handle.block_on(replay));
            let planned = PlannedInstance {
                instance_id: record.id,
                name: record.name,
                status: record.status,
                execution: record.execution,
                from: record.digest,
                pinned: record.pinned,
                events,
                compatibility,
            };
            (index, planned)
        });
    }
    let mut checked = Vec::new();
    while let Some(joined) = checks.join_next().await {
        checked.push(joined.map_err(|e| Error::Internal(e.to_string()))?);
    }
    checked.sort_by_key(|(index, _)| *index);
    Ok(checked.into_iter().map(|(_, planned)| planned).collect())
}

/// The verdict of a replay of a live instance's history.
pub(super) fn verdict(replayed: Result<ReplayVerdict, ReplayError>) -> Compatibility {
    match replayed {
        Ok(ReplayVerdict::Returned(Err(failure))) => Compatibility::Fails {
            message: failure.message,
        },
        Ok(_) => Compatibility::Compatible,
        Err(ReplayError::Diverged(diverged)) => Compatibility::Diverges {
            position: diverged.position,
            recorded: diverged.recorded,
            requested: diverged.requested,
        },
        Err(ReplayError::Broken(message)) => Compatibility::Fails { message },
    }
}
