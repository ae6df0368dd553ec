//! Addressing actors: which actor, and what to do to it. Plain data that
//! history records (an orchestration's actor calls) and the store keeps
//! (mailboxes), so it belongs to neither.

use serde::{Deserialize, Serialize};

/// Addresses an actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActorId {
    /// The kind: which component export implements it.
    pub kind: String,
    /// The key within the kind.
    pub key: String,
}

impl std::fmt::Display for ActorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.key)
    }
}

/// One operation on one actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorOperation {
    /// The actor.
    pub target: ActorId,
    /// Operation name.
    pub operation: String,
    /// Input, JSON.
    pub input: String,
}
