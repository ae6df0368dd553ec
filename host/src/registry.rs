//! Components by content digest, and the names they provide. A name maps to
//! the newest component registered for it; a running instance keeps the
//! digest it started with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::engine::{ComponentError, LoadedComponent, WasmEngine};
use crate::store::{Role, Store};

#[derive(Debug, Default)]
struct Names {
    orchestrations: HashMap<String, String>,
    /// Every digest providing the activity, oldest first.
    activities: HashMap<String, Vec<String>>,
    actors: HashMap<String, String>,
}

pub(crate) struct Registry {
    store: Arc<dyn Store>,
    wasm: Arc<WasmEngine>,
    names: RwLock<Names>,
    loaded: Mutex<HashMap<String, Arc<LoadedComponent>>>,
}

impl Registry {
    pub(crate) fn new(store: Arc<dyn Store>, wasm: Arc<WasmEngine>) -> Self {
        Self {
            store,
            wasm,
            names: RwLock::default(),
            loaded: Mutex::default(),
        }
    }

    /// Reloads names from the store (other processes may have registered).
    pub(crate) fn refresh(&self) -> Result<(), crate::store::StoreError> {
        let mut names = Names::default();
        for registration in self.store.registrations()? {
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

    /// Looks a name up, reloading the names once if it is not there (another
    /// process may have registered it).
    fn find(&self, pick: impl Fn(&Names) -> Option<String>) -> Option<String> {
        let read = || pick(&self.names.read().unwrap_or_else(|e| e.into_inner()));
        read().or_else(|| {
            self.refresh().ok()?;
            read()
        })
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

    /// The compiled component, compiling it on first use.
    pub(crate) fn load(&self, digest: &str) -> Result<Arc<LoadedComponent>, ComponentError> {
        if let Some(found) = self
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(digest)
        {
            return Ok(found.clone());
        }
        let bytes = self
            .store
            .component(digest)
            .map_err(|source| ComponentError::Unreadable {
                digest: digest.to_owned(),
                source,
            })?
            .ok_or_else(|| ComponentError::Missing(digest.to_owned()))?;
        let component = Arc::new(self.wasm.load(digest, &bytes)?);
        self.insert(component.clone());
        Ok(component)
    }

    pub(crate) fn insert(&self, component: Arc<LoadedComponent>) {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(component.digest.clone(), component);
    }
}
