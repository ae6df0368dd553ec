//! Repairs read history: where a rewind cuts a failed execution, which
//! tasks a history prefix leaves open, and what the events after it had
//! received. A fork continues a prefix in a new instance; a rewind
//! continues a failed instance from before its failure. Plain data, no I/O.

use crate::history::{Event, HistoryEvent, Outcome};

/// A task a history prefix scheduled and did not await to its end: the
/// event that scheduled it (its position is the task's id).
pub fn open_tasks(prefix: &[HistoryEvent]) -> Vec<&HistoryEvent> {
    let awaited: Vec<u32> = prefix.iter().filter_map(awaited_task).collect();
    prefix
        .iter()
        .filter(|e| schedules_task(&e.event) && !awaited.contains(&e.seq))
        .collect()
}

/// What the events of `cut` had received: each task awaited there with
/// its outcome, in the order the awaits returned, the first await of a
/// task only.
pub fn awaited_outcomes(cut: &[HistoryEvent]) -> Vec<(u32, &Outcome)> {
    let mut outcomes: Vec<(u32, &Outcome)> = Vec::new();
    for event in cut {
        let (Some(task), Some(outcome)) = (awaited_task(event), awaited_outcome(&event.event))
        else {
            continue;
        };
        if !outcomes.iter().any(|(seen, _)| *seen == task) {
            outcomes.push((task, outcome));
        }
    }
    outcomes
}

/// Where a rewind cuts a failed execution's history, and the task whose
/// failure the cut removes: the last await that returned a failure, when
/// the execution ended failed after it; otherwise its `Failed` event (the
/// guest failed on its own). `None` if the execution did not end failed.
pub fn rewind_point(history: &[HistoryEvent]) -> Option<(usize, Option<u32>)> {
    let last = history.len().checked_sub(1)?;
    if !matches!(history[last].event, Event::Failed { .. }) {
        return None;
    }
    let failed_await = history[..last].iter().rposition(|e| {
        matches!(
            &e.event,
            Event::TaskAwaited {
                outcome: Err(_),
                ..
            } | Event::AnyAwaited {
                outcome: Err(_),
                ..
            }
        )
    });
    Some(match failed_await {
        Some(position) => (position, awaited_task(&history[position])),
        None => (last, None),
    })
}

/// The last position a fork may keep of `history`: its last event, or the
/// one before the event that ended the execution (a fork goes on where the
/// execution was still going). `None` for an empty history.
pub fn fork_limit(history: &[HistoryEvent]) -> Option<u32> {
    let last = history.last()?;
    Some(match last.event {
        Event::Completed { .. } | Event::Failed { .. } | Event::ContinuedAsNew { .. } => {
            last.seq.saturating_sub(1)
        }
        _ => last.seq,
    })
}

/// The component `prefix` was running on at its end: where it last moved
/// to new code, or else where it started. `None` for a history written
/// before starts recorded their code.
pub fn digest_at(prefix: &[HistoryEvent]) -> Option<&str> {
    prefix.iter().rev().find_map(|e| match &e.event {
        Event::Upgraded { to, .. } => Some(to.as_str()),
        Event::Started { digest, .. } => digest.as_deref(),
        _ => None,
    })
}

/// The external events the awaits of `history` after position `after`
/// took in, as (name, data), in the order they were taken: what a fork at
/// `after` must receive again to see what the original saw.
pub fn events_taken_after(history: &[HistoryEvent], after: u32) -> Vec<(&str, &str)> {
    let name_of = |task: u32| match history.get(usize::try_from(task).ok()?)?.event {
        Event::EventAwaited { ref name } => Some(name.as_str()),
        _ => None,
    };
    history
        .iter()
        .filter(|e| e.seq > after)
        .filter_map(|e| {
            let name = name_of(awaited_task(e)?)?;
            match awaited_outcome(&e.event)? {
                Ok(data) => Some((name, data.as_str())),
                Err(_) => None,
            }
        })
        .collect()
}

/// Whether `event` schedules a task (its position is the task's id).
fn schedules_task(event: &Event) -> bool {
    matches!(
        event,
        Event::ActivityScheduled { .. }
            | Event::TimerScheduled { .. }
            | Event::ChildScheduled { .. }
            | Event::ActorCalled { .. }
            | Event::ActorsCalledAtomically { .. }
            | Event::EventAwaited { .. }
    )
}

/// The task an await event returned: the awaited one, or the race's winner.
fn awaited_task(event: &HistoryEvent) -> Option<u32> {
    match &event.event {
        Event::TaskAwaited { task, .. } => Some(*task),
        Event::AnyAwaited { tasks, winner, .. } => {
            tasks.get(usize::try_from(*winner).ok()?).copied()
        }
        _ => None,
    }
}

fn awaited_outcome(event: &Event) -> Option<&Outcome> {
    match event {
        Event::TaskAwaited { outcome, .. } | Event::AnyAwaited { outcome, .. } => Some(outcome),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{ActivityOptions, Failure};

    fn at(seq: u32, event: Event) -> HistoryEvent {
        HistoryEvent { seq, at: 0, event }
    }

    /// Started; schedules activity #1, waits for event #2, a timer #3;
    /// awaits #1 (ok); races #2 against #3 (the event wins); schedules
    /// activity #6, awaits it (failed); fails.
    fn history() -> Vec<HistoryEvent> {
        let activity = |name: &str| Event::ActivityScheduled {
            name: name.into(),
            input: "1".into(),
            options: ActivityOptions::default(),
        };
        vec![
            at(
                0,
                Event::Started {
                    name: "o".into(),
                    input: "null".into(),
                    digest: None,
                },
            ),
            at(1, activity("charge")),
            at(
                2,
                Event::EventAwaited {
                    name: "approval".into(),
                },
            ),
            at(
                3,
                Event::TimerScheduled {
                    delay_ms: 10,
                    fire_at: 99,
                },
            ),
            at(
                4,
                Event::TaskAwaited {
                    task: 1,
                    outcome: Ok("7".into()),
                },
            ),
            at(
                5,
                Event::AnyAwaited {
                    tasks: vec![2, 3],
                    winner: 0,
                    outcome: Ok("true".into()),
                },
            ),
            at(6, activity("ship")),
            at(
                7,
                Event::TaskAwaited {
                    task: 6,
                    outcome: Err(Failure::new("no truck")),
                },
            ),
            at(
                8,
                Event::Failed {
                    failure: Failure::new("no truck"),
                },
            ),
        ]
    }

    fn seqs(events: Vec<&HistoryEvent>) -> Vec<u32> {
        events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn a_prefix_leaves_open_what_it_scheduled_and_did_not_await() {
        let history = history();
        assert_eq!(seqs(open_tasks(&history[..1])), Vec::<u32>::new());
        assert_eq!(seqs(open_tasks(&history[..4])), [1, 2, 3]);
        assert_eq!(seqs(open_tasks(&history[..5])), [2, 3]);
        // The race's loser stays open.
        assert_eq!(seqs(open_tasks(&history[..6])), [3]);
        assert_eq!(seqs(open_tasks(&history[..8])), [3]);
    }

    #[test]
    fn the_events_after_a_cut_had_received_the_awaited_outcomes_in_order() {
        let history = history();
        let got: Vec<(u32, String)> = awaited_outcomes(&history[4..])
            .into_iter()
            .map(|(task, outcome)| (task, format!("{outcome:?}")))
            .collect();
        assert_eq!(
            got,
            [
                (1, r#"Ok("7")"#.to_owned()),
                (2, r#"Ok("true")"#.to_owned()),
                (
                    6,
                    format!("{:?}", Err::<String, _>(Failure::new("no truck")))
                ),
            ]
        );
    }

    #[test]
    fn a_fork_keeps_up_to_the_event_before_the_end_and_knows_its_code() {
        let mut history = history();
        assert_eq!(fork_limit(&history), Some(7));
        assert_eq!(fork_limit(&history[..5]), Some(4));
        assert_eq!(fork_limit(&[]), None);
        assert_eq!(digest_at(&history), None);
        history[0].event = Event::Started {
            name: "o".into(),
            input: "null".into(),
            digest: Some("v1".into()),
        };
        assert_eq!(digest_at(&history), Some("v1"));
        history.insert(
            5,
            at(
                5,
                Event::Upgraded {
                    from: "v1".into(),
                    to: "v2".into(),
                },
            ),
        );
        assert_eq!(digest_at(&history[..5]), Some("v1"));
        assert_eq!(digest_at(&history), Some("v2"));
    }

    #[test]
    fn a_fork_receives_again_the_events_taken_after_its_point() {
        let history = history();
        // The race at #5 took the approval in; the awaits of activities
        // took no events.
        assert_eq!(events_taken_after(&history, 4), [("approval", "true")]);
        assert!(events_taken_after(&history, 5).is_empty());
        assert_eq!(events_taken_after(&history, 0), [("approval", "true")]);
    }

    #[test]
    fn a_rewind_cuts_at_the_failed_await_or_else_at_the_failure() {
        let history = history();
        assert_eq!(rewind_point(&history), Some((7, Some(6))));
        // The guest failed on its own after a good await.
        let mut own = history[..7].to_vec();
        own.push(at(
            7,
            Event::Failed {
                failure: Failure::new("trap"),
            },
        ));
        assert_eq!(rewind_point(&own), Some((7, None)));
        assert_eq!(rewind_point(&history[..7]), None);
        assert_eq!(rewind_point(&[]), None);
    }
}
