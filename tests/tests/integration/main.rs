//! Integration tests: real guest components, built from source, on the real
//! host with a real SQLite file.

mod actors;
mod bad_input;
mod bank;
mod crash;
mod determinism;
mod events;
mod examples;
mod lifecycle;
mod sandbox;
