//! `reprise`: run and steer durable orchestrations on an embedded database.
//! This file parses the command line and hands it to the command's module
//! under `commands/`.

#![forbid(unsafe_code)]

mod bench;
mod commands;
mod database;
mod timeline;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::{
    GlobalArgs, actor, archive, history, list, raise_event, register, repair, replay, serve, start,
    status, steer, upgrade, wait, worker,
};

/// The engine allocates and frees many small buffers across threads (host
/// call arguments, SQLite rows, messages); mimalloc does that with less
/// contention than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Durable orchestrations and activities as WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "reprise", version)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands, in the order `--help` lists them; each one's help is
/// the doc comment of its `Args`.
#[derive(Debug, Subcommand)]
enum Command {
    Register(register::Args),
    Start(start::Args),
    Worker(worker::Args),
    Serve(serve::Args),
    Wait(wait::Args),
    Status(status::Args),
    History(history::Args),
    RaiseEvent(raise_event::Args),
    Terminate(steer::TerminateArgs),
    Suspend(steer::SuspendArgs),
    Resume(steer::ResumeArgs),
    Purge(steer::PurgeArgs),
    List(list::Args),
    Bench(commands::bench::Args),
    #[command(subcommand)]
    Actor(actor::Command),
    Replay(replay::Args),
    Upgrade(upgrade::Args),
    Fork(repair::ForkArgs),
    Rewind(repair::RewindArgs),
    Backup(archive::BackupArgs),
    Export(archive::ExportArgs),
    Import(archive::ImportArgs),
}

impl Command {
    async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        match self {
            Command::Register(args) => args.execute(global).await,
            Command::Start(args) => args.execute(global).await,
            Command::Worker(args) => args.execute(global).await,
            Command::Serve(args) => args.execute(global).await,
            Command::Wait(args) => args.execute(global).await,
            Command::Status(args) => args.execute(global).await,
            Command::History(args) => args.execute(global).await,
            Command::RaiseEvent(args) => args.execute(global).await,
            Command::Terminate(args) => args.execute(global).await,
            Command::Suspend(args) => args.execute(global).await,
            Command::Resume(args) => args.execute(global).await,
            Command::Purge(args) => args.execute(global).await,
            Command::List(args) => args.execute(global).await,
            Command::Bench(args) => args.execute(global).await,
            Command::Actor(command) => command.execute(global).await,
            Command::Replay(args) => args.execute(global).await,
            Command::Upgrade(args) => args.execute(global).await,
            Command::Fork(args) => args.execute(global).await,
            Command::Rewind(args) => args.execute(global).await,
            Command::Backup(args) => args.execute(global).await,
            Command::Export(args) => args.execute(global).await,
            Command::Import(args) => args.execute(global).await,
        }
    }
}

fn main() -> ExitCode {
    let Cli { global, command } = Cli::parse();
    let filter = match tracing_subscriber::EnvFilter::try_new(&global.log_level) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!(
                "error: --log-level {:?} is not a filter: {error}",
                global.log_level
            );
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command.execute(&global)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, whatever the underlying error printed.
            let text = format!("{error:#}");
            eprintln!(
                "error: {}",
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::FAILURE
        }
    }
}
