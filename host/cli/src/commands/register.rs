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
    /// What happens to live instances of the orchestrations a component
    /// exports: `none` leaves each on its code until it continues as new;
    /// `auto` also moves, now, every one whose history replays against the
    /// new code without a difference (see `reprise upgrade`).
    #[arg(long, value_enum, default_value_t = Upgrade::None)]
    upgrade: Upgrade,
}

/// What registering does to live instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Upgrade {
    /// Leave them on their code.
    None,
    /// Move the compatible ones.
    Auto,
}

impl Args {
    /// Registers each file in turn, printing what it registered as a JSON
    /// line; stops at the first that fails.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        for file in self.files {
            let bytes = read_component(&file)?;
            let context = || format!("cannot register {}", file.display());
            let info = runtime.register(&bytes).await.with_context(context)?;
            println!("{}", serde_json::to_string(&info)?);
            if self.upgrade == Upgrade::Auto && !info.orchestrations.is_empty() {
                let report = runtime
                    .upgrade_to(&info.digest)
                    .await
                    .with_context(context)?;
                let totals = report.plan.totals();
                eprintln!(
                    "moved {} of {} live instance(s) to {} ({} diverge, {} fail)",
                    report.moved.len(),
                    report.plan.instances.len(),
                    info.digest,
                    totals.diverges,
                    totals.fails
                );
            }
        }
        Ok(())
    }
}
