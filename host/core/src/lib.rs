//! Reprise's concepts, with no engine and no database in them: what every
//! other crate of the host speaks.
//!
//! - [`history`]: the events an execution records, and their stored form.
//! - [`replay`]: the journal that answers recorded calls and notices when
//!   code asks for something else (non-determinism).
//! - [`store`]: the [`store::Store`] contract every backend keeps, its
//!   records and its writes ([`store::Op`]).
//! - [`names`]: the rules for ids and names users and guests choose.
//! - [`view`]: instances and events as JSON for people and programs.
//! - [`clock`]: the wall clock, in the milliseconds history records.

#![forbid(unsafe_code)]

pub mod clock;
pub mod history;
pub mod names;
pub mod replay;
pub mod store;
pub mod view;
