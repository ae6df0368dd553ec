//! Components by content digest, and the names they provide. A name maps to
//! the newest component registered for it; a running instance keeps the
//! digest it started with.
//!
//! A component is made ready once per process: from its compiled code in
//! the store, else compiled from its wasm. Either runs on a blocking thread
//! (compiling a large guest takes seconds), and instances that ask for the
//! same digest meanwhile wait for that one load.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::OnceCell;

use super::component::{ComponentError, Components, LoadedComponent};
use crate::store::{Op, Role, Store};

#[derive(Debug, Default)]
struct Names {
    orchestrations: HashMap<String, String>,
    /// Every digest providing the activity, oldest first.
    activities: HashMap<String, Vec<String>>,
    actors: HashMap<String, String>,
}

pub(crate) struct Registry {
    store: Arc<dyn Store>,
    components: Arc<Components>,
    names: RwLock<Names>,
    /// Held while names are read and installed, so an older read never
    /// replaces a newer one.
    refreshing: tokio::sync::Mutex<()>,
    /// One cell per digest asked for: filled by the first load to succeed.
    loaded: Mutex<HashMap<String, Arc<OnceCell<Arc<LoadedComponent>>>>>,
    stats: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    compiled: AtomicU64,
    from_cache: AtomicU64,
}

/// How this process came by the components it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ComponentStats {
    /// Compiled from their wasm (at registration, or when no compiled code
    /// for this engine was stored).
    pub compiled: u64,
    /// Loaded from the compiled code in the store: no compiling.
    pub from_cache: u64,
}

impl Registry {
    pub(crate) fn new(store: Arc<dyn Store>, components: Arc<Components>) -> Self {
        Self {
            store,
            components,
            names: RwLock::default(),
            refreshing: tokio::sync::Mutex::default(),
            loaded: Mutex::default(),
            stats: Arc::default(),
        }
    }

    /// Reloads names from the store (other processes may have registered).
    pub(crate) async fn refresh(&self) -> Result<(), crate::store::StoreError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let mut names = Names::default();
        for registration in self.store.registrations().await? {
            match registration.role {
                Role::Orchestration => {
                    names
                        .orchestrations
                        .insert(registration.name, registration.digest);
                }
                Role::Activity => names
                    .activities
                    .entry(registration.name)
                    .or_default()
                    .push(registration.digest),
                Role::Actor => {
                    names.actors.insert(registration.name, registration.digest);
                }
            }
        }
        *self.names.write().unwrap_or_else(|e| e.into_inner()) = names;
        Ok(())
    }

    /// Looks a name up among those known. Names registered by other
    /// processes become known through the change feed, or a
    /// [`Registry::refresh`] by a caller that can wait for it.
    fn find(&self, pick: impl Fn(&Names) -> Option<String>) -> Option<String> {
        pick(&self.names.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The newest component holding an orchestration.
    pub(crate) fn orchestration(&self, name: &str) -> Option<String> {
        self.find(|names| names.orchestrations.get(name).cloned())
    }

    /// The newest component implementing an actor kind. Actors are not
    /// pinned: their state is data, and the newest code handles it.
    pub(crate) fn actor(&self, kind: &str) -> Option<String> {
        self.find(|names| names.actors.get(kind).cloned())
    }

    /// The component for an activity: `preferred` (the orchestration's own)
    /// when it provides the name, else the newest that does.
    pub(crate) fn activity(&self, name: &str, preferred: &str) -> Option<String> {
        self.find(|names| {
            let digests = names.activities.get(name)?;
            if digests.iter().any(|d| d == preferred) {
                Some(preferred.to_owned())
            } else {
                digests.last().cloned()
            }
        })
    }

    /// The engine and linkers components are loaded with.
    pub(crate) fn components(&self) -> &Arc<Components> {
        &self.components
    }

    /// The component ready to run: from memory, else from the compiled
    /// code in the store, else compiled from its wasm (and that compilation
    /// stored, so no later process compiles it again).
    pub(crate) async fn load(&self, digest: &str) -> Result<Arc<LoadedComponent>, ComponentError> {
        let cell = self.cell(digest);
        cell.get_or_try_init(|| self.load_from_store(digest))
            .await
            .cloned()
    }

    /// Reads what the store has of the component and makes it ready on a
    /// blocking thread: see [`Registry::load`].
    async fn load_from_store(&self, digest: &str) -> Result<Arc<LoadedComponent>, ComponentError> {
        let unreadable = |source| ComponentError::Unreadable {
            digest: digest.to_owned(),
            source,
        };
        let key = self.components.compatibility_key();
        if let Some(compiled) = self.store.compiled(digest, key).await.map_err(unreadable)? {
            let (components, owned) = (self.components.clone(), digest.to_owned());
            match blocking(move || components.load_compiled(&owned, &compiled)).await {
                Ok(component) => {
                    self.stats.from_cache.fetch_add(1, Ordering::Relaxed);
                    return Ok(Arc::new(component));
                }
                Err(error) => tracing::warn!(%digest, %error, "compiled code unusable; compiling"),
            }
        }
        let bytes = self
            .store
            .component(digest)
            .await
            .map_err(unreadable)?
            .ok_or_else(|| ComponentError::Missing(digest.to_owned()))?;
        let (components, owned) = (self.components.clone(), digest.to_owned());
        let (component, compiled) = blocking(move || components.load(&owned, &bytes)).await?;
        self.stats.compiled.fetch_add(1, Ordering::Relaxed);
        if let Some(bytes) = compiled {
            // Best effort, not awaited: without it the next process compiles.
            drop(self.store.commit(vec![Op::CacheCompiled {
                digest: digest.to_owned(),
                engine: key.to_owned(),
                bytes,
            }]));
        }
        Ok(Arc::new(component))
    }

    /// The digest's cell; looked up without allocating, since every
    /// execution and activity attempt asks.
    fn cell(&self, digest: &str) -> Arc<OnceCell<Arc<LoadedComponent>>> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cell) = loaded.get(digest) {
            return cell.clone();
        }
        loaded.entry(digest.to_owned()).or_default().clone()
    }

    pub(crate) fn stats(&self) -> ComponentStats {
        ComponentStats {
            compiled: self.stats.compiled.load(Ordering::Relaxed),
            from_cache: self.stats.from_cache.load(Ordering::Relaxed),
        }
    }

    /// Keeps a component that registration compiled.
    pub(crate) fn insert_compiled(&self, component: Arc<LoadedComponent>) {
        self.stats.compiled.fetch_add(1, Ordering::Relaxed);
        // Already loaded: the same digest is the same code.
        let _ = self.cell(&component.digest).set(component);
    }
}

/// Runs `work` (compiling, or mapping compiled code) on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ComponentError> + Send + 'static,
) -> Result<T, ComponentError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ComponentError::Invalid(format!("loading was interrupted: {e}")))?
}
