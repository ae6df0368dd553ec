//! `/metrics`: the runtime's counters and the store's depths in the
//! Prometheus text format (version 0.0.4), for a scraper to collect.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use reprise::metrics::Metrics;

use crate::{ApiError, AppState};

/// The content type of the Prometheus text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let metrics = state.runtime.metrics().await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&metrics)))
}

/// One metric family: its help line, its type, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Self {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Self { out }
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) -> &mut Self {
        let _ = if labels.is_empty() {
            writeln!(self.out, "{name} {value}")
        } else {
            writeln!(self.out, "{name}{{{labels}}} {value}")
        };
        self
    }
}

/// Each activity's tasks, waiting or running in a slot, and its limits.
fn activity_load(out: &mut String, m: &Metrics) {
    let name = "reprise_activity_flow_tasks";
    let mut family = Family::new(
        out,
        name,
        "gauge",
        "Activity tasks by activity: waiting (behind a limit, for a retry, or running without limits) or running in a slot of a limited activity, on every host.",
    );
    for load in &m.activities {
        let activity = label(&load.name);
        family
            .sample(
                name,
                &format!("activity=\"{activity}\",state=\"waiting\""),
                load.waiting,
            )
            .sample(
                name,
                &format!("activity=\"{activity}\",state=\"running\""),
                load.running,
            );
    }
    let name = "reprise_activity_limit";
    let mut family = Family::new(
        out,
        name,
        "gauge",
        "The limits this process applies to activities: attempts at once (concurrency), at once per key (per_key), starts per second (rate).",
    );
    for load in &m.activities {
        let Some(limits) = &load.limits else { continue };
        let activity = label(&load.name);
        let rate = limits
            .rate
            .map(|r| f64::from(r.count) * 1_000.0 / r.period_ms as f64);
        for (limit, value) in [
            ("concurrency", limits.concurrency.map(f64::from)),
            (
                "per_key",
                limits.per_key.as_ref().map(|p| f64::from(p.limit)),
            ),
            ("rate", rate),
        ] {
            if let Some(value) = value {
                family.sample(
                    name,
                    &format!("activity=\"{activity}\",limit=\"{limit}\""),
                    value,
                );
            }
        }
    }
}

/// A label value, escaped as the text format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics as Prometheus text. Counters are this process's since it
/// started; gauges are the store's, shared by every process on it.
pub(crate) fn render(m: &Metrics) -> String {
    let mut out = String::with_capacity(4096);
    let name = "reprise_instances";
    let mut family = Family::new(
        &mut out,
        name,
        "gauge",
        "Instances in the store, by status.",
    );
    for (status, count) in &m.store.instances {
        family.sample(name, &format!("status=\"{}\"", status.as_str()), count);
    }
    activity_load(&mut out, m);
    for (name, help, value) in [
        (
            "reprise_activity_tasks",
            "Activity tasks queued, running or waiting for a retry.",
            m.store.activities,
        ),
        ("reprise_timers", "Timers not yet fired.", m.store.timers),
        (
            "reprise_inbox_messages",
            "Messages not yet taken in by their instances.",
            m.store.inbox,
        ),
        (
            "reprise_actor_mailbox_operations",
            "Operations queued in actors' mailboxes, due or not.",
            m.store.actor_mailbox,
        ),
        (
            "reprise_actor_atomic_requests_queued",
            "Multi-actor requests queued.",
            m.store.atomic_requests,
        ),
        (
            "reprise_hot_instances",
            "Instances loaded in this process: running an episode or waiting in memory.",
            m.hot_instances,
        ),
    ] {
        Family::new(&mut out, name, "gauge", help).sample(name, "", value);
    }

    for (name, help, value) in [
        (
            "reprise_instances_started_total",
            "Instances created by this process, sub-orchestrations included.",
            m.instances_started,
        ),
        (
            "reprise_episodes_total",
            "Orchestration episodes committed: each run of a guest up to a wait or its end.",
            m.episodes,
        ),
        (
            "reprise_activity_attempts_total",
            "Activity attempts run, retries included.",
            m.activity_attempts,
        ),
        (
            "reprise_activity_failures_total",
            "Activity attempts that failed (each may be retried).",
            m.activity_failures,
        ),
        (
            "reprise_actor_operations_total",
            "Actor mailbox operations applied.",
            m.actor_operations,
        ),
        (
            "reprise_actor_atomic_requests_total",
            "Multi-actor requests applied, all or nothing.",
            m.atomic_requests,
        ),
        (
            "reprise_commits_total",
            "Batches committed to the store.",
            m.commits,
        ),
        (
            "reprise_commit_failures_total",
            "Batches the store refused or could not write.",
            m.commit_failures,
        ),
    ] {
        Family::new(&mut out, name, "counter", help).sample(name, "", value);
    }
    let name = "reprise_instances_finished_total";
    let mut family = Family::new(
        &mut out,
        name,
        "counter",
        "Instances finished by this process, by final status.",
    );
    for (status, count) in &m.instances_finished {
        family.sample(name, &format!("status=\"{}\"", status.as_str()), count);
    }

    let name = "reprise_commit_duration_seconds";
    let latency = &m.commit_latency;
    let mut family = Family::new(
        &mut out,
        name,
        "histogram",
        "From queuing a batch to its being durable (group commit included).",
    );
    for (bound, count) in &latency.buckets {
        family.sample(&format!("{name}_bucket"), &format!("le=\"{bound}\""), count);
    }
    family
        .sample(&format!("{name}_bucket"), "le=\"+Inf\"", latency.count)
        .sample(&format!("{name}_sum"), "", latency.sum_seconds)
        .sample(&format!("{name}_count"), "", latency.count);
    out
}
