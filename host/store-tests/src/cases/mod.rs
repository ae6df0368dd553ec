//! The conformance cases, by the part of the contract they cover. Each is
//! generic over the [`Backend`](crate::Backend) and starts from an empty
//! database.

mod actors;
mod archive;
mod commit;
mod components;
mod feed;
mod flow;
mod idempotency;
mod instances;
mod leases;
mod repairs;
mod tasks;
mod versions;
mod waits;

pub use actors::*;
pub use archive::*;
pub use commit::*;
pub use components::*;
pub use feed::*;
pub use flow::*;
pub use idempotency::*;
pub use instances::*;
pub use leases::*;
pub use repairs::*;
pub use tasks::*;
pub use versions::*;
pub use waits::*;
