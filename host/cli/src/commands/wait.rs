//! `reprise wait`: wait for an instance to finish and print its output.

use std::time::Duration;

use anyhow::bail;
use reprise::Runtime;
use reprise::store::Status;

use super::GlobalArgs;

/// Wait for an instance to finish and print its output.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Instance id.
    id: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

impl Args {
    /// Waits (without running a worker) and prints the output.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        print_result(&runtime, &self.id, self.timeout).await
    }
}

/// Waits for the instance and prints its output; a failure is an error.
pub(super) async fn print_result(runtime: &Runtime, id: &str, timeout: u64) -> anyhow::Result<()> {
    let record = runtime.wait(id, Duration::from_secs(timeout)).await?;
    if let Some(failure) = record.failure() {
        bail!("instance {id} failed: {}", failure.message);
    }
    let output = record.output.unwrap_or_default();
    if record.status != Status::Completed {
        bail!("instance {id} {}: {output}", record.status.as_str());
    }
    println!("{output}");
    Ok(())
}
