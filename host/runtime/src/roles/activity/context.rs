//! The `activity-context` host functions: what an activity guest can ask
//! about itself, and its log.

use crate::wasm::GuestData;
use crate::wasm::bindings::reprise::durable::activity_context::Host;
use crate::wasm::bindings::reprise::durable::types::{self, LogLevel};
use crate::wasm::guest_log::{self, Source};

/// What an activity guest can ask about itself.
#[derive(Debug)]
pub(crate) struct ActivityState {
    pub(super) instance_id: String,
    pub(super) attempt: u32,
}

type Data = GuestData<ActivityState>;

impl types::Host for Data {}

impl Host for Data {
    async fn instance_id(&mut self) -> wasmtime::Result<String> {
        Ok(self.state.instance_id.clone())
    }

    async fn attempt(&mut self) -> wasmtime::Result<u32> {
        Ok(self.state.attempt)
    }

    async fn random_u64(&mut self) -> wasmtime::Result<u64> {
        use rand::Rng;
        Ok(rand::rng().next_u64())
    }

    async fn log(&mut self, level: LogLevel, message: String) -> wasmtime::Result<()> {
        let source = Source::Activity {
            instance_id: self.state.instance_id.as_str().into(),
            attempt: self.state.attempt,
        };
        guest_log::emit(level, &message, &source);
        Ok(())
    }
}
