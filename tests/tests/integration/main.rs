//! Integration tests: real guest components, built from source, on the real
//! host with a real SQLite file.

mod actors;
mod archive;
mod awaiting;
mod bad_input;
mod bank;
mod cli;
mod cluster;
mod components;
mod crash;
mod determinism;
mod events;
mod examples;
mod failures;
mod flow_control;
mod harnesses;
mod idempotency;
mod js;
mod languages;
mod lease;
mod lifecycle;
mod mailboxes;
mod polyglot;
mod postgres;
mod python;
mod reads;
mod repairs;
mod sandbox;
mod server;
mod timers;
mod upgrades;
mod waiting;
