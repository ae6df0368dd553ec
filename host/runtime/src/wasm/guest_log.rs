//! Guest log lines: what guests pass to `log` and write to stdout/stderr.
//!
//! Every line goes to `tracing` under the target [`TARGET`] with fields that
//! say whose it is ([`Source`]: the instance and its execution, the
//! activity's instance and attempt, or the actor). Orchestrations drop their
//! lines while replaying, so each is logged once.
//!
//! The fields are on each line rather than only on spans: instances,
//! activities and actors are many and short-lived, and a span each that is
//! always on (created, then entered at every poll) cost 3–6 % of
//! `reprise bench` throughput. The spans (`instance`, `activity`, `actor`,
//! `atomic`) are at INFO for the host's own lines: `REPRISE_LOG=info`.

use std::fmt::Display;
use std::sync::Arc;

use super::bindings::reprise::durable::types::LogLevel;

/// The `tracing` target of guest lines: `REPRISE_LOG=reprise::guest=debug`
/// shows a guest's debug lines without the host's.
pub const TARGET: &str = "reprise::guest";

/// The target of the spans below. Not under `reprise::guest`: a filter that
/// shows guest lines must not switch them on (filters match by prefix).
const SPANS: &str = "reprise::host";

/// Who wrote a guest line.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// An orchestration instance, in one execution.
    Instance { id: Arc<str>, execution: u32 },
    /// An activity attempt for an instance.
    Activity { instance_id: Arc<str>, attempt: u32 },
    /// An actor (`kind/key`), or a kind when the key is not known.
    Actor(Arc<str>),
}

/// One `tracing` event at a level chosen at run time.
macro_rules! event_at {
    ($level:expr, $($rest:tt)+) => {
        match $level {
            LogLevel::Trace => tracing::trace!(target: TARGET, $($rest)+),
            LogLevel::Debug => tracing::debug!(target: TARGET, $($rest)+),
            LogLevel::Info => tracing::info!(target: TARGET, $($rest)+),
            LogLevel::Warn => tracing::warn!(target: TARGET, $($rest)+),
            LogLevel::Error => tracing::error!(target: TARGET, $($rest)+),
        }
    };
}

/// Logs one line of a guest at `level`.
pub(crate) fn emit(level: LogLevel, line: &str, source: &Source) {
    match source {
        Source::Instance { id, execution } => {
            event_at!(level, instance_id = %id, execution = *execution, "{line}")
        }
        Source::Activity {
            instance_id,
            attempt,
        } => event_at!(level, instance_id = %instance_id, attempt = *attempt, "{line}"),
        Source::Actor(actor) => event_at!(level, actor = %actor, "{line}"),
    }
}

/// The span of one instance's task; `execution` is recorded as each
/// execution is read.
pub(crate) fn instance_span(instance_id: &str) -> tracing::Span {
    tracing::info_span!(target: SPANS, "instance", %instance_id, execution = tracing::field::Empty)
}

/// The span of one activity attempt.
pub(crate) fn activity_span(instance_id: &str, name: &str, attempt: u32) -> tracing::Span {
    tracing::info_span!(target: SPANS, "activity", %instance_id, %name, attempt)
}

/// The span of one actor's batch of operations (or of its operation in an
/// atomic request).
pub(crate) fn actor_span(actor: &dyn Display) -> tracing::Span {
    tracing::info_span!(target: SPANS, "actor", %actor)
}

/// The span of one atomic multi-actor request.
pub(crate) fn atomic_span(request: i64) -> tracing::Span {
    tracing::info_span!(target: SPANS, "atomic", request)
}
