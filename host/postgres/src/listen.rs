//! Wake-ups across hosts. Every transaction that appends to the change
//! feed also sends a notification on [`CHANNEL`], which PostgreSQL delivers
//! when (and only if) it commits; each store handle listens on a
//! connection of its own and wakes its feed reader. The feed stays the
//! truth: a notification only says "read now", and a reader that missed
//! one (its connection dropped) reads at its next slow poll.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::row::PgError;

/// The channel feed notifications go out on; the payload is the origin of
/// the handle that committed.
pub(crate) const CHANNEL: &str = "reprise_feed";

/// How long to wait before listening again after the connection was lost.
const RECONNECT: Duration = Duration::from_secs(1);

/// Listens on [`CHANNEL`] for as long as the process runs, waking
/// `signal` for every notification from another handle than `origin`.
pub(crate) async fn listen(url: String, origin: i64, signal: Arc<Notify>) {
    let own = origin.to_string();
    loop {
        if let Err(error) = listen_once(&url, &own, &signal).await {
            tracing::warn!(%error, "stopped listening for feed notifications");
        }
        // Whatever was notified while not listening is in the feed.
        signal.notify_one();
        tokio::time::sleep(RECONNECT).await;
    }
}

/// One connection's worth of listening; returns when it is lost.
async fn listen_once(url: &str, own: &str, signal: &Arc<Notify>) -> Result<(), PgError> {
    let (client, mut connection) = crate::config(url)?.connect(NoTls).await?;
    let (own, wake) = (own.to_owned(), signal.clone());
    // The connection delivers notifications only to whoever polls it.
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(note)) if note.payload() != own => {
                    wake.notify_one();
                }
                Ok(_) => {}
                Err(error) => return Err(PgError::from(error)),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    // Anything committed before LISTEN took effect is in the feed.
    signal.notify_one();
    let ended = driver.await;
    drop(client);
    ended.unwrap_or(Ok(()))
}
