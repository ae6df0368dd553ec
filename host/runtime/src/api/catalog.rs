//! What is registered: every component with the names it is registered
//! for, which of those it answers to now, and how many instances run it.

use std::collections::HashSet;

use serde::Serialize;

use super::Runtime;
use crate::error::Error;
use crate::store::{Role, Status};

/// A registered component as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredComponent {
    /// sha256 of the bytes, hex.
    pub digest: String,
    /// Every name it was registered for.
    #[serde(flatten)]
    pub names: Names,
    /// Of those, the names whose newest registration it is: new instances
    /// of these orchestrations start on it, and calls to these activities
    /// and actor kinds run its code.
    pub current: Names,
    /// The instances whose current execution runs it, by status.
    pub instances: StatusTally,
}

/// Names by role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Names {
    /// Orchestrations.
    pub orchestrations: Vec<String>,
    /// Activities.
    pub activities: Vec<String>,
    /// Actor kinds.
    pub actors: Vec<String>,
}

impl Names {
    fn of(&mut self, role: Role) -> &mut Vec<String> {
        match role {
            Role::Orchestration => &mut self.orchestrations,
            Role::Activity => &mut self.activities,
            Role::Actor => &mut self.actors,
        }
    }

    fn add(&mut self, role: Role, name: &str) {
        let names = self.of(role);
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
}

/// How many instances have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusTally {
    /// Running (possibly waiting).
    pub running: u64,
    /// Suspended.
    pub suspended: u64,
    /// Completed.
    pub completed: u64,
    /// Failed.
    pub failed: u64,
    /// Terminated.
    pub terminated: u64,
}

impl StatusTally {
    fn add(&mut self, status: Status, count: u64) {
        *match status {
            Status::Running => &mut self.running,
            Status::Suspended => &mut self.suspended,
            Status::Completed => &mut self.completed,
            Status::Failed => &mut self.failed,
            Status::Terminated => &mut self.terminated,
        } += count;
    }

    /// Running or suspended: the instances an upgrade could move.
    pub fn live(&self) -> u64 {
        self.running + self.suspended
    }
}

impl Runtime {
    /// The registered components, oldest first, with the names each is
    /// registered for (a name registered again to a newer component is
    /// listed with both; the newest takes new instances and says so in
    /// its `current`), and how many instances run each.
    pub async fn components(&self) -> Result<Vec<RegisteredComponent>, Error> {
        let store = &self.shared.store;
        let registrations = store.registrations().await?;
        let counts = store.counts().await?;
        let mut components: Vec<RegisteredComponent> = Vec::new();
        for registration in &registrations {
            let index = match components
                .iter()
                .position(|c| c.digest == registration.digest)
            {
                Some(index) => index,
                None => {
                    components.push(RegisteredComponent {
                        digest: registration.digest.clone(),
                        names: Names::default(),
                        current: Names::default(),
                        instances: StatusTally::default(),
                    });
                    components.len() - 1
                }
            };
            components[index]
                .names
                .add(registration.role, &registration.name);
        }
        // Registrations come oldest first: the last one of a name wins.
        let mut seen = HashSet::new();
        for registration in registrations.iter().rev() {
            if !seen.insert((registration.role, registration.name.as_str())) {
                continue;
            }
            if let Some(component) = components
                .iter_mut()
                .find(|c| c.digest == registration.digest)
            {
                component.current.add(registration.role, &registration.name);
            }
        }
        for version in counts.versions {
            if let Some(component) = components.iter_mut().find(|c| c.digest == version.digest) {
                component.instances.add(version.status, version.instances);
            }
        }
        Ok(components)
    }
}
