//! `reprise`: run and steer durable orchestrations on an embedded database.

#![forbid(unsafe_code)]

mod bench;
mod commands;
mod database;
mod timeline;

use std::process::ExitCode;

use clap::Parser;

/// The engine allocates and frees many small buffers across threads (host
/// call arguments, SQLite rows, messages); mimalloc does that with less
/// contention than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = commands::Args::parse();
    let filter = match tracing_subscriber::EnvFilter::try_new(&args.log_level) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!(
                "error: --log-level {:?} is not a filter: {error}",
                args.log_level
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
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
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
