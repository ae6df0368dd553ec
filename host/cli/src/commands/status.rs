//! `reprise status`: an instance's record as JSON.

use reprise::view::InstanceView;

use super::GlobalArgs;

/// Print an instance's status as JSON.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Instance id.
    id: String,
}

impl Args {
    /// Prints the instance as pretty JSON, its payloads as JSON values.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let record = runtime.status(&self.id).await?;
        let failure = record.failure();
        let view = InstanceView::new(&record, failure.as_ref());
        println!("{}", serde_json::to_string_pretty(&view)?);
        Ok(())
    }
}
