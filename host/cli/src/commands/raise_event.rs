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
}

impl Args {
    /// Sends the event; an unknown or finished instance is an error.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        runtime
            .raise_event(&self.id, &self.name, &self.data)
            .await?;
        Ok(())
    }
}
