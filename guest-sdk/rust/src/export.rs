//! The glue between the generated WIT exports and the functions named in
//! [`app!`](crate::app): JSON in, typed call, JSON out.

use serde::{Serialize, de::DeserializeOwned};

use crate::bindings::exports::reprise::durable::{activities, actor_reads, actors, orchestrator};
use crate::bindings::reprise::durable::types;
use crate::json::to_json;
use crate::{Actor, ActorContext, Context, Failure, Result};

/// Implemented by the type [`app!`](crate::app) declares.
pub trait App {
    /// Names of the exported orchestrations.
    fn orchestration_names() -> Vec<String>;
    /// Names of the exported activities.
    fn activity_names() -> Vec<String>;
    /// Runs orchestration `name`, or `None` if there is none of that name.
    fn run_orchestration(name: &str, input: &str) -> Option<Result<String>>;
    /// Runs activity `name`, or `None` if there is none of that name.
    fn run_activity(name: &str, input: &str) -> Option<Result<String>>;
    /// Kinds of the exported actors.
    fn actor_kinds() -> Vec<String>;
    /// The read-only operations of actor kind `kind`.
    fn actor_read_only(kind: &str) -> Vec<String>;
    /// Applies an operation to an actor of `kind`, or `None` if there is no such kind.
    fn handle_actor(
        kind: &str,
        key: &str,
        operation: &str,
        input: &str,
        state: Option<&str>,
    ) -> Option<Result<Handled>>;
}

/// What an actor operation leaves: the new state (`None` deletes it) and the output.
pub type Handled = (Option<String>, String);

/// Decodes the state and operation, applies it, and encodes the results.
pub fn run_actor<A: Actor>(
    key: &str,
    operation: &str,
    input: &str,
    state: Option<&str>,
) -> Result<Handled> {
    let mut actor: A = match state {
        Some(state) => serde_json::from_str(state)
            .map_err(|e| Failure::new(format!("cannot decode the actor's state: {e}")))?,
        None => A::default(),
    };
    let read_only = A::READ_ONLY.contains(&operation);
    let before = if read_only {
        Some(to_json(&actor, "the actor's state")?)
    } else {
        None
    };
    let name = operation;
    let operation: A::Operation = crate::actor::join(operation, input)?;
    let ctx = ActorContext::new(key);
    let output = actor.handle(&ctx, operation)?;
    if let Some(before) = before {
        if ctx.deleted() || to_json(&actor, "the actor's state")? != before {
            return Err(Failure::new(format!(
                "read-only operation {name:?} of actor {}/{key} changed the actor's state; a read-only operation may only read it",
                A::KIND
            )));
        }
        // As it came: the host checks that a read gives it back unchanged.
        return Ok((
            state.map(str::to_owned),
            to_json(&output, "the actor operation's output")?,
        ));
    }
    let state = if ctx.deleted() {
        None
    } else {
        Some(to_json(&actor, "the actor's new state")?)
    };
    Ok((state, to_json(&output, "the actor operation's output")?))
}

/// Decodes the input, runs a typed orchestration and encodes its output.
pub fn run_orchestration<I, O>(input: &str, f: fn(&Context, I) -> Result<O>) -> Result<String>
where
    I: DeserializeOwned,
    O: Serialize,
{
    let input = decode(input)?;
    to_json(&f(&Context::new(), input)?, "the orchestration's output")
}

/// Decodes the input, runs a typed activity and encodes its output.
pub fn run_activity<I, O>(input: &str, f: fn(I) -> Result<O>) -> Result<String>
where
    I: DeserializeOwned,
    O: Serialize,
{
    to_json(&f(decode(input)?)?, "the activity's output")
}

fn decode<I: DeserializeOwned>(input: &str) -> Result<I> {
    serde_json::from_str(input).map_err(|e| Failure::new(format!("cannot decode input: {e}")))
}

fn unknown(kind: &str, name: &str) -> types::Failure {
    Failure::new(format!("this component has no {kind} named {name:?}")).into()
}

impl<T: App> orchestrator::Guest for T {
    fn orchestrations() -> Vec<String> {
        T::orchestration_names()
    }

    fn run(name: String, input: String) -> std::result::Result<String, types::Failure> {
        match T::run_orchestration(&name, &input) {
            Some(result) => result.map_err(Into::into),
            None => Err(unknown("orchestration", &name)),
        }
    }
}

impl<T: App> activities::Guest for T {
    fn activities() -> Vec<String> {
        T::activity_names()
    }

    fn run(name: String, input: String) -> std::result::Result<String, types::Failure> {
        match T::run_activity(&name, &input) {
            Some(result) => result.map_err(Into::into),
            None => Err(unknown("activity", &name)),
        }
    }
}

impl<T: App> actor_reads::Guest for T {
    fn read_only_operations(kind: String) -> Vec<String> {
        T::actor_read_only(&kind)
    }
}

impl<T: App> actors::Guest for T {
    fn kinds() -> Vec<String> {
        T::actor_kinds()
    }

    fn handle(
        kind: String,
        key: String,
        operation: String,
        input: String,
        state: Option<String>,
    ) -> std::result::Result<actors::Handled, types::Failure> {
        match T::handle_actor(&kind, &key, &operation, &input, state.as_deref()) {
            Some(Ok((state, output))) => Ok(actors::Handled { state, output }),
            Some(Err(failure)) => Err(failure.into()),
            None => Err(unknown("actor kind", &kind)),
        }
    }
}
