//! `reprise register`: store components and register the names they export.

use std::path::PathBuf;

use anyhow::Context;

use super::{GlobalArgs, read_component};

/// Register components (.wasm) and the orchestrations and activities they export.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Component files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl Args {
    /// Registers each file in turn, printing what it registered as a JSON
    /// line; stops at the first that fails.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        for file in self.files {
            let bytes = read_component(&file)?;
            let info = runtime
                .register(&bytes)
                .await
                .with_context(|| format!("cannot register {}", file.display()))?;
            println!("{}", serde_json::to_string(&info)?);
        }
        Ok(())
    }
}
