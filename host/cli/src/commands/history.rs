//! `reprise history`: an instance's history, readable or as JSON lines.

use reprise::view::EventView;

use super::GlobalArgs;
use crate::timeline;

/// Print an instance's history as a timeline.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Instance id.
    id: String,
    /// Print the raw events as JSON lines instead.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// Prints the current execution's events.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let history = runtime.history(&self.id).await?;
        if self.json {
            for event in &history {
                println!("{}", serde_json::to_string(&EventView::from(event))?);
            }
        } else {
            print!("{}", timeline::render(&history));
        }
        Ok(())
    }
}
