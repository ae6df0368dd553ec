//! A readable timeline of an execution's history.

use std::fmt::Write;

use reprise::history::{Event, HistoryEvent, Outcome};

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Ok(json) => format!("ok {json}"),
        Err(failure) => format!("failed: {}", failure.message),
    }
}

fn describe(event: &Event) -> String {
    match event {
        Event::Started { name, input } => format!("started {name} with {input}"),
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
    }
}

/// One line per event: position, time since the start, what happened.
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
    }
    text
}
