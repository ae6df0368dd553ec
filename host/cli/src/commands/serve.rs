//! `reprise serve`: the worker, plus the HTTP API and the web dashboard.

use anyhow::Context;

use super::GlobalArgs;
use super::worker::{WorkerOptions, shutdown_signal};

/// Run the worker and serve the HTTP API and the web dashboard until
/// interrupted.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on. Beyond loopback a token is required.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The bearer token API requests must carry.
    #[arg(long, env = "REPRISE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    worker: WorkerOptions,
}

impl Args {
    /// Listens (refusing an exposed address without a token), starts the
    /// worker, and serves until Ctrl-C or SIGTERM; then stops the worker.
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let runtime = global.runtime_granting(self.worker.grants()).await?;
        let options = reprise_server::ServerOptions {
            token: self.token,
            ..Default::default()
        };
        let listen = self.listen;
        reprise_server::check_exposure(&listen, &options).map_err(anyhow::Error::msg)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let worker = self.worker.start(&runtime, global).await?;
        eprintln!(
            "reprise serving http://{} on {}; Ctrl-C to stop",
            listener.local_addr()?,
            global.db
        );
        let router = reprise_server::router(runtime.clone(), &options);
        let stop = async {
            if let Err(error) = shutdown_signal().await {
                tracing::error!(%error, "cannot wait for signals; stopping");
            }
        };
        reprise_server::serve(listener, router, stop).await?;
        worker.stop().await;
        Ok(())
    }
}
