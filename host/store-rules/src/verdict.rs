//! What an op may do, given what the backend read for it: the refusals the
//! `Op` documentation promises, with one wording on every backend.
//!
//! Each function takes what the backend read (locked, where others could
//! change it meanwhile) and answers with the error that fails the batch,
//! or with what the backend must write instead.

use reprise_core::history::{Event, Failure, HistoryEvent, Outcome};
use reprise_core::store::{InstanceRecord, MessageKind, NewMessage, Status, StoreError};

/// An instance's row as a verdict needs it: read by id, `None` when there
/// is no such instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceState {
    /// Its status.
    pub status: Status,
    /// Its current execution.
    pub execution: u32,
    /// The component its current execution runs.
    pub digest: String,
}

/// The error for an op that names an instance that does not exist.
pub fn no_instance(instance_id: &str) -> StoreError {
    StoreError::NotFound(format!("no instance {instance_id}"))
}

/// [`Op::ExpectRunning`](reprise_core::store::Op::ExpectRunning): the
/// instance must be running in this execution, on this code if `digest`
/// names one.
pub fn expect_running(
    instance_id: &str,
    execution: u32,
    digest: Option<&str>,
    found: Option<InstanceState>,
) -> Result<(), StoreError> {
    let Some(found) = found else {
        return Err(no_instance(instance_id));
    };
    if found.status != Status::Running || found.execution != execution {
        return Err(StoreError::Conflict(format!(
            "instance {instance_id} is {} in execution {}",
            found.status.as_str(),
            found.execution
        )));
    }
    match digest {
        Some(digest) if digest != found.digest => Err(StoreError::Conflict(format!(
            "instance {instance_id} moved to component {}",
            found.digest
        ))),
        _ => Ok(()),
    }
}

/// What [`Op::MoveInstance`](reprise_core::store::Op::MoveInstance) checks
/// against the instance's row.
#[derive(Debug, Clone, Copy)]
pub struct Move<'a> {
    /// The execution that was checked.
    pub execution: u32,
    /// The code it was checked on.
    pub from: &'a str,
    /// The code it moves to.
    pub to: &'a str,
    /// The events of history that were checked.
    pub events: u32,
    /// When it moves.
    pub at: u64,
}

/// [`Op::MoveInstance`](reprise_core::store::Op::MoveInstance): the
/// instance must be live in the execution on the code that was checked,
/// with the history that was checked (`recorded` is how many events it
/// holds). Answers with the event that records the move.
pub fn move_instance(
    instance_id: &str,
    checked: Move<'_>,
    found: Option<InstanceState>,
    recorded: u64,
) -> Result<HistoryEvent, StoreError> {
    let Move {
        execution,
        from,
        to,
        events,
        at,
    } = checked;
    let Some(found) = found else {
        return Err(no_instance(instance_id));
    };
    let problem = if found.status.is_final() {
        format!("it is {}", found.status.as_str())
    } else if found.execution != execution {
        format!("it moved on to execution {}", found.execution)
    } else if found.digest != from {
        format!("it runs component {} now", found.digest)
    } else if recorded != u64::from(events) {
        format!("its history grew from {events} to {recorded} events since it was checked")
    } else {
        return Ok(HistoryEvent {
            seq: events,
            at,
            event: Event::Upgraded {
                from: from.to_owned(),
                to: to.to_owned(),
            },
        });
    };
    Err(StoreError::Conflict(format!(
        "instance {instance_id} was not moved: {problem}"
    )))
}

/// [`Op::Rewind`](reprise_core::store::Op::Rewind): the instance must
/// have failed in `execution`, with the history that was read (`recorded`
/// is how many events it holds, `events` how many were read), and the cut
/// must fall inside it.
pub fn rewind(
    instance_id: &str,
    execution: u32,
    events: u32,
    cut_at: u32,
    found: Option<InstanceState>,
    recorded: u64,
) -> Result<(), StoreError> {
    let Some(found) = found else {
        return Err(no_instance(instance_id));
    };
    let problem = if found.status != Status::Failed {
        format!(
            "it is {}; only a failed instance is rewound",
            found.status.as_str()
        )
    } else if found.execution != execution {
        format!("it moved on to execution {}", found.execution)
    } else if recorded != u64::from(events) {
        format!("its history holds {recorded} events, not the {events} that were read")
    } else if cut_at == 0 || cut_at >= events {
        format!("a cut at #{cut_at} is not inside its {events} events of history")
    } else {
        return Ok(());
    };
    Err(StoreError::Conflict(format!(
        "instance {instance_id} was not rewound: {problem}"
    )))
}

/// Whether [`Op::Send`](reprise_core::store::Op::Send) of `message` must
/// read its addressee first (and then ask [`accept_event`]). Only events
/// are refused: a task result answers work the instance scheduled itself,
/// and one that arrives after it finished is left unconsumed.
pub fn checks_addressee(message: &NewMessage) -> bool {
    message.kind == MessageKind::Event
}

/// An event may be sent to an instance that exists and has not finished.
pub fn accept_event(instance_id: &str, found: Option<InstanceState>) -> Result<(), StoreError> {
    match found {
        None => Err(no_instance(instance_id)),
        Some(state) if state.status.is_final() => Err(StoreError::Conflict(format!(
            "instance {instance_id} is {} and takes no more events",
            state.status.as_str()
        ))),
        Some(_) => Ok(()),
    }
}

/// [`Op::CreateInstance`](reprise_core::store::Op::CreateInstance) of an
/// id that is taken: a conflict, unless the new instance has a parent. A
/// parent's orchestration cannot catch an error of the batch that records
/// its own episode, so it is told as the failure of its child task: the
/// message returned, which the backend sends in place of the instance.
pub fn duplicate_instance(record: &InstanceRecord) -> Result<NewMessage, StoreError> {
    let problem = format!("an instance with id {} already exists", record.id);
    let Some(parent) = &record.parent else {
        return Err(StoreError::Conflict(problem));
    };
    let outcome: Outcome = Err(Failure::new(problem));
    Ok(NewMessage {
        instance_id: parent.instance_id.clone(),
        execution: Some(parent.execution),
        task: Some(parent.task),
        kind: MessageKind::Child,
        name: None,
        payload: crate::json(&outcome)?,
    })
}

/// [`Op::Purge`](reprise_core::store::Op::Purge): only a finished
/// instance is purged (see [`crate::cleanup::PURGED`] for what goes).
pub fn purge(instance_id: &str, found: Option<InstanceState>) -> Result<(), StoreError> {
    match found {
        None => Err(no_instance(instance_id)),
        Some(state) if !state.status.is_final() => Err(StoreError::Conflict(format!(
            "instance {instance_id} is {}; only finished instances can be purged",
            state.status.as_str()
        ))),
        Some(_) => Ok(()),
    }
}

/// Whether an op whose delete of an activity task or timer removed
/// `removed` rows delivers its result
/// ([`Op::CompleteActivity`](reprise_core::store::Op::CompleteActivity),
/// [`Op::FireTimer`](reprise_core::store::Op::FireTimer)): only the op that
/// removes the row sends the result, so it is sent once however often the
/// op is applied.
pub fn delivers(removed: u64) -> bool {
    removed == 1
}

/// What [`Op::ApplyActors`](reprise_core::store::Op::ApplyActors) removes
/// as handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// An operation in an actor's mailbox.
    Mailbox,
    /// A multi-actor request.
    Atomic,
}

/// Handled rows are removed exactly once: a row already gone means the
/// operation was applied before (by an earlier run of the same batch), and
/// applying its new state again would apply the operation twice.
pub fn handled_once(what: Handled, id: i64, removed: u64) -> Result<(), StoreError> {
    if removed == 1 {
        return Ok(());
    }
    let row = match what {
        Handled::Mailbox => "actor message",
        Handled::Atomic => "atomic request",
    };
    Err(StoreError::Conflict(format!(
        "{row} {id} was already handled"
    )))
}

/// A request with an idempotency key is remembered once: a key already
/// remembered (nothing was inserted or replaced) means the request was
/// made before, and its effect must not be made again.
pub fn remembered_once(key: &str, written: u64) -> Result<(), StoreError> {
    if written == 1 {
        Ok(())
    } else {
        Err(StoreError::Repeated(key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprise_core::store::ParentRef;

    fn state(status: Status, execution: u32) -> Option<InstanceState> {
        Some(InstanceState {
            status,
            execution,
            digest: "v1".into(),
        })
    }

    fn message(error: StoreError) -> String {
        match error {
            StoreError::Conflict(why) | StoreError::NotFound(why) => why,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn expect_running_wants_the_same_execution_running() {
        assert!(expect_running("a", 2, None, state(Status::Running, 2)).is_ok());
        assert!(expect_running("a", 2, Some("v1"), state(Status::Running, 2)).is_ok());
        let moved = expect_running("a", 1, None, state(Status::Running, 2)).unwrap_err();
        assert!(matches!(moved, StoreError::Conflict(_)));
        assert_eq!(message(moved), "instance a is running in execution 2");
        let suspended = expect_running("a", 2, None, state(Status::Suspended, 2)).unwrap_err();
        assert_eq!(message(suspended), "instance a is suspended in execution 2");
        let unknown = expect_running("a", 0, None, None).unwrap_err();
        assert!(matches!(&unknown, StoreError::NotFound(why) if why == "no instance a"));
        let old_code = expect_running("a", 2, Some("v0"), state(Status::Running, 2)).unwrap_err();
        assert_eq!(message(old_code), "instance a moved to component v1");
    }

    #[test]
    fn a_move_needs_the_history_that_was_checked_on_the_code_it_left() {
        let live = |status| state(status, 2);
        let checked = |(execution, from, events): (u32, &'static str, u32)| Move {
            execution,
            from,
            to: "v2",
            events,
            at: 9,
        };
        for status in [Status::Running, Status::Suspended] {
            let event = move_instance("a", checked((2, "v1", 5)), live(status), 5).unwrap();
            assert_eq!((event.seq, event.at), (5, 9));
            assert_eq!(
                event.event,
                Event::Upgraded {
                    from: "v1".into(),
                    to: "v2".into()
                }
            );
        }
        let refused = |moving, found, recorded| {
            message(move_instance("a", checked(moving), found, recorded).unwrap_err())
        };
        assert_eq!(
            refused((2, "v1", 5), live(Status::Running), 6),
            "instance a was not moved: its history grew from 5 to 6 events since it was checked"
        );
        assert_eq!(
            refused((2, "v0", 5), live(Status::Running), 5),
            "instance a was not moved: it runs component v1 now"
        );
        assert_eq!(
            refused((1, "v1", 5), live(Status::Running), 5),
            "instance a was not moved: it moved on to execution 2"
        );
        assert_eq!(
            refused((2, "v1", 5), live(Status::Completed), 5),
            "instance a was not moved: it is completed"
        );
        assert!(matches!(
            move_instance("a", checked((2, "v1", 5)), None, 0),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn events_go_to_instances_that_exist_and_have_not_finished() {
        for status in [Status::Running, Status::Suspended] {
            assert!(accept_event("a", state(status, 0)).is_ok());
        }
        for status in [Status::Completed, Status::Failed, Status::Terminated] {
            let refused = accept_event("a", state(status, 3)).unwrap_err();
            assert!(matches!(refused, StoreError::Conflict(_)));
            assert_eq!(
                message(refused),
                format!("instance a is {} and takes no more events", status.as_str())
            );
        }
        assert!(matches!(
            accept_event("a", None),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn only_events_check_their_addressee() {
        let mut message = NewMessage {
            instance_id: "a".into(),
            execution: None,
            task: None,
            kind: MessageKind::Event,
            name: Some("go".into()),
            payload: "null".into(),
        };
        assert!(checks_addressee(&message));
        for kind in [
            MessageKind::Activity,
            MessageKind::Timer,
            MessageKind::Child,
            MessageKind::Actor,
        ] {
            message.kind = kind;
            assert!(!checks_addressee(&message), "{kind:?}");
        }
    }

    #[test]
    fn a_duplicate_id_is_a_conflict_or_a_failed_task_of_the_parent() {
        let (mut record, _) = InstanceRecord::starting("c".into(), "o", "d".into(), "1", None, 5);
        let refused = duplicate_instance(&record).unwrap_err();
        assert!(matches!(refused, StoreError::Conflict(_)));
        assert_eq!(message(refused), "an instance with id c already exists");
        record.parent = Some(ParentRef {
            instance_id: "p".into(),
            execution: 2,
            task: 7,
        });
        let told = duplicate_instance(&record).unwrap();
        assert_eq!(
            (
                told.instance_id.as_str(),
                told.execution,
                told.task,
                told.kind
            ),
            ("p", Some(2), Some(7), MessageKind::Child)
        );
        let outcome: Outcome = serde_json::from_str(&told.payload).unwrap();
        assert_eq!(
            outcome.unwrap_err().message,
            "an instance with id c already exists"
        );
    }

    #[test]
    fn only_finished_instances_are_purged() {
        for status in [Status::Completed, Status::Failed, Status::Terminated] {
            assert!(purge("a", state(status, 0)).is_ok());
        }
        let running = purge("a", state(Status::Running, 0)).unwrap_err();
        assert_eq!(
            message(running),
            "instance a is running; only finished instances can be purged"
        );
        assert!(matches!(purge("a", None), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn results_are_delivered_and_operations_applied_once() {
        assert!(delivers(1));
        assert!(!delivers(0));
        assert!(handled_once(Handled::Mailbox, 4, 1).is_ok());
        let twice = handled_once(Handled::Mailbox, 4, 0).unwrap_err();
        assert_eq!(message(twice), "actor message 4 was already handled");
        let twice = handled_once(Handled::Atomic, 9, 0).unwrap_err();
        assert_eq!(message(twice), "atomic request 9 was already handled");
    }

    #[test]
    fn only_a_failed_execution_with_the_history_that_was_read_is_rewound() {
        let state = |status| {
            Some(InstanceState {
                status,
                execution: 1,
                digest: "d".into(),
            })
        };
        assert!(rewind("a", 1, 9, 7, state(Status::Failed), 9).is_ok());
        let refused = |found, execution, recorded, cut_at| match rewind(
            "a", execution, 9, cut_at, found, recorded,
        ) {
            Err(StoreError::Conflict(why)) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            refused(state(Status::Running), 1, 9, 7),
            "instance a was not rewound: it is running; only a failed instance is rewound"
        );
        assert_eq!(
            refused(state(Status::Failed), 0, 9, 7),
            "instance a was not rewound: it moved on to execution 1"
        );
        assert_eq!(
            refused(state(Status::Failed), 1, 10, 7),
            "instance a was not rewound: its history holds 10 events, not the 9 that were read"
        );
        assert_eq!(
            refused(state(Status::Failed), 1, 9, 9),
            "instance a was not rewound: a cut at #9 is not inside its 9 events of history"
        );
        match rewind("a", 1, 9, 7, None, 0) {
            Err(StoreError::NotFound(why)) => assert_eq!(why, "no instance a"),
            other => panic!("{other:?}"),
        }
    }
}
