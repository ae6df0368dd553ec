//! What a running activity may ask of the host.
//!
//! Activities are plain functions `fn(I) -> Result<O>`; these calls are for
//! the few that care which attempt they are or which instance called them.
//! Activities may use WASI (clock, randomness, and files or network where the
//! host grants them): unlike orchestrations they are not replayed.

use crate::bindings::reprise::durable::activity_context as host;
use crate::orchestration::LogLevel;

/// The id of the orchestration instance that scheduled this activity.
pub fn instance_id() -> String {
    host::instance_id()
}

/// 1 for the first attempt, 2 for the first retry, and so on.
pub fn attempt() -> u32 {
    host::attempt()
}

/// Logs a line through the host, tagged with the instance.
pub fn log(level: LogLevel, message: &str) {
    host::log(level.into(), message)
}
