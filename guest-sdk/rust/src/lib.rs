//! Write durable orchestrations and activities in Rust for the Reprise host.
//!
//! An **orchestration** is deterministic code that asks the host, through its
//! [`Context`], for everything that is not: activity calls, timers, external
//! events, sub-orchestrations, time and randomness. The host records every
//! answer, so after a crash it replays the same code to the same point.
//! An **activity** is a plain function with side effects; it runs at least
//! once and its result is recorded once.
//!
//! One crate (compiled with `cargo build --target wasm32-wasip2`) is one
//! component; [`app!`] names the orchestrations and activities it exports.
//!
//! ```no_run
//! use reprise_sdk::{Context, Result};
//!
//! fn hello_sequence(ctx: &Context, cities: Vec<String>) -> Result<Vec<String>> {
//!     let mut greetings = Vec::new();
//!     for city in cities {
//!         greetings.push(ctx.call_activity("say_hello", &city)?);
//!     }
//!     Ok(greetings)
//! }
//!
//! fn say_hello(city: String) -> Result<String> {
//!     Ok(format!("Hello, {city}!"))
//! }
//!
//! reprise_sdk::app! {
//!     orchestrations: [hello_sequence],
//!     activities: [say_hello],
//! }
//! # fn main() {}
//! ```
//!
//! Rules for orchestrations, all enforced by replay: never read the clock,
//! randomness, files or the network yourself (use [`Context::now`],
//! [`Context::random_u64`], activities); never iterate a `HashMap` to decide
//! what to schedule. A change that makes the code ask for something else at
//! a recorded position fails the instance with a non-determinism error.
#![deny(missing_docs)]

pub mod activity;
mod actor;
mod export;
mod failure;
mod json;
mod orchestration;
mod variants;

pub use actor::{Actor, ActorContext, ActorOp, ActorRef};
pub use failure::{Failure, Result};
pub use orchestration::{ActivityCall, Completed, Context, LogLevel, RetryPolicy, Task, TaskId};

/// Generated bindings for the `reprise:durable` WIT package. Not part of the API.
// The generated code crosses the component ABI, which takes `unsafe`.
#[doc(hidden)]
#[allow(missing_docs, unreachable_pub, unsafe_code)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "app",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_app",
        default_bindings_module: "reprise_sdk::bindings",
    });
}

/// Items the [`app!`] macro expands to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::actor::read_only;
    pub use crate::export::{App, Handled, run_activity, run_actor, run_orchestration};
}

/// Exports the listed functions as this component's orchestrations and
/// activities, each under its function name, and the listed [`Actor`] types
/// under their kinds.
///
/// An orchestration is `fn(&Context, I) -> Result<O>` and an activity is
/// `fn(I) -> Result<O>`, where `I: Deserialize` and `O: Serialize`. Any list
/// may be empty; `actors` may be left out.
#[macro_export]
macro_rules! app {
    (
        orchestrations: [$($orchestration:ident),* $(,)?],
        activities: [$($activity:ident),* $(,)?] $(,)?
    ) => {
        $crate::app! {
            orchestrations: [$($orchestration),*],
            activities: [$($activity),*],
            actors: [],
        }
    };
    (
        orchestrations: [$($orchestration:ident),* $(,)?],
        activities: [$($activity:ident),* $(,)?],
        actors: [$($actor:ty),* $(,)?] $(,)?
    ) => {
        struct __RepriseApp;

        impl $crate::__private::App for __RepriseApp {
            fn orchestration_names() -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![$(::std::string::String::from(stringify!($orchestration))),*]
            }

            fn activity_names() -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![$(::std::string::String::from(stringify!($activity))),*]
            }

            fn actor_kinds() -> ::std::vec::Vec<::std::string::String> {
                // Checked here, so that a read-only name that is no
                // operation fails the registration.
                $(let _ = $crate::__private::read_only::<$actor>();)*
                ::std::vec![$(::std::string::String::from(<$actor as $crate::Actor>::KIND)),*]
            }

            fn actor_read_only(kind: &str) -> ::std::vec::Vec<::std::string::String> {
                $(
                    if kind == <$actor as $crate::Actor>::KIND {
                        return $crate::__private::read_only::<$actor>();
                    }
                )*
                ::std::vec::Vec::new()
            }

            #[allow(unused_variables)]
            fn run_orchestration(
                name: &str,
                input: &str,
            ) -> ::std::option::Option<$crate::Result<::std::string::String>> {
                $(
                    if name == stringify!($orchestration) {
                        return ::std::option::Option::Some(
                            $crate::__private::run_orchestration(input, $orchestration),
                        );
                    }
                )*
                ::std::option::Option::None
            }

            #[allow(unused_variables)]
            fn run_activity(
                name: &str,
                input: &str,
            ) -> ::std::option::Option<$crate::Result<::std::string::String>> {
                $(
                    if name == stringify!($activity) {
                        return ::std::option::Option::Some(
                            $crate::__private::run_activity(input, $activity),
                        );
                    }
                )*
                ::std::option::Option::None
            }

            #[allow(unused_variables)]
            fn handle_actor(
                kind: &str,
                key: &str,
                operation: &str,
                input: &str,
                state: ::std::option::Option<&str>,
            ) -> ::std::option::Option<$crate::Result<$crate::__private::Handled>> {
                $(
                    if kind == <$actor as $crate::Actor>::KIND {
                        return ::std::option::Option::Some(
                            $crate::__private::run_actor::<$actor>(key, operation, input, state),
                        );
                    }
                )*
                ::std::option::Option::None
            }
        }

        // The generated exports cross the component ABI, which takes `unsafe`.
        #[allow(unsafe_code)]
        mod __reprise_exports {
            use super::__RepriseApp;
            $crate::bindings::__export_app!(__RepriseApp with_types_in $crate::bindings);
        }
    };
}
