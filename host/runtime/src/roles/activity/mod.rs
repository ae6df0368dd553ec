//! The activity role: code with side effects, run at least once. An
//! attempt runs in the activity sandbox (real clocks and randomness, and
//! what configuration grants), with a timeout; native activities (written
//! in Rust and registered with the runtime) run beside component ones.
//! Which attempts run when, and where their results go, is the
//! scheduler's (`sched::activities`).

mod context;

pub(crate) use context::ActivityState;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::history::{Failure, Outcome};
use crate::store::{ActivityTask, MessageKind, NewMessage, Op};
use crate::wasm::bindings::ACTIVITIES;
use crate::wasm::bindings::exports::reprise::durable::activities;
use crate::wasm::bindings::reprise::durable::activity_context;
use crate::wasm::guest_log::Source;
use crate::wasm::role_bindings;
use crate::wasm::sandbox::{self, ActivityGrants};
use crate::wasm::{ComponentError, GuestLimit, Guests, LoadedComponent, Registry, Role};
use crate::wasm::{Prepared, trap};

/// The activity role.
pub(crate) struct Activity;

impl Role for Activity {
    type State = ActivityState;

    const EXPORT: &'static str = ACTIVITIES;
    const CONTEXT: &'static str = "reprise:durable/activity-context@0.1.0";
    const DESCRIPTION: &'static str = "activities";
    const LISTS: &'static str = "activities";

    role_bindings!(activities, activity_context, call_activities);
}

/// An activity written in Rust and registered with the runtime.
pub(crate) type NativeActivity =
    Arc<dyn Fn(NativeCall) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// What a native activity is called with.
#[derive(Debug, Clone)]
pub struct NativeCall {
    /// The orchestration instance that scheduled it.
    pub instance_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Input, JSON.
    pub input: String,
}

/// An activity's final result, passed by the dispatcher straight to the hot
/// instance that scheduled it instead of being committed to its inbox. The
/// episode that consumes it removes the task in the commit that records the
/// result, saving a commit and an inbox row; a result the instance does not
/// consume at once goes to its inbox ([`ActivityResult::into_inbox`]).
#[derive(Debug)]
pub(crate) struct ActivityResult {
    /// The activity task's row, still in the store.
    pub(crate) task_id: i64,
    /// The instance that scheduled it.
    pub(crate) instance_id: String,
    /// Its execution.
    pub(crate) execution: u32,
    /// Its task id.
    pub(crate) task: u32,
    /// What the activity produced.
    pub(crate) outcome: Outcome,
}

impl ActivityResult {
    /// The write that removes the task and puts the result in the inbox.
    pub(crate) fn into_inbox(self) -> Op {
        Op::CompleteActivity {
            task_id: self.task_id,
            message: NewMessage {
                instance_id: self.instance_id,
                execution: Some(self.execution),
                task: Some(self.task),
                kind: MessageKind::Activity,
                name: None,
                payload: serde_json::to_string(&self.outcome).unwrap_or_default(),
            },
        }
    }
}

/// Native activities by name.
pub(crate) type Natives = HashMap<String, NativeActivity>;

/// What activity attempts run with besides their component: the native
/// activities, and what components may reach.
#[derive(Default)]
pub(crate) struct Activities {
    pub(crate) natives: Natives,
    pub(crate) grants: ActivityGrants,
}

/// How long one attempt of `task` may take: its own timeout, else the
/// limits'.
pub(crate) fn timeout_of(task: &ActivityTask, limits: &crate::wasm::Limits) -> Duration {
    task.options
        .timeout_ms
        .map_or(limits.activity_timeout, Duration::from_millis)
}

/// Runs one attempt of `task` within its timeout ([`timeout_of`]), and
/// checks its output's size.
pub(crate) async fn run_attempt(
    activities: &Activities,
    registry: &Registry,
    guests: &Guests,
    task: &ActivityTask,
) -> Outcome {
    let limits = guests.limits();
    let timeout = timeout_of(task, limits);
    let attempt = attempt(activities, registry, guests, task, timeout);
    let outcome = match tokio::time::timeout(timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Failure::new(format!(
            "activity timed out after {timeout:?}"
        ))),
    };
    match outcome {
        Ok(output) if output.len() > limits.max_payload_bytes => Err(Failure::new(format!(
            "activity output of {} bytes exceeds the limit of {} bytes",
            output.len(),
            limits.max_payload_bytes
        ))),
        other => other,
    }
}

async fn attempt(
    activities: &Activities,
    registry: &Registry,
    guests: &Guests,
    task: &ActivityTask,
    timeout: Duration,
) -> Outcome {
    if task.digest.is_empty() {
        let Some(native) = activities.natives.get(&task.name).cloned() else {
            return Err(Failure::new(format!(
                "no activity named {:?} is registered",
                task.name
            )));
        };
        return native(NativeCall {
            instance_id: task.instance_id.clone(),
            attempt: task.attempt,
            input: task.input.clone(),
        })
        .await;
    }
    let component = registry
        .load(&task.digest)
        .await
        .map_err(|e| Failure::new(e.to_string()))?;
    let Prepared { pre, indices } = component.require::<Activity>()?;
    let source = Source::Activity {
        instance_id: task.instance_id.as_str().into(),
        attempt: task.attempt,
    };
    let sandbox = sandbox::activity_wasi(&activities.grants, &source)
        .map_err(|e| Failure::new(e.to_string()))?;
    let state = ActivityState {
        instance_id: task.instance_id.clone(),
        attempt: task.attempt,
    };
    let (mut store, instance) = guests.instantiate(pre, sandbox, state, timeout).await;
    let run = async {
        let guest = indices.load(&mut store, &instance?)?;
        guest.call_run(&mut store, &task.name, &task.input).await
    };
    match run.await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(failure)) => Err(failure.into()),
        Err(error) => match error.downcast_ref::<GuestLimit>() {
            Some(GuestLimit::Deadline(_)) => Err(Failure::new(format!(
                "activity timed out after {timeout:?}"
            ))),
            _ => Err(trap::describe(&error, &store.data().stderr)),
        },
    }
}

/// The names a component's activities export (none if it has none).
pub(crate) async fn names(
    guests: &Guests,
    component: &LoadedComponent,
) -> Result<Vec<String>, ComponentError> {
    crate::wasm::list_exports::<Activity>(guests, component, || {
        // Whose lines a component writes while it lists its activities.
        let source = Source::Activity {
            instance_id: "registration".into(),
            attempt: 0,
        };
        let sandbox = sandbox::activity_wasi(&ActivityGrants::default(), &source)
            .map_err(|why| why.to_string())?;
        let state = ActivityState {
            instance_id: "registration".into(),
            attempt: 0,
        };
        Ok((sandbox, state))
    })
    .await
}
