//! The `actor-context` host functions. Effects (signals, started
//! orchestrations) are collected, not performed: they commit with the
//! operation's new state, or not at all.

use wasmtime::Result;

use crate::ids::random_id;
use crate::names::{self, NameKind};
use crate::roles::directory::{SharedDirectory, check_json, find, know_kinds};
use crate::store::{ActorId, ActorOperation, Op, ReplyTo};
use crate::wasm::GuestData;
use crate::wasm::bindings::reprise::durable::actor_context::Host;
use crate::wasm::bindings::reprise::durable::types::{self, LogLevel};
use crate::wasm::guest_log::{self, Source};
use crate::wasm::sandbox::format_uuid;
use crate::wasm::trap::Refused;

/// The host side of one actor guest instance.
pub(crate) struct ActorState {
    /// What the host calls may look up.
    pub(super) directory: SharedDirectory,
    /// The actor handling the current operation.
    pub(super) id: ActorId,
    /// Effects of the current operation.
    pub(super) effects: Vec<Op>,
}

type Data = GuestData<ActorState>;

impl types::Host for Data {}

impl Host for Data {
    async fn self_id(&mut self) -> Result<types::ActorId> {
        Ok(types::ActorId {
            kind: self.state.id.kind.clone(),
            key: self.state.id.key.clone(),
        })
    }

    async fn signal(
        &mut self,
        operation: types::ActorOperation,
        delay_ms: Option<u64>,
    ) -> Result<()> {
        let operation = ActorOperation::from(operation);
        // A signal that could never be delivered fails the operation that sent it.
        know_kinds(&*self.state.directory, std::slice::from_ref(&operation)).await;
        self.state
            .directory
            .check_actor_operation(&operation)
            .map_err(|why| Refused(why.to_string()))?;
        let directory = &self.state.directory;
        let capacity = Some(directory.mailbox_capacity(&operation.target.kind));
        let visible_at = delay_ms.map_or(0, |delay| directory.now_ms().saturating_add(delay));
        self.state.effects.push(Op::EnqueueActor {
            operation,
            reply: ReplyTo::Nobody,
            visible_at,
            capacity,
        });
        Ok(())
    }

    async fn start_orchestration(
        &mut self,
        name: String,
        input: String,
        instance_id: Option<String>,
    ) -> Result<String> {
        let directory = &self.state.directory;
        let digest = find(&**directory, |d| d.orchestration(&name))
            .await
            .ok_or_else(|| Refused(format!("no orchestration named {name:?} is registered")))?;
        check_json(
            "orchestration input",
            &input,
            directory.limits().max_payload_bytes,
        )
        .map_err(|e| Refused(e.to_string()))?;
        let id = instance_id.unwrap_or_else(random_id);
        names::check(NameKind::InstanceId, &id).map_err(|why| Refused(why.to_string()))?;
        self.state.effects.push(Op::create_instance(
            id.clone(),
            &name,
            digest,
            &input,
            None,
            directory.now_ms(),
        ));
        Ok(id)
    }

    async fn now_ms(&mut self) -> Result<u64> {
        Ok(self.state.directory.now_ms())
    }

    async fn random_u64(&mut self) -> Result<u64> {
        use rand::Rng;
        Ok(rand::rng().next_u64())
    }

    async fn new_uuid(&mut self) -> Result<String> {
        use rand::Rng;
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        Ok(format_uuid(bytes))
    }

    async fn log(&mut self, level: LogLevel, message: String) -> Result<()> {
        let source = Source::Actor(self.state.id.to_string().into());
        guest_log::emit(level, &message, &source);
        Ok(())
    }
}
