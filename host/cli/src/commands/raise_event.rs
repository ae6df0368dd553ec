//! `reprise raise-event`: send an external event to an instance.

use super::GlobalArgs;

/// Send an external event to an instance.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Instance id.
    id: String,
    /// Event name.
    name: String,
    /// Event data, JSON.
    #[arg(default_value = "null", allow_negative_numbers = true)]
    data: String,
    /// Take effect once for this key: sent again with it (within the
    /// retention, a day by default), it changes nothing and answers what
    /// the first answered.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

impl Args {
    /// Sends the event; an unknown or finished instance is an error.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let (id, name, data) = (&self.id, &self.name, &self.data);
        match &self.idempotency_key {
            Some(key) => runtime.idempotent(key).raise_event(id, name, data).await?,
            None => runtime.raise_event(id, name, data).await?,
        }
        Ok(())
    }
}
