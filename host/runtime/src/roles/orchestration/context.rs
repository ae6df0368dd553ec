//! The `orchestration-context` host functions: each call is checked against
//! history when replaying and recorded when live.

use std::collections::BTreeSet;

use wasmtime::Result;

use super::state::{OrchestrationState, TaskKind, Unwind};
use crate::history::{self, ActivityOptions, Event, Outcome, RetryPolicy};
use crate::names::{self, NameKind};
use crate::roles::directory::{find, know_kinds};
use crate::store::{
    ActivityTask, ActorId, ActorOperation, MessageKind, NewMessage, Op, ParentRef, ReplyTo,
    TimerRecord,
};
use crate::wasm::GuestData;
use crate::wasm::bindings::outcome_to_wit as to_wit;
use crate::wasm::bindings::reprise::durable::orchestration_context::Host;
use crate::wasm::bindings::reprise::durable::types::{self, LogLevel};
use crate::wasm::guest_log::{self, Source};
use crate::wasm::sandbox::format_uuid;
use crate::wasm::trap::Refused;

type Data = GuestData<OrchestrationState>;

impl types::Host for Data {}

fn options_from_wit(options: types::ActivityOptions) -> ActivityOptions {
    ActivityOptions {
        retry: options.retry.map(|r| RetryPolicy {
            max_attempts: r.max_attempts.max(1),
            first_retry_ms: r.first_retry_ms,
            backoff_coefficient: r.backoff_coefficient,
            max_retry_ms: r.max_retry_ms,
        }),
        timeout_ms: options.timeout_ms,
    }
}

impl OrchestrationState {
    /// When replaying, the recorded event at this position, checked against
    /// the call the code makes; `None` when live.
    fn replayed(&mut self, requested: &Event) -> Result<Option<Event>> {
        let replayed = self
            .journal
            .replay(requested)
            .map_err(Unwind::from)?
            .map(|recorded| {
                self.determinism.set_time(recorded.at);
                recorded.event.clone()
            });
        self.sync_replaying();
        Ok(replayed)
    }

    /// Replays or records a call; returns its position (the task id of a
    /// scheduling call) and the recorded event when replaying.
    fn call(&mut self, event: Event) -> Result<(u32, Option<Event>)> {
        self.call_at(None, event)
    }

    /// [`Self::call`], recorded (when live) at `at`, or now when `None`.
    fn call_at(&mut self, at: Option<u64>, event: Event) -> Result<(u32, Option<Event>)> {
        let seq = self.journal.next_seq();
        let replayed = self.replayed(&event)?;
        if replayed.is_none() {
            let at = at.unwrap_or_else(|| self.live_time());
            self.record_at(at, event);
        }
        Ok((seq, replayed))
    }

    /// A task that is already finished with `outcome`: sent through the inbox
    /// in this episode, so a crash before it is awaited loses nothing.
    fn complete_now(&mut self, task: u32, kind: MessageKind, outcome: &Outcome) {
        let own = self.parent_ref(task);
        self.ops
            .push(Op::Send(NewMessage::task_result(&own, kind, outcome)));
    }

    /// An await of no tasks, or of a task this execution never scheduled,
    /// is a bug in the orchestration: it fails, saying which.
    fn check_awaitable(&self, tasks: &[u32], call: &str) -> Result<(), Refused> {
        if tasks.is_empty() {
            return Err(Refused(format!("{call} needs at least one task")));
        }
        match tasks.iter().find(|task| !self.tasks.contains_key(task)) {
            Some(task) => Err(Refused(format!(
                "{call} of task {task}, which this execution has not scheduled"
            ))),
            None => Ok(()),
        }
    }

    fn oversized(&self, what: &str, payload: &str) -> Option<Outcome> {
        let limit = self.directory.limits().max_payload_bytes;
        (payload.len() > limit).then(|| {
            Err(history::Failure::new(format!(
                "{what} of {} bytes exceeds the limit of {limit} bytes",
                payload.len()
            )))
        })
    }
}

impl OrchestrationState {
    /// Task `task` of this execution, as the one a result is for.
    fn parent_ref(&self, task: u32) -> ParentRef {
        ParentRef {
            instance_id: self.instance_id.clone(),
            execution: self.execution,
            task,
        }
    }

    fn reply_to(&self, task: u32) -> ReplyTo {
        ReplyTo::Task(self.parent_ref(task))
    }

    /// Records an actor call (`event`) as a task whose result is the reply,
    /// and queues its operations unless history already holds the call.
    fn actor_task(&mut self, event: Event, operations: Vec<ActorOperation>) -> Result<u32> {
        let (task, replayed) = self.call(event)?;
        self.actor_task_at(task, replayed.is_some(), operations)
    }

    /// Task `task` (just recorded, or `replayed`) as an actor call whose
    /// operations go to the mailboxes.
    fn actor_task_at(
        &mut self,
        task: u32,
        replayed: bool,
        operations: Vec<ActorOperation>,
    ) -> Result<u32> {
        self.tasks.insert(task, TaskKind::Result);
        if !replayed {
            let reply = self.reply_to(task);
            self.enqueue_actor_operations(task, operations, reply);
        }
        Ok(task)
    }

    /// Queues a call (one operation) or an atomic request (several), or
    /// fails the task at once when a target or input is bad.
    fn enqueue_actor_operations(
        &mut self,
        task: u32,
        operations: Vec<ActorOperation>,
        reply: ReplyTo,
    ) {
        let problem = operations
            .iter()
            .find_map(|op| {
                let undeliverable = self.directory.check_actor_operation(op).err();
                undeliverable.map(|why| why.to_string()).or_else(|| {
                    self.oversized("actor operation input", &op.input)
                        .and_then(|o| o.err())
                        .map(|f| f.message)
                })
            })
            .or_else(|| {
                let targets: BTreeSet<&ActorId> = operations.iter().map(|o| &o.target).collect();
                targets
                    .into_iter()
                    .find_map(|target| self.count_send(target).err())
            });
        if let Some(why) = problem {
            self.complete_now(task, MessageKind::Actor, &Err(history::Failure::new(why)));
        } else if operations.len() == 1 {
            let operation = operations.into_iter().next().expect("one operation");
            let capacity = Some(self.directory.mailbox_capacity(&operation.target.kind));
            self.ops.push(Op::EnqueueActor {
                operation,
                reply,
                visible_at: 0,
                capacity,
            });
        } else {
            let capacity = Some(self.directory.atomic_capacity(&operations));
            self.ops.push(Op::EnqueueAtomic {
                operations,
                reply,
                capacity,
            });
        }
    }
}

impl Host for Data {
    async fn instance_id(&mut self) -> Result<String> {
        Ok(self.state.instance_id.clone())
    }

    async fn schedule_activity(
        &mut self,
        name: String,
        input: String,
        options: types::ActivityOptions,
    ) -> Result<u32> {
        let options = options_from_wit(options);
        let s = &mut self.state;
        let event = Event::ActivityScheduled {
            name: name.clone(),
            input: input.clone(),
            options,
        };
        let (task, replayed) = s.call(event)?;
        s.tasks.insert(task, TaskKind::Result);
        if replayed.is_some() {
            return Ok(task);
        }
        if let Some(failure) = s.oversized("activity input", &input) {
            s.complete_now(task, MessageKind::Activity, &failure);
            return Ok(task);
        }
        let directory = s.directory.clone();
        match find(&*directory, |d| d.activity(&name, &s.digest)).await {
            Some(digest) => s.ops.push(Op::ScheduleActivity(ActivityTask {
                id: 0,
                instance_id: s.instance_id.clone(),
                execution: s.execution,
                task,
                name,
                digest,
                input,
                options,
                attempt: 1,
                visible_at: 0,
                last_failure: None,
            })),
            None => {
                let failure = Err(history::Failure::new(format!(
                    "no activity named {name:?} is registered"
                )));
                s.complete_now(task, MessageKind::Activity, &failure);
            }
        }
        Ok(task)
    }

    async fn schedule_timer(&mut self, delay_ms: u64) -> Result<u32> {
        let s = &mut self.state;
        // The timer fires `delay_ms` after the time its call is recorded at:
        // the same instant in history and in the timer table.
        let at = s.live_time();
        let fire_at = at.saturating_add(delay_ms);
        let (task, replayed) = s.call_at(Some(at), Event::TimerScheduled { delay_ms, fire_at })?;
        s.tasks.insert(task, TaskKind::Result);
        if replayed.is_none() {
            s.ops.push(Op::ScheduleTimer(TimerRecord {
                instance_id: s.instance_id.clone(),
                execution: s.execution,
                task,
                fire_at,
            }));
        }
        Ok(task)
    }

    async fn schedule_orchestration(
        &mut self,
        name: String,
        input: String,
        instance_id: Option<String>,
    ) -> Result<u32> {
        let s = &mut self.state;
        let seq = s.journal.next_seq();
        let explicit_id = instance_id.is_some();
        let child_id =
            instance_id.unwrap_or_else(|| format!("{}:{}:{seq}", s.instance_id, s.execution));
        let event = Event::ChildScheduled {
            name: name.clone(),
            input: input.clone(),
            instance_id: child_id.clone(),
            explicit_id,
        };
        let (task, replayed) = s.call(event)?;
        s.tasks.insert(task, TaskKind::Result);
        if replayed.is_some() {
            return Ok(task);
        }
        if let Some(failure) = s.oversized("sub-orchestration input", &input) {
            s.complete_now(task, MessageKind::Child, &failure);
            return Ok(task);
        }
        if explicit_id && let Err(why) = names::check(NameKind::InstanceId, &child_id) {
            let failure = Err(history::Failure::new(why.to_string()));
            s.complete_now(task, MessageKind::Child, &failure);
            return Ok(task);
        }
        let directory = s.directory.clone();
        let Some(digest) = find(&*directory, |d| d.orchestration(&name)).await else {
            let failure = Err(history::Failure::new(format!(
                "no orchestration named {name:?} is registered"
            )));
            s.complete_now(task, MessageKind::Child, &failure);
            return Ok(task);
        };
        let parent = s.parent_ref(task);
        let at = s.journal.time();
        s.ops.push(Op::create_instance(
            child_id,
            &name,
            digest,
            &input,
            Some(parent),
            at,
        ));
        Ok(task)
    }

    async fn call_actor(&mut self, operation: types::ActorOperation) -> Result<u32> {
        let operation = ActorOperation::from(operation);
        know_kinds(
            &*self.state.directory.clone(),
            std::slice::from_ref(&operation),
        )
        .await;
        let event = Event::ActorCalled {
            operation: operation.clone(),
        };
        let s = &mut self.state;
        let (task, replayed) = s.call(event)?;
        if replayed.is_none() && s.directory.check_actor_operation(&operation).is_ok() {
            // A read runs now, against the state committed so far; its
            // outcome commits with this episode, and is what replay sees.
            let directory = s.directory.clone();
            if let Some(outcome) = directory.read_actor(&operation).await {
                s.tasks.insert(task, TaskKind::Result);
                s.complete_now(task, MessageKind::Actor, &outcome);
                return Ok(task);
            }
        }
        s.actor_task_at(task, replayed.is_some(), vec![operation])
    }

    async fn signal_actor(&mut self, operation: types::ActorOperation) -> Result<()> {
        let operation = ActorOperation::from(operation);
        know_kinds(
            &*self.state.directory.clone(),
            std::slice::from_ref(&operation),
        )
        .await;
        let s = &mut self.state;
        let (_, replayed) = s.call(Event::ActorSignaled {
            operation: operation.clone(),
        })?;
        if replayed.is_some() {
            return Ok(());
        }
        // One-way: a bad target cannot be reported back, so it fails the
        // orchestration rather than vanish.
        if let Err(why) = s.directory.check_actor_operation(&operation) {
            return Err(Refused(why.to_string()).into());
        }
        s.count_send(&operation.target).map_err(Refused)?;
        let capacity = Some(s.directory.mailbox_capacity(&operation.target.kind));
        s.ops.push(Op::EnqueueActor {
            operation,
            reply: ReplyTo::Nobody,
            visible_at: 0,
            capacity,
        });
        Ok(())
    }

    async fn call_actors_atomically(
        &mut self,
        operations: Vec<types::ActorOperation>,
    ) -> Result<u32> {
        let operations: Vec<ActorOperation> =
            operations.into_iter().map(ActorOperation::from).collect();
        know_kinds(&*self.state.directory.clone(), &operations).await;
        let event = Event::ActorsCalledAtomically {
            operations: operations.clone(),
        };
        self.state.actor_task(event, operations)
    }

    async fn wait_event(&mut self, name: String) -> Result<u32> {
        // Nobody could ever send an event by such a name.
        names::check(NameKind::EventName, &name).map_err(|why| Refused(why.to_string()))?;
        let s = &mut self.state;
        let (task, _) = s.call(Event::EventAwaited { name: name.clone() })?;
        s.tasks.insert(task, TaskKind::Event(name));
        Ok(task)
    }

    async fn await_task(&mut self, task: u32) -> Result<types::Outcome> {
        let placeholder = Event::TaskAwaited {
            task,
            outcome: Ok(String::new()),
        };
        let s = &mut self.state;
        if let Some(Event::TaskAwaited { outcome, .. }) = s.replayed(&placeholder)? {
            s.replayed_await(task);
            return Ok(to_wit(outcome));
        }
        s.check_awaitable(&[task], "await-task")?;
        loop {
            if let Some(outcome) = self.state.take(task) {
                let event = Event::TaskAwaited {
                    task,
                    outcome: outcome.clone(),
                };
                self.state.record_await(task, event);
                return Ok(to_wit(outcome));
            }
            self.wait(&[task]).await?;
        }
    }

    async fn await_any(&mut self, tasks: Vec<u32>) -> Result<(u32, types::Outcome)> {
        let placeholder = Event::AnyAwaited {
            tasks: tasks.clone(),
            winner: 0,
            outcome: Ok(String::new()),
        };
        let s = &mut self.state;
        if let Some(Event::AnyAwaited {
            winner, outcome, ..
        }) = s.replayed(&placeholder)?
        {
            if let Some(&task) = tasks.get(winner as usize) {
                s.replayed_await(task);
            }
            return Ok((winner, to_wit(outcome)));
        }
        s.check_awaitable(&tasks, "await-any")?;
        loop {
            if let Some(index) = tasks.iter().position(|t| self.state.ready(*t)) {
                let outcome = self
                    .state
                    .take(tasks[index])
                    .expect("ready task has a result");
                let winner = index as u32;
                let task = tasks[index];
                let event = Event::AnyAwaited {
                    tasks,
                    winner,
                    outcome: outcome.clone(),
                };
                self.state.record_await(task, event);
                return Ok((winner, to_wit(outcome)));
            }
            self.wait(&tasks).await?;
        }
    }

    async fn now_ms(&mut self) -> Result<u64> {
        let s = &mut self.state;
        let live = s.live_time();
        match s.call(Event::Now { ms: live })? {
            (_, Some(Event::Now { ms })) => Ok(ms),
            _ => Ok(live),
        }
    }

    async fn random_u64(&mut self) -> Result<u64> {
        use rand::Rng;
        let s = &mut self.state;
        let live = s.rng.next_u64();
        match s.call(Event::Random { value: live })? {
            (_, Some(Event::Random { value })) => Ok(value),
            _ => Ok(live),
        }
    }

    async fn new_uuid(&mut self) -> Result<String> {
        use rand::Rng;
        let s = &mut self.state;
        let mut bytes = [0u8; 16];
        s.rng.fill_bytes(&mut bytes);
        let live = format_uuid(bytes);
        match s.call(Event::Uuid {
            value: live.clone(),
        })? {
            (_, Some(Event::Uuid { value })) => Ok(value),
            _ => Ok(live),
        }
    }

    async fn continue_as_new(&mut self, input: String) -> Result<()> {
        let s = &mut self.state;
        if let Some(Err(failure)) = s.oversized("continue-as-new input", &input) {
            return Err(Refused(failure.message).into());
        }
        s.continue_as_new = Some(input);
        Err(Unwind::ContinueAsNew.into())
    }

    async fn set_custom_status(&mut self, status: Option<String>) -> Result<()> {
        let s = &mut self.state;
        let (_, replayed) = s.call(Event::CustomStatus {
            status: status.clone(),
        })?;
        if replayed.is_none() {
            s.ops.push(Op::SetCustomStatus {
                instance_id: s.instance_id.clone(),
                status,
                at: s.directory.now_ms(),
            });
        }
        Ok(())
    }

    async fn log(&mut self, level: LogLevel, message: String) -> Result<()> {
        if !self.state.journal.replaying() {
            let source = Source::Instance {
                id: self.state.instance_id.as_str().into(),
                execution: self.state.execution,
            };
            guest_log::emit(level, &message, &source);
        }
        Ok(())
    }

    async fn is_replaying(&mut self) -> Result<bool> {
        Ok(self.state.journal.replaying())
    }
}
