//! Steering an instance from outside: `terminate`, `suspend`, `resume` and
//! `purge`. Each writes a request the worker applies (or, for purge,
//! deletes a finished instance) and prints nothing.

use super::GlobalArgs;

/// Stop an instance for good.
#[derive(Debug, clap::Args)]
pub(crate) struct TerminateArgs {
    /// Instance id.
    id: String,
    /// Why.
    #[arg(long, default_value = "terminated by request")]
    reason: String,
}

impl TerminateArgs {
    /// Terminates the instance, recording why.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        runtime.terminate(&self.id, &self.reason).await?;
        Ok(())
    }
}

/// Pause an instance.
#[derive(Debug, clap::Args)]
pub(crate) struct SuspendArgs {
    /// Instance id.
    id: String,
}

impl SuspendArgs {
    /// Suspends the instance.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        runtime.suspend(&self.id).await?;
        Ok(())
    }
}

/// Resume a suspended instance.
#[derive(Debug, clap::Args)]
pub(crate) struct ResumeArgs {
    /// Instance id.
    id: String,
}

impl ResumeArgs {
    /// Resumes the instance.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        runtime.resume(&self.id).await?;
        Ok(())
    }
}

/// Delete a finished instance and its history.
#[derive(Debug, clap::Args)]
pub(crate) struct PurgeArgs {
    /// Instance id.
    id: String,
}

impl PurgeArgs {
    /// Purges the instance.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        runtime.purge(&self.id).await?;
        Ok(())
    }
}
