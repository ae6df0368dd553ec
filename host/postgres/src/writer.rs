//! The writer of one store handle: a task that owns a connection and
//! commits many batches per transaction (group commit); a failing batch
//! rolls back alone. How the queue is cut into groups is the rule both
//! backends share (`reprise_store_rules::group`); what each op does is in
//! `apply`.

use std::collections::VecDeque;
use std::sync::Arc;

use reprise_core::store::{Committed, StoreError};
use reprise_store_rules::feed::PRUNE_EVERY;
use reprise_store_rules::group::{self, Counters, Request};
use tokio::sync::mpsc;
use tokio_postgres::Client;

use crate::batch::{Applied, Statements, apply_batch};
use crate::row::PgError;
use crate::{actors, feed};

/// Runs until every sender is dropped, reconnecting with `connect` when the
/// connection is lost. `origin` marks this handle's feed rows.
pub(crate) async fn run(
    client: Client,
    connect: crate::Connector,
    mut requests: mpsc::UnboundedReceiver<Request>,
    origin: i64,
    counters: Arc<Counters>,
) {
    let mut writer = Writer {
        client,
        connect,
        origin,
        transactions: 0,
        statements: Statements::new(),
    };
    let mut queued = VecDeque::new();
    loop {
        if queued.is_empty() {
            match requests.recv().await {
                Some(first) => queued.push_back(first),
                None => return,
            }
        }
        while let Ok(next) = requests.try_recv() {
            queued.push_back(next);
        }
        let group = group::next_group(&mut queued);
        writer.reconnect_if_lost().await;
        let batches = group.len();
        if writer.commit_group(group).await {
            counters.committed(batches);
        }
    }
}

struct Writer {
    client: Client,
    connect: crate::Connector,
    origin: i64,
    transactions: u64,
    /// Statements prepared on this connection.
    statements: Statements,
}

impl Writer {
    async fn reconnect_if_lost(&mut self) {
        if !self.client.is_closed() {
            return;
        }
        match (self.connect)().await {
            Ok(client) => {
                self.client = client;
                self.statements.clear();
            }
            Err(error) => tracing::error!(%error, "cannot reconnect to PostgreSQL"),
        }
    }

    /// Commits the group in one transaction. Batches are applied straight
    /// in; if one fails, the transaction is rolled back and the group
    /// applied again with each batch in a savepoint, so the failing one
    /// rolls back alone (savepoints cost a subtransaction each: paid only
    /// when a batch fails, which is rare).
    async fn commit_group(&mut self, group: Vec<Request>) -> bool {
        let results = match self.apply_group(&group, false).await {
            Ok(results) if results.iter().all(Result::is_ok) => Ok(results),
            Ok(_) => self.apply_group(&group, true).await,
            Err(error) => Err(error),
        };
        match results {
            Ok(results) => {
                group::answer_all(group, results);
                true
            }
            Err(error) => {
                let why = match StoreError::from(error) {
                    StoreError::Database(why) => why,
                    other => other.to_string(),
                };
                tracing::error!(error = %why, "group commit failed");
                group::fail_all(group, &why);
                false
            }
        }
    }

    /// Applies every batch in one transaction, appends their feed entries
    /// and commits it, unless a batch failed without savepoints (the
    /// transaction is then rolled back).
    async fn apply_group(
        &mut self,
        group: &[Request],
        savepoints: bool,
    ) -> Result<Vec<Result<Committed, StoreError>>, PgError> {
        let Writer {
            client,
            statements,
            origin,
            transactions,
            ..
        } = self;
        let mut tx = client.transaction().await?;
        let mut results = Vec::with_capacity(group.len());
        let mut entries = Vec::new();
        let mut turns = Vec::new();
        for Request { batch, .. } in group {
            let result = if savepoints {
                let mut tries = 1;
                loop {
                    let savepoint = tx.savepoint("batch").await?;
                    let result = apply_batch(&savepoint, statements, batch).await;
                    if result.is_ok() {
                        savepoint.commit().await?;
                        break result;
                    }
                    savepoint.rollback().await?;
                    // Rolled back to, the savepoint still exists: release
                    // it, or every later batch would nest one level deeper.
                    tx.batch_execute("RELEASE SAVEPOINT batch").await?;
                    // Two writers that lock rows in different orders: the
                    // server picks one to fail. Its batch is not at fault.
                    match &result {
                        Err(PgError::Postgres(error)) if retriable(error) && tries < 3 => {
                            tries += 1;
                        }
                        _ => break result,
                    }
                }
            } else {
                apply_batch(&tx, statements, batch).await
            };
            match result {
                Ok(Applied {
                    committed,
                    feed,
                    turns: batch_turns,
                }) => {
                    entries.extend(feed.into_entries());
                    turns.extend(batch_turns);
                    results.push(Ok(committed));
                }
                // A lost connection is no batch's fault: the group fails.
                Err(PgError::Postgres(error)) if error.is_closed() => {
                    return Err(PgError::Postgres(error));
                }
                Err(error) => {
                    results.push(Err(StoreError::from(error)));
                    if !savepoints {
                        // Dropping the transaction rolls it back.
                        return Ok(results);
                    }
                }
            }
        }
        // Last, under the feed lock, in this order (see actors.rs): an
        // atomic request always makes a feed entry, so the lock is held.
        feed::append(&tx, *origin, &entries).await?;
        actors::insert_turns(&tx, &turns).await?;
        *transactions += 1;
        if transactions.is_multiple_of(PRUNE_EVERY) {
            feed::prune(&tx).await?;
        }
        tx.commit().await?;
        Ok(results)
    }
}

/// A deadlock or serialization failure: the statement was chosen to fail
/// so that another could go on, and may well succeed when run again.
fn retriable(error: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(
        error.code(),
        Some(&SqlState::T_R_DEADLOCK_DETECTED | &SqlState::T_R_SERIALIZATION_FAILURE)
    )
}
