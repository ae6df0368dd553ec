//! Guest log lines: what guests pass to `log` and write to stdout/stderr.
//!
//! Every line goes to `tracing` under the target [`TARGET`], inside the span
//! of whoever wrote it (`instance` with its id and execution, `activity`,
//! `actor`), so a line always says whose it is. Orchestrations drop their
//! lines while replaying, so each is logged once.

use crate::wit::reprise::durable::types::LogLevel;

/// The `tracing` target of guest lines: `REPRISE_LOG=reprise::guest=debug`
/// shows a guest's debug lines without the host's.
pub const TARGET: &str = "reprise::guest";

/// Logs one line of a guest at `level`.
pub(crate) fn emit(level: LogLevel, line: &str) {
    match level {
        LogLevel::Trace => tracing::trace!(target: TARGET, "{line}"),
        LogLevel::Debug => tracing::debug!(target: TARGET, "{line}"),
        LogLevel::Info => tracing::info!(target: TARGET, "{line}"),
        LogLevel::Warn => tracing::warn!(target: TARGET, "{line}"),
        LogLevel::Error => tracing::error!(target: TARGET, "{line}"),
    }
}

// The spans that say whose a line is. They are at ERROR level so that they
// are on whenever any line is logged, whatever the filter: a guest's `info`
// line or a host warning always names its instance, activity or actor.

/// The span of one instance's task; `execution` is recorded as each
/// execution is read.
pub(crate) fn instance_span(instance_id: &str) -> tracing::Span {
    tracing::error_span!("instance", %instance_id, execution = tracing::field::Empty)
}

/// The span of one activity attempt.
pub(crate) fn activity_span(instance_id: &str, name: &str, attempt: u32) -> tracing::Span {
    tracing::error_span!("activity", %instance_id, %name, attempt)
}

/// The span of one actor operation.
pub(crate) fn actor_span(actor: &dyn std::fmt::Display, operation: &str) -> tracing::Span {
    tracing::error_span!("actor", %actor, %operation)
}

/// The span of one atomic multi-actor request.
pub(crate) fn atomic_span(request: i64) -> tracing::Span {
    tracing::error_span!("atomic", request)
}
