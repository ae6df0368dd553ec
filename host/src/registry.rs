//! Components by content digest, and the names they provide. A name maps to
//! the newest component registered for it; a running instance keeps the
//! digest it started with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::engine::{LoadedComponent, WasmEngine};
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

    pub(crate) fn orchestration(&self, name: &str) -> Option<String> {
        let found = self
            .names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .orchestrations
            .get(name)
            .cloned();
        found.or_else(|| {
            self.refresh().ok()?;
            self.names
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .orchestrations
                .get(name)
                .cloned()
        })
    }

    /// The newest component implementing an actor kind. Actors are not
    /// pinned: their state is data, and the newest code handles it.
    pub(crate) fn actor(&self, kind: &str) -> Option<String> {
        let found = self
            .names
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .actors
            .get(kind)
            .cloned();
        found.or_else(|| {
            self.refresh().ok()?;
            self.names
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .actors
                .get(kind)
                .cloned()
        })
    }

    /// The component for an activity: `preferred` (the orchestration's own)
    /// when it provides the name, else the newest that does.
    pub(crate) fn activity(&self, name: &str, preferred: &str) -> Option<String> {
        let pick = |names: &Names| {
            let digests = names.activities.get(name)?;
            if digests.iter().any(|d| d == preferred) {
                Some(preferred.to_owned())
            } else {
                digests.last().cloned()
            }
        };
        let found = pick(&self.names.read().unwrap_or_else(|e| e.into_inner()));
        found.or_else(|| {
            self.refresh().ok()?;
            pick(&self.names.read().unwrap_or_else(|e| e.into_inner()))
        })
    }

    /// The compiled component, compiling it on first use.
    pub(crate) fn load(&self, digest: &str) -> Result<Arc<LoadedComponent>, String> {
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
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no component with digest {digest}"))?;
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
