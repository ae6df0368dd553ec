//! Reprise's concepts, with no engine and no database in them: what every
//! other crate of the host speaks.
//!
//! - [`history`]: the events an execution records, and their stored form.
//! - [`replay`]: the journal that answers recorded calls and notices when
//!   code asks for something else (non-determinism).
//! - [`repair`]: what a fork or a rewind reads in history (open tasks,
//!   outcomes after a cut, where a failed execution is cut).
//! - [`store`]: the [`store::Store`] contract every backend keeps, its
//!   records and its writes ([`store::Op`]).
//! - [`actor`]: actor ids and operations.
//! - [`archive`]: a store's rows in a backend-neutral archive (backups,
//!   moving to another database).
//! - [`names`]: the rules for ids and names users and guests choose.
//! - [`view`]: instances and events as JSON for people and programs.
//! - [`waiting`]: what a blocked instance awaits, explained from the store.
//! - [`clock`]: the [`clock::Clock`] the runtime reads time from, and a
//!   test clock that moves when told (time skipping).

#![forbid(unsafe_code)]

pub mod actor;
pub mod archive;
pub mod clock;
pub mod history;
pub mod names;
pub mod repair;
pub mod replay;
pub mod store;
pub mod view;
pub mod waiting;
