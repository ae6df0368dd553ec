//! The one writer: a thread that owns the write connection and commits many
//! batches per transaction (group commit); a failing batch rolls back alone.
//! How the queue is cut into groups is the rule both backends share
//! (`reprise_store_rules::group`); what each op does is in `apply`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use rusqlite::{Connection, Transaction};

use crate::apply::{Applied, apply_batch};
use crate::feed;
use crate::row::SqliteError;
use reprise_core::store::{Batch, Committed, StoreError};
use reprise_store_rules::feed::{FeedEntry, KEEP, PRUNE_EVERY};
use reprise_store_rules::group::{self, Counters, Request};

/// Runs until every sender is dropped and what they queued is committed.
/// `origin` marks the feed rows of the batches this writer commits as this
/// store handle's.
pub(crate) fn run(
    mut conn: Connection,
    requests: Receiver<Request>,
    counters: Arc<Counters>,
    origin: i64,
) {
    let mut writer = Writer {
        origin,
        transactions: 0,
    };
    let mut queued = VecDeque::new();
    loop {
        if queued.is_empty() {
            match requests.recv() {
                Ok(first) => queued.push_back(first),
                Err(_) => return,
            }
        }
        queued.extend(requests.try_iter());
        let group = group::next_group(&mut queued);
        let batches = group.len();
        if writer.commit_group(&mut conn, group) {
            counters.committed(batches);
        }
    }
}

/// The writer's own state between transactions.
#[derive(Debug)]
struct Writer {
    origin: i64,
    transactions: u64,
}

impl Writer {
    /// Commits the group in one transaction; false if the transaction failed.
    ///
    /// Batches are applied straight into the transaction. A batch can fail
    /// (a precondition no longer holds, a constraint); then the transaction is
    /// rolled back and the group applied again with each batch in a savepoint,
    /// so the failing one rolls back alone. Savepoints make SQLite journal every
    /// page a batch touches, which costs as much as the batch itself, so they
    /// are only paid for when a batch fails, which is rare.
    fn commit_group(&mut self, conn: &mut Connection, group: Vec<Request>) -> bool {
        let results = match self.apply_group(conn, &group, false) {
            Ok(results) if results.iter().all(Result::is_ok) => Ok(results),
            Ok(_) => self.apply_group(conn, &group, true),
            Err(e) => Err(e),
        };
        match results {
            Ok(results) => {
                group::answer_all(group, results);
                true
            }
            Err(error) => {
                tracing::error!(%error, "group commit failed");
                group::fail_all(group, &error.to_string());
                false
            }
        }
    }

    /// Applies every batch in one transaction, appends their feed entries
    /// and commits it, unless a batch failed without savepoints (the
    /// transaction is then rolled back).
    fn apply_group(
        &mut self,
        conn: &mut Connection,
        group: &[Request],
        savepoints: bool,
    ) -> Result<Vec<Result<Committed, StoreError>>, rusqlite::Error> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(group.len());
        let mut entries: Vec<FeedEntry> = Vec::new();
        for request in group {
            let result = if savepoints {
                apply_in_savepoint(&tx, &request.batch)
            } else {
                apply_batch(&tx, &request.batch)
            };
            match result {
                Ok(Applied { committed, feed }) => {
                    entries.extend(feed.into_entries());
                    results.push(Ok(committed));
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
        feed::append(&tx, self.origin, &entries)?;
        self.transactions += 1;
        if self.transactions.is_multiple_of(PRUNE_EVERY) {
            feed::prune(&tx, KEEP)?;
        }
        tx.commit()?;
        Ok(results)
    }
}

fn apply_in_savepoint(tx: &Transaction<'_>, batch: &Batch) -> Result<Applied, SqliteError> {
    tx.prepare_cached("SAVEPOINT batch")?.execute([])?;
    match apply_batch(tx, batch) {
        Ok(applied) => {
            tx.prepare_cached("RELEASE batch")?.execute([])?;
            Ok(applied)
        }
        Err(e) => {
            tx.prepare_cached("ROLLBACK TO batch")?.execute([])?;
            tx.prepare_cached("RELEASE batch")?.execute([])?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprise_core::store::Op;
    use reprise_store_rules::group::MAX_GROUP_OPS;

    fn writer() -> Writer {
        Writer {
            origin: 1,
            transactions: 0,
        }
    }

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn create(id: &str) -> Op {
        Op::create_instance(id.into(), "o", "d".into(), "null", None, 1)
    }

    /// Runs the writer over what is queued, to the end of the queue.
    fn run_queued(requests: Vec<Request>) -> Counters {
        let (sender, receiver) = std::sync::mpsc::channel();
        for request in requests {
            sender.send(request).unwrap();
        }
        drop(sender);
        let counters = Arc::new(Counters::default());
        run(database(), receiver, counters.clone(), 1);
        Arc::into_inner(counters).unwrap()
    }

    #[test]
    fn a_failing_batch_rolls_back_alone_and_the_rest_of_its_group_commits() {
        let mut conn = database();
        let (first, first_ticket) = Request::new(vec![create("a")]);
        // Creates "b", then fails its precondition: neither part may stay.
        let (failing, failing_ticket) = Request::new(vec![
            create("b"),
            Op::ExpectRunning {
                instance_id: "nobody".into(),
                execution: 0,
                digest: None,
            },
        ]);
        let (last, last_ticket) = Request::new(vec![create("c")]);
        assert!(writer().commit_group(&mut conn, vec![first, failing, last]));
        assert!(first_ticket.blocking_recv().unwrap().is_ok());
        assert!(matches!(
            failing_ticket.blocking_recv().unwrap(),
            Err(StoreError::NotFound(_))
        ));
        assert!(last_ticket.blocking_recv().unwrap().is_ok());
        let ids: Vec<String> = conn
            .prepare("SELECT id FROM instances ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids, ["a", "c"]);
        let feed: Vec<String> = conn
            .prepare("SELECT subject FROM feed ORDER BY seq")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(feed, ["a", "c"], "only committed batches are in the feed");
    }

    /// Work fenced by a lease, queued before the batch that takes the
    /// lease: it commits only because the lease batch goes first.
    #[test]
    fn a_lease_batch_commits_ahead_of_work_queued_before_it() {
        let fenced = |id| {
            vec![
                Op::ExpectLease {
                    name: "worker".into(),
                    token: 1,
                },
                create(id),
            ]
        };
        let (work, work_ticket) = Request::new(fenced("a"));
        let (more, more_ticket) = Request::new(fenced("b"));
        let (lease, lease_ticket) = Request::new(vec![Op::TakeLease {
            name: "worker".into(),
            owner: "me".into(),
            now: 1,
            until: 100,
        }]);
        let counters = run_queued(vec![work, more, lease]);
        assert_eq!(
            lease_ticket.blocking_recv().unwrap().unwrap().lease,
            Some(1)
        );
        assert!(work_ticket.blocking_recv().unwrap().is_ok());
        assert!(more_ticket.blocking_recv().unwrap().is_ok());
        // The lease alone, then the work together.
        assert_eq!(counters.transactions(), 2);
    }

    #[test]
    fn groups_are_bounded_by_operations() {
        let touch = Op::SetCustomStatus {
            instance_id: "nobody".into(),
            status: None,
            at: 1,
        };
        let batches = MAX_GROUP_OPS / 64 + 1;
        let (requests, tickets): (Vec<_>, Vec<_>) = (0..batches)
            .map(|_| Request::new(vec![touch.clone(); 64]))
            .unzip();
        let counters = run_queued(requests);
        for ticket in tickets {
            assert!(ticket.blocking_recv().unwrap().is_ok());
        }
        assert_eq!(counters.batches(), batches as u64);
        assert_eq!(counters.transactions(), 2);
    }
}
