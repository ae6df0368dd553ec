//! The episode bookkeeping on its own, against a fake directory: no engine,
//! no store, no scheduler.

use std::sync::Arc;

use super::*;
use crate::roles::directory::Directory;
use crate::store::ParentRef;
use crate::wasm::Limits;

/// A directory that knows no names and whose clock stands at 1,000 ms.
struct Fixed(Limits);

#[async_trait::async_trait]
impl Directory for Fixed {
    async fn refresh_names(&self) {}
    fn limits(&self) -> &Limits {
        &self.0
    }
    fn now_ms(&self) -> u64 {
        1_000
    }
    fn orchestration(&self, _: &str) -> Option<String> {
        None
    }
    fn activity(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    fn has_actor_kind(&self, _: &str) -> bool {
        false
    }
    fn mailbox_capacity(&self, _: &str) -> u64 {
        10
    }
    async fn read_actor(
        &self,
        _: &crate::store::ActorOperation,
    ) -> Option<crate::history::Outcome> {
        None
    }
}

fn state_with(parent: Option<ParentRef>) -> (OrchestrationState, InstanceRecord) {
    let (record, started) =
        InstanceRecord::starting("i".into(), "o", "d".into(), "null", parent, 10);
    let directory: SharedDirectory = Arc::new(Fixed(Limits::default()));
    let state = OrchestrationState::new(directory, &record, vec![started], None);
    (state, record)
}

fn state() -> OrchestrationState {
    state_with(None).0
}

fn event(id: i64, name: &str, payload: &str) -> Message {
    Message {
        id,
        instance_id: "i".into(),
        execution: None,
        task: None,
        kind: MessageKind::Event,
        name: Some(name.into()),
        payload: payload.into(),
    }
}

fn result(id: i64, execution: u32, task: u32, outcome: &Outcome) -> Message {
    Message {
        id,
        instance_id: "i".into(),
        execution: Some(execution),
        task: Some(task),
        kind: MessageKind::Activity,
        name: None,
        payload: serde_json::to_string(outcome).unwrap(),
    }
}

fn direct(task_id: i64, task: u32, output: &str) -> ActivityResult {
    ActivityResult {
        task_id,
        instance_id: "i".into(),
        execution: 0,
        task,
        outcome: Ok(output.into()),
    }
}

/// The ops of a batch by kind, in order, for comparing.
fn kinds(batch: &[Op]) -> Vec<&'static str> {
    batch
        .iter()
        .map(|op| match op {
            Op::ExpectRunning { .. } => "expect-running",
            Op::AppendHistory { .. } => "append-history",
            Op::Consume(_) => "consume",
            Op::ConsumeActivity { .. } => "consume-activity",
            Op::CompleteActivity { .. } => "complete-activity",
            Op::SetWaiting { .. } => "set-waiting",
            Op::SetStatus { .. } => "set-status",
            Op::Send(_) => "send",
            Op::ContinueAsNew { .. } => "continue-as-new",
            _ => "other",
        })
        .collect()
}

#[test]
fn a_message_delivered_twice_is_taken_in_once() {
    let mut state = state();
    state.tasks.insert(1, TaskKind::Event("approval".into()));
    state.accept(event(7, "approval", "1"));
    state.accept(event(7, "approval", "1"));
    assert_eq!(state.take(1), Some(Ok("1".into())));
    state.tasks.insert(2, TaskKind::Event("approval".into()));
    assert_eq!(state.take(2), None, "the copy is no second event");
    assert!(!state.ready(2));
}

#[test]
fn events_are_consumed_in_arrival_order_per_name() {
    let mut state = state();
    state.accept(event(3, "approval", "\"first\""));
    state.accept(event(4, "other", "\"other\""));
    state.accept(event(5, "approval", "\"second\""));
    state.tasks.insert(1, TaskKind::Event("approval".into()));
    state.tasks.insert(2, TaskKind::Event("approval".into()));
    assert_eq!(state.take(2), Some(Ok("\"first\"".into())));
    assert_eq!(state.take(1), Some(Ok("\"second\"".into())));
    let batch = state.take_batch();
    assert!(matches!(batch.last(), Some(Op::Consume(ids)) if *ids == [3, 5]));
    assert!(state.events.values().any(|(name, _)| name == "other"));
}

#[test]
fn an_event_consumed_by_an_earlier_execution_is_not_taken_again() {
    let mut state = state();
    state.consumed_events.insert(9);
    state.accept(event(9, "approval", "1"));
    state.tasks.insert(1, TaskKind::Event("approval".into()));
    assert!(!state.ready(1));
}

#[test]
fn results_of_another_execution_are_ignored() {
    let mut state = state();
    state.tasks.insert(1, TaskKind::Result);
    state.accept(result(11, 1, 1, &Ok("late".into())));
    assert!(!state.ready(1));
    state.accept(result(12, 0, 1, &Ok("mine".into())));
    assert_eq!(state.take(1), Some(Ok("mine".into())));
}

#[test]
fn an_unreadable_result_fails_its_task() {
    let mut state = state();
    state.tasks.insert(1, TaskKind::Result);
    let mut message = result(11, 0, 1, &Ok("x".into()));
    message.payload = "not json".into();
    state.accept(message);
    let failure = state.take(1).unwrap().unwrap_err();
    assert!(
        failure.message.starts_with("unreadable task result: "),
        "{failure:?}"
    );
}

#[test]
fn a_direct_result_consumed_removes_its_task_and_one_not_consumed_goes_to_the_inbox() {
    let mut state = state();
    state.tasks.insert(1, TaskKind::Result);
    state.tasks.insert(2, TaskKind::Result);
    state.accept_result(direct(100, 1, "one"));
    state.accept_result(direct(200, 2, "two"));
    assert!(state.has_writes(), "a direct result lives only in memory");
    assert_eq!(state.take(1), Some(Ok("one".into())));
    let batch = state.take_batch();
    assert_eq!(
        kinds(&batch),
        ["expect-running", "consume-activity", "complete-activity"]
    );
    assert!(matches!(batch[1], Op::ConsumeActivity { task_id: 100 }));
    assert!(matches!(
        &batch[2],
        Op::CompleteActivity { task_id: 200, message } if message.task == Some(2)
    ));
    assert!(!state.has_writes());
}

#[test]
fn a_copy_from_the_inbox_wins_over_the_same_result_passed_directly() {
    let mut state = state();
    state.tasks.insert(1, TaskKind::Result);
    state.accept(result(11, 0, 1, &Ok("committed".into())));
    state.accept_result(direct(100, 1, "committed"));
    assert_eq!(state.take(1), Some(Ok("committed".into())));
    let batch = state.take_batch();
    assert!(matches!(batch.last(), Some(Op::Consume(ids)) if *ids == [11]));
    assert!(state.unconsumed_results().is_empty());
}

#[test]
fn awaiting_a_task_again_returns_the_same_outcome() {
    let mut state = state();
    state.tasks.insert(1, TaskKind::Result);
    state.accept(result(11, 0, 1, &Ok("once".into())));
    let outcome = state.take(1).unwrap();
    state.record_await(
        1,
        Event::TaskAwaited {
            task: 1,
            outcome: outcome.clone(),
        },
    );
    assert_eq!(state.take(1), Some(outcome));
    assert!(state.ready(1));
}

#[test]
fn what_it_waits_for_is_recorded_only_when_history_grew() {
    let mut state = state();
    state.record(Event::TimerScheduled {
        delay_ms: 5,
        fire_at: 1_005,
    });
    let batch = state.take_batch_for_wait(&[1]);
    assert_eq!(
        kinds(&batch),
        ["expect-running", "append-history", "set-waiting"]
    );
    assert!(matches!(
        batch.last(),
        Some(Op::SetWaiting { waiting, .. }) if waiting.tasks == [1] && waiting.since == 1_000
    ));
    // Nothing new: a second wait (say, an episode that only stored a
    // result for later) records nothing.
    state.accept_result(direct(100, 9, "later"));
    let batch = state.take_batch_for_wait(&[1]);
    assert_eq!(kinds(&batch), ["expect-running", "complete-activity"]);
}

#[test]
fn live_time_never_goes_back() {
    let mut state = state();
    state.record_at(5_000, Event::Now { ms: 5_000 });
    assert_eq!(state.live_time(), 5_000, "the directory's clock is behind");
    assert_eq!(state.determinism.time(), 5_000);
}

#[test]
fn finishing_records_the_outcome_and_tells_the_parent() {
    let parent = ParentRef {
        instance_id: "p".into(),
        execution: 2,
        task: 4,
    };
    let (mut state, record) = state_with(Some(parent));
    let batch = state.finish(&record, Err(Failure::new("boom")));
    assert_eq!(
        kinds(&batch),
        ["expect-running", "append-history", "set-status", "send"]
    );
    assert!(matches!(
        &batch[1],
        Op::AppendHistory { events, .. }
            if matches!(&events[..], [HistoryEvent { seq: 1, event: Event::Failed { failure }, .. }] if failure.message == "boom")
    ));
    assert!(matches!(
        &batch[2],
        Op::SetStatus { status: Status::Failed, output: Some(output), .. } if output.contains("boom")
    ));
    assert!(matches!(
        &batch[3],
        Op::Send(message) if message.instance_id == "p" && message.task == Some(4) && message.execution == Some(2)
    ));
}

#[test]
fn continuing_as_new_starts_the_next_execution_with_the_given_input() {
    let (mut state, record) = state_with(None);
    state.continue_as_new = Some("[1]".into());
    let batch = state.continue_as_new_batch(&record);
    assert_eq!(kinds(&batch), ["expect-running", "continue-as-new"]);
    assert!(matches!(
        &batch[1],
        Op::ContinueAsNew { input, execution: 0, started, .. }
            if input == "[1]" && started.at == 1_000
                && matches!(&started.event, Event::Started { input, .. } if input == "[1]")
    ));
}
