//! The orchestration side: a [`Context`] through which deterministic code
//! schedules work and awaits it.

use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, de::DeserializeOwned};

use crate::bindings::reprise::durable::{orchestration_context as host, types};
use crate::json::to_json;
use crate::{Failure, Result};

/// Identifies a task within one execution of an orchestration.
pub type TaskId = u32;

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// Something failed.
    Error,
}

impl From<LogLevel> for types::LogLevel {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Trace => Self::Trace,
            LogLevel::Debug => Self::Debug,
            LogLevel::Info => Self::Info,
            LogLevel::Warn => Self::Warn,
            LogLevel::Error => Self::Error,
        }
    }
}

/// How a failed activity is retried: exponential backoff between attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub first_retry: Duration,
    /// Each further delay is the previous one times this.
    pub backoff_coefficient: f64,
    /// No delay is longer than this.
    pub max_retry: Duration,
}

impl RetryPolicy {
    /// `max_attempts` attempts, the first retry after `first_retry`, then
    /// doubling up to a minute.
    pub fn exponential(max_attempts: u32, first_retry: Duration) -> Self {
        Self {
            max_attempts,
            first_retry,
            backoff_coefficient: 2.0,
            max_retry: Duration::from_secs(60),
        }
    }
}

/// A task the orchestration may await: its result decodes to `T`.
///
/// Dropping a task does not cancel it; an unawaited task's result is simply
/// never read.
#[derive(Debug)]
#[must_use = "a task does nothing for the orchestration until it is awaited"]
pub struct Task<T> {
    id: TaskId,
    output: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Task<T> {
    pub(crate) fn new(id: TaskId) -> Self {
        Self {
            id,
            output: PhantomData,
        }
    }

    /// The task's id, for [`Context::when_any`].
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Waits for the task and decodes its result. A task that already won
    /// a [`Context::when_any`] gives the same result again.
    pub fn result(self) -> Result<T> {
        decode_outcome(host::await_task(self.id))
    }
}

/// The first task to finish among those given to [`Context::when_any`].
#[derive(Debug)]
pub struct Completed {
    /// Its position in the list given to `when_any`.
    pub index: usize,
    outcome: types::Outcome,
}

impl Completed {
    /// Decodes what the task produced.
    pub fn result<T: DeserializeOwned>(self) -> Result<T> {
        decode_outcome(self.outcome)
    }
}

fn decode_outcome<T: DeserializeOwned>(outcome: types::Outcome) -> Result<T> {
    let json = outcome.map_err(Failure::from_wit)?;
    serde_json::from_str(&json).map_err(|e| Failure::new(format!("cannot decode task result: {e}")))
}

fn encode<T: Serialize + ?Sized>(value: &T, what: std::fmt::Arguments<'_>) -> String {
    // Only programming errors fail here (a NaN, a map with non-string keys),
    // in calls that return no `Result`: the panic's message reaches the
    // instance's failure.
    to_json(value, what).unwrap_or_else(|failure| panic!("{failure}"))
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// An activity call being configured: see [`Context::activity`].
#[derive(Debug)]
#[must_use = "call `.call()` or `.schedule()` to run the activity"]
pub struct ActivityCall<'a> {
    name: &'a str,
    input: String,
    options: types::ActivityOptions,
}

impl ActivityCall<'_> {
    /// Retries failed attempts by this policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = Some(types::RetryPolicy {
            max_attempts: policy.max_attempts.max(1),
            first_retry_ms: millis(policy.first_retry),
            backoff_coefficient: policy.backoff_coefficient,
            max_retry_ms: millis(policy.max_retry),
        });
        self
    }

    /// Fails an attempt that runs longer than this.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout_ms = Some(millis(timeout));
        self
    }

    /// Schedules the activity without waiting for it.
    pub fn schedule<O: DeserializeOwned>(self) -> Task<O> {
        Task::new(host::schedule_activity(
            self.name,
            &self.input,
            self.options,
        ))
    }

    /// Schedules the activity and waits for its result.
    pub fn call<O: DeserializeOwned>(self) -> Result<O> {
        self.schedule().result()
    }
}

/// The orchestration's window on the world. Every method is recorded in the
/// instance's history and answered from it on replay.
#[derive(Debug)]
pub struct Context {
    _private: (),
}

impl Context {
    pub(crate) fn new() -> Self {
        Self { _private: () }
    }

    /// The id of this instance.
    pub fn instance_id(&self) -> String {
        host::instance_id()
    }

    /// Starts configuring an activity call (retries, timeout).
    ///
    /// ```no_run
    /// # use reprise_sdk::{Context, Result, RetryPolicy};
    /// # use std::time::Duration;
    /// # fn f(ctx: &Context) -> Result<()> {
    /// let receipt: String = ctx
    ///     .activity("charge_card", &42)
    ///     .retry(RetryPolicy::exponential(5, Duration::from_secs(1)))
    ///     .timeout(Duration::from_secs(30))
    ///     .call()?;
    /// # Ok(()) }
    /// ```
    pub fn activity<'a, I: Serialize + ?Sized>(
        &self,
        name: &'a str,
        input: &I,
    ) -> ActivityCall<'a> {
        ActivityCall {
            name,
            input: encode(input, format_args!("the input to activity {name:?}")),
            options: types::ActivityOptions {
                retry: None,
                timeout_ms: None,
            },
        }
    }

    /// Schedules an activity with default options; await the returned task.
    pub fn schedule_activity<I, O>(&self, name: &str, input: &I) -> Task<O>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        self.activity(name, input).schedule()
    }

    /// Runs an activity with default options and waits for its result.
    pub fn call_activity<I, O>(&self, name: &str, input: &I) -> Result<O>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        self.activity(name, input).call()
    }

    /// A durable timer: a task that completes after `delay`.
    pub fn timer(&self, delay: Duration) -> Task<()> {
        Task::new(host::schedule_timer(millis(delay)))
    }

    /// Sleeps durably: the instance may be unloaded and resumed meanwhile.
    pub fn sleep(&self, delay: Duration) {
        // A timer's result is `null`; it cannot fail.
        let _ = self.timer(delay).result();
    }

    /// A task that completes with the next external event named `name`.
    /// Events sent before this call wait in the instance's inbox.
    pub fn wait_for_event<T: DeserializeOwned>(&self, name: &str) -> Task<T> {
        Task::new(host::wait_event(name))
    }

    /// Starts a sub-orchestration; its output is the task's result.
    pub fn schedule_orchestration<I, O>(&self, name: &str, input: &I) -> Task<O>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        Task::new(host::schedule_orchestration(
            name,
            &encode(input, format_args!("the input to orchestration {name:?}")),
            None,
        ))
    }

    /// Starts a sub-orchestration with a chosen instance id.
    pub fn schedule_orchestration_with_id<I, O>(&self, name: &str, id: &str, input: &I) -> Task<O>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        Task::new(host::schedule_orchestration(
            name,
            &encode(input, format_args!("the input to orchestration {name:?}")),
            Some(id),
        ))
    }

    /// Runs a sub-orchestration and waits for its output.
    pub fn call_orchestration<I, O>(&self, name: &str, input: &I) -> Result<O>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        self.schedule_orchestration(name, input).result()
    }

    /// Waits for every task (fan-in) and returns their results in order; the
    /// first failure, in task order, is returned instead.
    pub fn when_all<T: DeserializeOwned>(&self, tasks: Vec<Task<T>>) -> Result<Vec<T>> {
        tasks.into_iter().map(Task::result).collect()
    }

    /// Waits for the first of the tasks to finish: a race, such as an event
    /// against a timer. The others keep running and may be awaited later;
    /// awaiting the winner's task returns the same result. An empty list
    /// fails the orchestration.
    ///
    /// ```no_run
    /// # use reprise_sdk::{Context, Result};
    /// # use std::time::Duration;
    /// # fn f(ctx: &Context) -> Result<bool> {
    /// let approval = ctx.wait_for_event::<bool>("approval");
    /// let deadline = ctx.timer(Duration::from_secs(3600));
    /// let first = ctx.when_any(&[approval.id(), deadline.id()]);
    /// Ok(first.index == 0 && first.result::<bool>()?)
    /// # }
    /// ```
    pub fn when_any(&self, tasks: &[TaskId]) -> Completed {
        let (index, outcome) = host::await_any(tasks);
        Completed {
            index: index as usize,
            outcome,
        }
    }

    /// Orchestration time: when the current step was first executed.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(host::now_ms())
    }

    /// A recorded random number.
    pub fn random_u64(&self) -> u64 {
        host::random_u64()
    }

    /// A recorded random UUID (version 4), as text.
    pub fn new_uuid(&self) -> String {
        host::new_uuid()
    }

    /// Ends this execution and starts the next with `input` and a fresh
    /// history; external events not yet consumed carry over. Use it for
    /// eternal orchestrations, so history does not grow without bound.
    pub fn continue_as_new<I: Serialize + ?Sized>(&self, input: &I) -> ! {
        host::continue_as_new(&encode(input, format_args!("the input to continue-as-new")));
        unreachable!("the host does not return from continue-as-new")
    }

    /// Sets the custom status that `reprise status` shows.
    pub fn set_custom_status<S: Serialize + ?Sized>(&self, status: &S) {
        host::set_custom_status(Some(&encode(status, format_args!("the custom status"))));
    }

    /// Clears the custom status.
    pub fn clear_custom_status(&self) {
        host::set_custom_status(None);
    }

    /// Logs a line once: lines are dropped while replaying.
    pub fn log(&self, level: LogLevel, message: &str) {
        host::log(level.into(), message);
    }

    /// True while the host replays recorded history.
    pub fn is_replaying(&self) -> bool {
        host::is_replaying()
    }
}
