//! A readable timeline of an execution's history.

use std::fmt::Write;

use reprise::history::{Event, Failure, HistoryEvent, Outcome};

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Ok(json) => format!("ok {json}"),
        Err(failure) => format!("failed: {}", failure.message),
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::Started {
            name,
            input,
            digest,
        } => match digest {
            Some(digest) => format!("started {name} with {input} on {}", short(digest)),
            None => format!("started {name} with {input}"),
        },
        Event::ActivityScheduled { name, input, .. } => {
            format!("schedule activity {name}({input})")
        }
        Event::TimerScheduled { delay_ms, .. } => format!("schedule timer of {delay_ms} ms"),
        Event::ChildScheduled {
            name, instance_id, ..
        } => format!("start sub-orchestration {name} as {instance_id}"),
        Event::ActorCalled { operation: op } => {
            format!("call actor {} {}({})", op.target, op.operation, op.input)
        }
        Event::ActorSignaled { operation: op } => {
            format!("signal actor {} {}({})", op.target, op.operation, op.input)
        }
        Event::ActorsCalledAtomically { operations } => {
            let ops: Vec<String> = operations
                .iter()
                .map(|op| format!("{} {}({})", op.target, op.operation, op.input))
                .collect();
            format!("call actors atomically: {}", ops.join(", "))
        }
        Event::EventAwaited { name } => format!("wait for event {name:?}"),
        Event::TaskAwaited { task, outcome: o } => format!("task #{task} done: {}", outcome(o)),
        Event::AnyAwaited {
            tasks,
            winner,
            outcome: o,
        } => {
            let task = tasks.get(*winner as usize).copied().unwrap_or_default();
            format!("first of {tasks:?} done: task #{task}, {}", outcome(o))
        }
        Event::Now { ms } => format!("now = {ms}"),
        Event::Random { value } => format!("random = {value}"),
        Event::Uuid { value } => format!("uuid = {value}"),
        Event::CustomStatus { status } => {
            format!("custom status = {}", status.as_deref().unwrap_or("none"))
        }
        Event::ContinuedAsNew { input } => format!("continued as new with {input}"),
        Event::Completed { output } => format!("completed with {output}"),
        Event::Failed { failure } => format!("failed: {}", failure.message),
        Event::Upgraded { from, to } => {
            format!("moved from {} to new code {}", short(from), short(to))
        }
        Event::Forked {
            instance_id: from,
            execution,
            event,
        } => format!("forked from {from} (execution {execution}) after its event #{event}"),
        Event::Rewound { cut } => {
            let first = cut.first().map_or(0, |e| e.seq);
            let last = cut.last().map_or(0, |e| e.seq);
            format!("rewound: events #{first}..#{last} were cut and kept here")
        }
    }
}

/// A digest as people tell components apart: its first 12 characters.
fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Where a failed orchestration stopped: the backtrace in its details.
fn backtrace(failure: &Failure) -> Vec<String> {
    let details: Option<serde_json::Value> = failure
        .details
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    details
        .as_ref()
        .and_then(|d| d.get("backtrace"))
        .and_then(serde_json::Value::as_array)
        .map(|frames| {
            frames
                .iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One line per event: position, time since the start, what happened; a
/// failure is followed by its backtrace.
pub(crate) fn render(history: &[HistoryEvent]) -> String {
    let start = history.first().map_or(0, |e| e.at);
    let mut text = String::new();
    for event in history {
        let _ = writeln!(
            text,
            "#{:<4} +{:>7} ms  {}",
            event.seq,
            event.at.saturating_sub(start),
            describe(&event.event)
        );
        if let Event::Failed { failure } = &event.event {
            for frame in backtrace(failure) {
                let _ = writeln!(text, "{:19}at {frame}", "");
            }
        }
    }
    text
}
