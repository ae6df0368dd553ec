//! `reprise actor …`: signal or call actors, read their state.

use std::time::Duration;

use super::GlobalArgs;
use super::lease::with_worker;

/// Signal or call actors, read their state.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Signal(SignalArgs),
    Call(CallArgs),
    State(StateArgs),
    List(ListArgs),
}

impl Command {
    /// Runs the actor command.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        match self {
            Command::Signal(args) => args.execute(global).await,
            Command::Call(args) => args.execute(global).await,
            Command::State(args) => args.execute(global).await,
            Command::List(args) => args.execute(global).await,
        }
    }
}

/// Send an operation one-way.
#[derive(Debug, clap::Args)]
pub(crate) struct SignalArgs {
    /// Actor kind.
    kind: String,
    /// Actor key.
    key: String,
    /// Operation name.
    operation: String,
    /// Input, JSON.
    #[arg(default_value = "null", allow_negative_numbers = true)]
    input: String,
    /// Deliver after this many milliseconds (a reminder).
    #[arg(long)]
    delay_ms: Option<u64>,
    /// Take effect once for this key: sent again with it (within the
    /// retention, a day by default), it changes nothing and answers what
    /// the first answered.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

impl SignalArgs {
    /// Queues the operation and prints nothing.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let delay = self.delay_ms.map(Duration::from_millis);
        let (kind, key, operation, input) = (&self.kind, &self.key, &self.operation, &self.input);
        match &self.idempotency_key {
            Some(once) => {
                let once = runtime.idempotent(once);
                once.signal_actor(kind, key, operation, input, delay)
                    .await?
            }
            None => {
                runtime
                    .signal_actor(kind, key, operation, input, delay)
                    .await?
            }
        }
        Ok(())
    }
}

/// Call an operation and print its output; runs a worker in this
/// process if none runs on the database.
#[derive(Debug, clap::Args)]
pub(crate) struct CallArgs {
    /// Actor kind.
    kind: String,
    /// Actor key.
    key: String,
    /// Operation name.
    operation: String,
    /// Input, JSON.
    #[arg(default_value = "null", allow_negative_numbers = true)]
    input: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Take effect once for this key: sent again with it (within the
    /// retention, a day by default), it changes nothing and answers what
    /// the first answered.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
}

impl CallArgs {
    /// Calls the operation and prints its output; its failure is an error.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        let timeout = Duration::from_secs(self.timeout);
        let (kind, key, operation, input) = (&self.kind, &self.key, &self.operation, &self.input);
        let call = async {
            match &self.idempotency_key {
                Some(once) => {
                    let once = runtime.idempotent(once);
                    once.call_actor(kind, key, operation, input, timeout).await
                }
                None => {
                    runtime
                        .call_actor(kind, key, operation, input, timeout)
                        .await
                }
            }
        };
        let output = with_worker(&runtime, global, async { Ok(call.await?) }).await?;
        println!("{output}");
        Ok(())
    }
}

/// Print an actor's last committed state.
#[derive(Debug, clap::Args)]
pub(crate) struct StateArgs {
    /// Actor kind.
    kind: String,
    /// Actor key.
    key: String,
}

impl StateArgs {
    /// Prints the state without waiting behind the actor's mailbox.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        println!(
            "{}",
            runtime.actor_state(&self.kind, &self.key).await?.state
        );
        Ok(())
    }
}

/// List the actors of a kind with their states.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Actor kind.
    kind: String,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

impl ListArgs {
    /// Prints one line per actor: key and state, tab-separated.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime().await?;
        for actor in runtime.actors(&self.kind, self.limit).await? {
            println!("{}\t{}", actor.id.key, actor.state);
        }
        Ok(())
    }
}
