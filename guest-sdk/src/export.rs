//! The glue between the generated WIT exports and the functions named in
//! [`app!`](crate::app): JSON in, typed call, JSON out.

use serde::{Serialize, de::DeserializeOwned};

use crate::bindings::exports::reprise::durable::{activities, orchestrator};
use crate::bindings::reprise::durable::types;
use crate::{Context, Failure, Result};

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
}

/// Decodes the input, runs a typed orchestration and encodes its output.
pub fn run_orchestration<I, O>(input: &str, f: fn(&Context, I) -> Result<O>) -> Result<String>
where
    I: DeserializeOwned,
    O: Serialize,
{
    let input = decode(input)?;
    encode(&f(&Context::new(), input)?)
}

/// Decodes the input, runs a typed activity and encodes its output.
pub fn run_activity<I, O>(input: &str, f: fn(I) -> Result<O>) -> Result<String>
where
    I: DeserializeOwned,
    O: Serialize,
{
    encode(&f(decode(input)?)?)
}

fn decode<I: DeserializeOwned>(input: &str) -> Result<I> {
    serde_json::from_str(input).map_err(|e| Failure::new(format!("cannot decode input: {e}")))
}

fn encode<O: Serialize>(output: &O) -> Result<String> {
    serde_json::to_string(output).map_err(|e| Failure::new(format!("cannot encode output: {e}")))
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
