//! `reprise list`: instances, newest first.

use anyhow::Context;
use reprise::store::{InstanceQuery, Status};

use super::GlobalArgs;

/// List instances, newest first.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only instances with this status.
    #[arg(long)]
    status: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

impl Args {
    /// Prints one line per instance: id, status and name, tab-separated.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let status = match self.status {
            Some(text) => Some(Status::parse(&text).with_context(|| {
                format!(
                    "unknown status {text:?}: running, suspended, completed, failed or terminated"
                )
            })?),
            None => None,
        };
        let query = InstanceQuery::status(status, self.limit);
        for record in runtime.list(&query).await? {
            println!("{}\t{}\t{}", record.id, record.status.as_str(), record.name);
        }
        Ok(())
    }
}
