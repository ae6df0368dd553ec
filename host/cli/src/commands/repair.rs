//! `reprise fork` and `reprise rewind`: repair work that took a wrong turn
//! without losing where it was.

use anyhow::Context;
use reprise::{ForkOptions, RewindOptions, Rewound};

use super::GlobalArgs;

/// Start a new instance that goes on from a point of another's history:
/// it keeps the events up to #N (by default all but the one that ended the
/// execution), replays them and goes on from there. Tasks open at #N are
/// issued again for the fork, and the events the source took in after #N
/// are raised to it again. The source is not touched.
#[derive(Debug, clap::Args)]
pub(crate) struct ForkArgs {
    /// The instance to fork.
    instance_id: String,
    /// The last event (its number in `reprise history`) the fork keeps.
    #[arg(long, value_name = "N")]
    at: Option<u32>,
    /// The new instance's id (random by default).
    #[arg(long = "id", value_name = "ID")]
    new_id: Option<String>,
    /// Run the fork on this registered component (its digest) instead of
    /// the code the source ran: the kept history must replay on it.
    #[arg(long, value_name = "DIGEST")]
    component: Option<String>,
    /// Print JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

impl ForkArgs {
    /// Forks, and prints the new instance's id and what it was given.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let options = ForkOptions {
            at: self.at,
            instance_id: self.new_id,
            component: self.component,
        };
        let fork = runtime
            .fork(&self.instance_id, options)
            .await
            .with_context(|| format!("cannot fork {}", self.instance_id))?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&fork)?);
        } else {
            println!(
                "forked {} at #{} as {} on {}: {} task(s) issued again, {} event(s) raised again",
                fork.from,
                fork.at,
                fork.instance_id,
                fork.digest,
                fork.reissued.len(),
                fork.events
            );
        }
        Ok(())
    }
}

/// Rewind a failed instance to before its failure: cut its history at the
/// await that returned the failure (kept in a `rewound` event), run the
/// failed task again (a failed sub-orchestration is rewound too), and go
/// on. With `--component`, it moves to that code as it is rewound.
#[derive(Debug, clap::Args)]
pub(crate) struct RewindArgs {
    /// The failed instance.
    instance_id: String,
    /// Move it to this registered component (its digest) as it is
    /// rewound: the history before the cut must replay on it.
    #[arg(long, value_name = "DIGEST")]
    component: Option<String>,
    /// Print JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

impl RewindArgs {
    /// Rewinds, and prints what was cut and what runs again.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let options = RewindOptions {
            component: self.component,
        };
        let rewound = runtime
            .rewind(&self.instance_id, options)
            .await
            .with_context(|| format!("cannot rewind {}", self.instance_id))?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&rewound)?);
        } else {
            print_rewound(&rewound, 0);
        }
        Ok(())
    }
}

/// One line per instance rewound, children indented under their parent.
fn print_rewound(rewound: &Rewound, depth: usize) {
    let again = match rewound.failed_task {
        Some(task) => format!("task #{task} runs again"),
        None => "the guest runs again".to_owned(),
    };
    println!(
        "{:indent$}rewound {} at #{}: {again}; {} result(s) delivered again, {} task(s) \
         issued again, {} event(s) raised again",
        "",
        rewound.instance_id,
        rewound.cut_at,
        rewound.redelivered.len(),
        rewound.reissued.len(),
        rewound.events,
        indent = depth * 2
    );
    for child in &rewound.children {
        print_rewound(child, depth + 1);
    }
}
