//! `reprise start`: start an orchestration, and with `--wait` see it through.

use reprise::StartOptions;

use super::GlobalArgs;
use super::lease::with_worker;
use super::wait::print_result;

/// Start an orchestration.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Registered orchestration name.
    name: String,
    /// Input, JSON.
    #[arg(long, default_value = "null", allow_negative_numbers = true)]
    input: String,
    /// Instance id (random if not given).
    #[arg(long)]
    id: Option<String>,
    /// Keep every execution on the code it starts on: continuing as new
    /// does not move it to a newer registered version.
    #[arg(long)]
    pinned: bool,
    /// Wait for the result and print it; runs a worker in this process
    /// if none runs on the database.
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Take effect once for this key: sent again with it (within the
    /// retention, a day by default), it changes nothing and answers what
    /// the first answered.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

impl Args {
    /// Starts the instance and prints its id, or with `--wait` its output.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let options = StartOptions {
            instance_id: self.id,
            pinned: self.pinned,
        };
        let start = async {
            match &self.idempotency_key {
                Some(key) => {
                    let once = runtime.idempotent(key);
                    once.start(&self.name, &self.input, options).await
                }
                None => runtime.start(&self.name, &self.input, options).await,
            }
        };
        if !self.wait {
            println!("{}", start.await?);
            return Ok(());
        }
        let run = async {
            let id = start.await?;
            print_result(&runtime, &id, self.timeout).await
        };
        with_worker(&runtime, global, run).await
    }
}
