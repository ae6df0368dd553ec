//! Code: registering components (validated and compiled before anything
//! is stored) and checking them against recorded history.

use sha2::{Digest, Sha256};
use std::sync::Arc;

use super::Runtime;
use crate::error::Error;
use crate::history::Event;
use crate::roles::orchestration::{self, ReplayVerdict};
use crate::roles::{activity, actor};
use crate::store::{InstanceRecord, Op, Resumable, Role};
use crate::wasm::{ComponentStats, LoadedComponent};

/// What registering a component found in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ComponentInfo {
    /// sha256 of the bytes, hex.
    pub digest: String,
    /// Orchestrations it exports.
    pub orchestrations: Vec<String>,
    /// Activities it exports.
    pub activities: Vec<String>,
    /// Actor kinds it implements.
    pub actors: Vec<String>,
}

/// A compiled component and what it exports, not stored yet.
pub(super) struct Inspected {
    pub(super) info: ComponentInfo,
    pub(super) loaded: Arc<LoadedComponent>,
    compiled: Option<Vec<u8>>,
}

impl Runtime {
    /// Compiles and checks a component on a blocking thread (a large guest
    /// takes seconds): its digest, the component, its serialized code.
    pub(super) async fn compile(
        &self,
        bytes: &[u8],
    ) -> Result<(String, Arc<LoadedComponent>, Option<Vec<u8>>), Error> {
        let digest = hex::encode(Sha256::digest(bytes));
        let components = self.shared.code.registry.components().clone();
        let (key, bytes) = (digest.clone(), bytes.to_vec());
        let (loaded, compiled) = tokio::task::spawn_blocking(move || components.load(&key, &bytes))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        Ok((digest, Arc::new(loaded), compiled))
    }

    /// Validates a component and registers the names it exports. Registering
    /// the same bytes again is harmless; new instances take the newest.
    pub async fn register(&self, bytes: &[u8]) -> Result<ComponentInfo, Error> {
        let inspected = self.inspect(bytes).await?;
        self.store_component(bytes, inspected).await
    }

    /// Compiles a component and lists what it exports, storing nothing.
    pub(super) async fn inspect(&self, bytes: &[u8]) -> Result<Inspected, Error> {
        let (digest, loaded, compiled) = self.compile(bytes).await?;
        let code = &self.shared.code;
        let (guests, directory) = (&code.guests, &code.directory);
        let info = ComponentInfo {
            digest,
            orchestrations: orchestration::names(guests, directory, &loaded).await?,
            activities: activity::names(guests, &loaded).await?,
            actors: actor::kinds(guests, directory, &loaded).await?,
        };
        Ok(Inspected {
            info,
            loaded,
            compiled,
        })
    }

    /// Stores an inspected component and registers its names.
    pub(super) async fn store_component(
        &self,
        bytes: &[u8],
        Inspected {
            info,
            loaded,
            compiled,
        }: Inspected,
    ) -> Result<ComponentInfo, Error> {
        let code = &self.shared.code;
        let digest = info.digest.clone();
        let names = info
            .orchestrations
            .iter()
            .map(|n| (Role::Orchestration, n.clone()))
            .chain(info.activities.iter().map(|n| (Role::Activity, n.clone())))
            .chain(info.actors.iter().map(|n| (Role::Actor, n.clone())))
            .collect();
        let mut batch = vec![Op::RegisterComponent {
            digest: digest.clone(),
            bytes: bytes.to_vec(),
            names,
            at: self.shared.now_ms(),
        }];
        if let Some(compiled) = compiled {
            batch.push(Op::CacheCompiled {
                digest: digest.clone(),
                engine: code.guests.engine().compatibility_key().to_owned(),
                bytes: compiled,
            });
        }
        self.shared.commit(batch).await?;
        code.registry.insert_compiled(loaded);
        code.registry.refresh().await?;
        Ok(info)
    }

    /// Replays an instance's history against its component, or against
    /// `bytes` (new code to be rolled out), and reports whether the code
    /// makes the same calls and (if finished) returns the same result.
    pub async fn replay_check(
        &self,
        instance_id: &str,
        bytes: Option<&[u8]>,
    ) -> Result<ReplayVerdict, Error> {
        let Resumable {
            record, history, ..
        } = self
            .shared
            .store
            .resumable(instance_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no instance {instance_id}")))?;
        let component = match bytes {
            Some(bytes) => self.compile(bytes).await?.1,
            None => self
                .shared
                .code
                .registry
                .load(&record.digest)
                .await
                .map_err(Error::InvalidComponent)?,
        };
        let recorded_end = history.last().map(|e| e.event.clone());
        let code = &self.shared.code;
        let verdict =
            orchestration::replay_only(&code.guests, &code.directory, &component, &record, history)
                .await
                .map_err(|e| Error::Nondeterminism(e.to_string()))?;
        let expected = match recorded_end {
            Some(Event::Completed { output }) => Some(Ok(output)),
            Some(Event::Failed { failure }) => Some(Err(failure)),
            _ => None,
        };
        match (&verdict, expected) {
            (ReplayVerdict::Returned(got), Some(want)) if *got != want => {
                Err(Error::Nondeterminism(format!(
                    "replay of instance {instance_id} returned {got:?} but history recorded {want:?}"
                )))
            }
            (ReplayVerdict::Waiting, Some(_)) => Err(Error::Nondeterminism(format!(
                "replay of instance {instance_id} waits for more than its finished history holds"
            ))),
            _ => Ok(verdict),
        }
    }

    /// How this process came by its components: compiled, or loaded from
    /// the compiled code in the store.
    pub fn component_stats(&self) -> ComponentStats {
        self.shared.code.registry.stats()
    }

    /// Runs orchestration `name` on `input` from its start, with the newest
    /// registered component, in its sandbox, recording and writing nothing:
    /// what would its first episode do? `Waiting` when it would wait for a
    /// task. What `reprise bench instantiate` measures.
    pub async fn dry_run(&self, name: &str, input: &str) -> Result<ReplayVerdict, Error> {
        self.check_payload("input", input)?;
        let digest = self.orchestration_digest(name).await?;
        let code = &self.shared.code;
        let component = code.registry.load(&digest).await?;
        let (record, started) = InstanceRecord::starting(
            "dry-run".into(),
            name,
            digest,
            input,
            None,
            self.shared.now_ms(),
        );
        orchestration::replay_only(
            &code.guests,
            &code.directory,
            &component,
            &record,
            vec![started],
        )
        .await
        .map_err(|e| Error::Nondeterminism(e.to_string()))
    }
}
