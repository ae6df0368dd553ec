//! `reprise replay`: check recorded history against code, old or new.

use std::path::PathBuf;

use super::{GlobalArgs, read_component};

/// Replay an instance's history against its code, or against new code
/// before rolling it out.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Instance id.
    id: String,
    /// The new component to check instead of the instance's own.
    #[arg(long)]
    component: Option<PathBuf>,
}

impl Args {
    /// Replays and prints the verdict; a divergence is an error.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let bytes = self.component.as_deref().map(read_component).transpose()?;
        let verdict = runtime.replay_check(&self.id, bytes.as_deref()).await?;
        println!("replay of {} is consistent: {verdict:?}", self.id);
        Ok(())
    }
}
