//! Host bindings generated from `wit/`, the names of the package's role
//! interfaces, and the one conversion of the WIT failure.

wasmtime::component::bindgen!({
    world: "app",
    path: "../../wit",
    imports: { default: async | trappable },
    exports: { default: async },
});

use self::reprise::durable::types;

use crate::history::{Failure, Outcome};
use crate::store::{ActorId, ActorOperation};

/// The interface an orchestration component exports.
pub(crate) const ORCHESTRATOR: &str = "reprise:durable/orchestrator@0.1.0";
/// The interface an activity component exports.
pub(crate) const ACTIVITIES: &str = "reprise:durable/activities@0.1.0";
/// The interface an actor component exports.
pub(crate) const ACTORS: &str = "reprise:durable/actors@0.1.0";

impl From<types::Failure> for Failure {
    fn from(failure: types::Failure) -> Self {
        Failure {
            message: failure.message,
            details: failure.details,
        }
    }
}

impl From<Failure> for types::Failure {
    fn from(failure: Failure) -> Self {
        types::Failure {
            message: failure.message,
            details: failure.details,
        }
    }
}

/// An outcome as the guest sees it.
pub(crate) fn outcome_to_wit(outcome: Outcome) -> types::Outcome {
    outcome.map_err(types::Failure::from)
}

impl From<types::ActorOperation> for ActorOperation {
    fn from(operation: types::ActorOperation) -> Self {
        ActorOperation {
            target: ActorId {
                kind: operation.target.kind,
                key: operation.target.key,
            },
            operation: operation.operation,
            input: operation.input,
        }
    }
}
