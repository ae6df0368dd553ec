//! Actors: addressable entities with durable state that handle one operation
//! at a time.
//!
//! An actor type is its state: a struct implementing [`Actor`], with an enum
//! of operations. The host keeps one state per key, hands each operation the
//! current state, and commits the new state together with the operation's
//! effects (signals it sent, orchestrations it started, the reply to its
//! caller) in one transaction: each operation takes effect exactly once.
//!
//! ```no_run
//! use reprise_sdk::{Actor, ActorContext, Failure, Result};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Default, Serialize, Deserialize)]
//! struct Account {
//!     balance: i64,
//! }
//!
//! #[derive(Serialize, Deserialize)]
//! #[serde(rename_all = "snake_case")]
//! enum AccountOp {
//!     Deposit(i64),
//!     Withdraw(i64),
//!     Balance,
//! }
//!
//! impl Actor for Account {
//!     const KIND: &'static str = "account";
//!     type Operation = AccountOp;
//!
//!     fn handle(&mut self, _ctx: &ActorContext, op: AccountOp) -> Result<serde_json::Value> {
//!         match op {
//!             AccountOp::Deposit(amount) => self.balance += amount,
//!             AccountOp::Withdraw(amount) if amount > self.balance => {
//!                 return Err(Failure::new("insufficient funds"));
//!             }
//!             AccountOp::Withdraw(amount) => self.balance -= amount,
//!             AccountOp::Balance => {}
//!         }
//!         Ok(self.balance.into())
//!     }
//! }
//! ```
//!
//! `const READ_ONLY: &'static [&'static str] = &["balance"];` in the
//! `impl` would make `balance` a read: answered at once, ahead of queued
//! deposits and withdrawals (see [`Actor::READ_ONLY`]).

use std::marker::PhantomData;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::bindings::reprise::durable::{actor_context as host, types};
use crate::json::to_json;
use crate::orchestration::{LogLevel, Task, millis};
use crate::{Context, Failure, Result};

/// An actor type: its value is the actor's state.
///
/// Operations are an enum, externally tagged (serde's default): the variant
/// name is the operation's name and its content the input, so
/// `AccountOp::Withdraw(30)` is operation `withdraw` with input `30`.
/// A failed operation leaves the state as it was.
pub trait Actor: Default + Serialize + DeserializeOwned {
    /// The kind actors of this type are addressed by.
    const KIND: &'static str;
    /// The operations this actor handles.
    type Operation: Serialize + DeserializeOwned;

    /// The operations that only read the state, by name (as
    /// [`Actor::Operation`]'s variants are named in JSON). A call of one is
    /// answered at once from the actor's last committed state, side by
    /// side with other reads and ahead of the writes queued for the actor;
    /// one that changes the state, deletes it or sends anything fails:
    /// `const READ_ONLY: &'static [&'static str] = &["balance"];`.
    /// A name that is not an operation of the actor fails its component's
    /// registration.
    const READ_ONLY: &'static [&'static str] = &[];

    /// Applies one operation; the returned value goes to the caller.
    fn handle(&mut self, ctx: &ActorContext, operation: Self::Operation) -> Result<Value>;
}

/// The actor's read-only operations, checked against its operations'
/// names (where serde tells them: an externally tagged enum).
pub fn read_only<A: Actor>() -> Vec<String> {
    if let Some(names) = crate::variants::names::<A::Operation>() {
        for read in A::READ_ONLY {
            assert!(
                names.contains(read),
                "actor kind {:?} declares read-only operation {read:?}, which is not one of its operations ({})",
                A::KIND,
                names.join(", ")
            );
        }
    }
    A::READ_ONLY.iter().map(|&name| name.to_owned()).collect()
}

/// Splits a typed operation into its name and JSON input.
pub(crate) fn split<O: Serialize>(operation: &O) -> (String, String) {
    match serde_json::to_value(operation) {
        Ok(Value::String(name)) => (name, "null".into()),
        Ok(Value::Object(map)) if map.len() == 1 => {
            let (name, input) = map.into_iter().next().expect("one entry");
            (name, input.to_string())
        }
        other => {
            panic!("an actor operation must serialise as an externally tagged enum, got {other:?}")
        }
    }
}

/// Rebuilds a typed operation from its name and JSON input.
pub(crate) fn join<O: DeserializeOwned>(name: &str, input: &str) -> Result<O> {
    let input: Value = serde_json::from_str(input)
        .map_err(|e| Failure::new(format!("operation input is not JSON: {e}")))?;
    let unit = input.is_null();
    let tagged = Value::Object([(name.to_owned(), input)].into_iter().collect());
    serde_json::from_value(tagged)
        .or_else(|error| {
            if unit {
                serde_json::from_value(Value::String(name.to_owned())).map_err(|_| error)
            } else {
                Err(error)
            }
        })
        .map_err(|e| Failure::new(format!("unknown operation {name:?} or bad input: {e}")))
}

fn target<A: Actor, O: Serialize>(key: &str, operation: &O) -> types::ActorOperation {
    let (operation, input) = split(operation);
    types::ActorOperation {
        target: types::ActorId {
            kind: A::KIND.to_owned(),
            key: key.to_owned(),
        },
        operation,
        input,
    }
}

/// What an actor may ask of the host while it handles an operation.
#[derive(Debug)]
pub struct ActorContext {
    key: String,
    delete: std::cell::Cell<bool>,
}

impl ActorContext {
    pub(crate) fn new(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            delete: std::cell::Cell::new(false),
        }
    }

    pub(crate) fn deleted(&self) -> bool {
        self.delete.get()
    }

    /// This actor's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Sends an operation to an actor (this one included), one-way. It is
    /// sent only if this operation commits.
    pub fn signal<A: Actor>(&self, key: &str, operation: A::Operation) {
        host::signal(&target::<A, _>(key, &operation), None);
    }

    /// Like [`ActorContext::signal`], delivered after `delay`: a durable reminder.
    pub fn signal_after<A: Actor>(&self, key: &str, operation: A::Operation, delay: Duration) {
        host::signal(&target::<A, _>(key, &operation), Some(millis(delay)));
    }

    /// Starts an orchestration if this operation commits; returns its id.
    pub fn start_orchestration<I: Serialize + ?Sized>(
        &self,
        name: &str,
        input: &I,
    ) -> Result<String> {
        let input = to_json(input, format_args!("the input to orchestration {name:?}"))?;
        Ok(host::start_orchestration(name, &input, None))
    }

    /// Deletes this actor's state once the operation commits.
    pub fn delete_state(&self) {
        self.delete.set(true);
    }

    /// The time.
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(host::now_ms())
    }

    /// A random number.
    pub fn random_u64(&self) -> u64 {
        host::random_u64()
    }

    /// A random UUID (version 4).
    pub fn new_uuid(&self) -> String {
        host::new_uuid()
    }

    /// Logs a line, tagged with the actor.
    pub fn log(&self, level: LogLevel, message: &str) {
        host::log(level.into(), message);
    }
}

/// One operation on one actor, for [`Context::call_actors_atomically`].
#[derive(Debug, Clone)]
pub struct ActorOp(types::ActorOperation);

impl ActorOp {
    /// Operation `operation` on actor `key` of type `A`.
    pub fn new<A: Actor>(key: &str, operation: A::Operation) -> Self {
        Self(target::<A, _>(key, &operation))
    }
}

/// An actor as an orchestration sees it: see [`Context::actor`].
#[derive(Debug)]
pub struct ActorRef<'a, A> {
    key: &'a str,
    actor: PhantomData<fn() -> A>,
}

impl<A: Actor> ActorRef<'_, A> {
    /// Calls an operation and waits for its output.
    pub fn call<O: DeserializeOwned>(&self, operation: A::Operation) -> Result<O> {
        self.schedule_call(operation).result()
    }

    /// Calls an operation without waiting: await the task later.
    pub fn schedule_call<O: DeserializeOwned>(&self, operation: A::Operation) -> Task<O> {
        Task::new(
            crate::bindings::reprise::durable::orchestration_context::call_actor(&target::<A, _>(
                self.key, &operation,
            )),
        )
    }

    /// Sends an operation one-way.
    pub fn signal(&self, operation: A::Operation) {
        crate::bindings::reprise::durable::orchestration_context::signal_actor(&target::<A, _>(
            self.key, &operation,
        ));
    }
}

impl Context {
    /// The actor of type `A` with this key.
    ///
    /// ```no_run
    /// # use reprise_sdk::{Actor, ActorContext, Context, Result};
    /// # #[derive(Default, serde::Serialize, serde::Deserialize)] struct Account;
    /// # #[derive(serde::Serialize, serde::Deserialize)] enum Op { Withdraw(i64) }
    /// # impl Actor for Account { const KIND: &'static str = "account"; type Operation = Op;
    /// #   fn handle(&mut self, _: &ActorContext, _: Op) -> Result<serde_json::Value> { Ok(0.into()) } }
    /// # fn f(ctx: &Context) -> Result<()> {
    /// let balance: i64 = ctx.actor::<Account>("alice").call(Op::Withdraw(30))?;
    /// # Ok(()) }
    /// ```
    pub fn actor<'a, A: Actor>(&self, key: &'a str) -> ActorRef<'a, A> {
        ActorRef {
            key,
            actor: PhantomData,
        }
    }

    /// Runs the operations in order and commits every actor's new state, or,
    /// if any fails, none. Returns the outputs in order.
    pub fn call_actors_atomically(&self, operations: &[ActorOp]) -> Result<Vec<Value>> {
        let operations: Vec<types::ActorOperation> =
            operations.iter().map(|op| op.0.clone()).collect();
        Task::new(
            crate::bindings::reprise::durable::orchestration_context::call_actors_atomically(
                &operations,
            ),
        )
        .result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Serialize, serde::Deserialize)]
    struct Account;

    #[derive(Serialize, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum AccountOp {
        Deposit(i64),
        CurrentBalance,
    }

    impl Actor for Account {
        const KIND: &'static str = "account";
        type Operation = AccountOp;
        const READ_ONLY: &'static [&'static str] = &["current_balance"];

        fn handle(&mut self, _: &ActorContext, _: AccountOp) -> Result<Value> {
            Ok(Value::Null)
        }
    }

    #[derive(Default, Serialize, serde::Deserialize)]
    struct Misspelt;

    impl Actor for Misspelt {
        const KIND: &'static str = "misspelt";
        type Operation = AccountOp;
        const READ_ONLY: &'static [&'static str] = &["CurrentBalance"];

        fn handle(&mut self, _: &ActorContext, _: AccountOp) -> Result<Value> {
            Ok(Value::Null)
        }
    }

    #[test]
    fn read_only_names_are_the_operations_names_in_json() {
        assert_eq!(read_only::<Account>(), ["current_balance"]);
    }

    #[test]
    #[should_panic(
        expected = "actor kind \"misspelt\" declares read-only operation \"CurrentBalance\", which is not one of its operations (deposit, current_balance)"
    )]
    fn a_read_only_name_that_is_no_operation_is_refused() {
        read_only::<Misspelt>();
    }
}
