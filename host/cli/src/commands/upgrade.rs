//! `reprise upgrade`: move live instances to new code, after their
//! histories replayed against it without a difference.

use std::path::PathBuf;

use anyhow::Context;
use reprise::{Compatibility, PlannedInstance, UpgradePlan};

use super::{GlobalArgs, read_component};

/// Move live instances to new code: register the component and move every
/// running or suspended instance of the orchestrations it exports whose
/// history replays against it without a difference. The others keep their
/// own code. With `--plan`, only say what would happen.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The new component (.wasm).
    file: PathBuf,
    /// Check every live instance against the new code and print the
    /// verdicts; register nothing, move nothing.
    #[arg(long)]
    plan: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// Plans, or applies, and prints the verdicts and what moved.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let bytes = read_component(&self.file)?;
        let context = || format!("cannot upgrade to {}", self.file.display());
        if self.plan {
            let plan = runtime.upgrade_plan(&bytes).await.with_context(context)?;
            if self.json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print_plan(&plan);
            }
            return Ok(());
        }
        let report = runtime.upgrade(&bytes).await.with_context(context)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
            return Ok(());
        }
        print_plan(&report.plan);
        println!(
            "moved {} instance(s) to {}",
            report.moved.len(),
            report.plan.digest
        );
        for kept in &report.kept {
            println!("kept {}: {}", kept.instance_id, kept.why);
        }
        Ok(())
    }
}

/// One line per instance, then the totals.
fn print_plan(plan: &UpgradePlan) {
    println!(
        "upgrade to {} ({})",
        plan.digest,
        plan.orchestrations.join(", ")
    );
    for instance in &plan.instances {
        println!("{}", line(instance));
    }
    let totals = plan.totals();
    println!(
        "{} live instance(s): {} compatible, {} diverge, {} fail",
        plan.instances.len(),
        totals.compatible,
        totals.diverges,
        totals.fails
    );
}

fn line(instance: &PlannedInstance) -> String {
    let verdict = match &instance.compatibility {
        Compatibility::Compatible => "compatible".to_owned(),
        Compatibility::Diverges {
            position,
            recorded,
            requested,
        } => format!(
            "diverges at #{position}: history holds {recorded}, the new code asks for {requested}"
        ),
        Compatibility::Fails { message } => format!("fails: {message}"),
    };
    let pinned = if instance.pinned { " (pinned)" } else { "" };
    format!(
        "{}\t{}\t{}\t{verdict}{pinned}",
        instance.instance_id,
        instance.name,
        instance.status.as_str()
    )
}
