//! The one writer: a thread that owns the write connection and commits many
//! batches per transaction (group commit); a failing batch rolls back alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::oneshot;

use crate::feed::{self, FeedWriter, Work};
use crate::row::{Fields, SqliteError};
use reprise_core::clock::now_ms;
use reprise_core::history::codec;
use reprise_core::store::{
    ActivityTask, Batch, Committed, InstanceRecord, Message, MessageKind, NewMessage, Op, Status,
    StoreError,
};

/// A batch and where to report its outcome.
pub(crate) type Request = (Batch, oneshot::Sender<Result<Committed, StoreError>>);

/// Most batches folded into one transaction: bounds the latency of the first.
const MAX_GROUP: usize = 512;

/// Counts of what the writer committed, for measurements.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) transactions: AtomicU64,
    pub(crate) batches: AtomicU64,
}

/// Transactions between prunings of the change feed.
const PRUNE_EVERY: u64 = 64;

/// Runs until every sender is dropped. `origin` marks the feed rows of the
/// batches this writer commits as this store handle's.
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
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(next) => group.push(next),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let batches = group.len() as u64;
        if writer.commit_group(&mut conn, group) {
            counters.transactions.fetch_add(1, Ordering::Relaxed);
            counters.batches.fetch_add(batches, Ordering::Relaxed);
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
                for ((_, reply), result) in group.into_iter().zip(results) {
                    // The requester may have given up waiting; the batch is durable anyway.
                    let _ = reply.send(result);
                }
                true
            }
            Err(e) => {
                fail_all(group, &e);
                false
            }
        }
    }

    /// Applies every batch in one transaction and commits it, unless a batch
    /// failed without savepoints (the transaction is then rolled back).
    fn apply_group(
        &mut self,
        conn: &mut Connection,
        group: &[Request],
        savepoints: bool,
    ) -> Result<Vec<Result<Committed, StoreError>>, rusqlite::Error> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(group.len());
        for (batch, _) in group {
            let result = if savepoints {
                self.apply_in_savepoint(&tx, batch)
            } else {
                self.apply_batch(&tx, batch)
            };
            let failed = result.is_err();
            results.push(result.map_err(StoreError::from));
            if failed && !savepoints {
                // Dropping the transaction rolls it back.
                return Ok(results);
            }
        }
        self.transactions += 1;
        if self.transactions.is_multiple_of(PRUNE_EVERY) {
            feed::prune(&tx, feed::KEEP)?;
        }
        tx.commit()?;
        Ok(results)
    }

    fn apply_batch(&self, tx: &Transaction<'_>, batch: &Batch) -> Result<Committed, SqliteError> {
        let mut committed = Committed::default();
        let mut feed = FeedWriter::new(self.origin);
        batch
            .iter()
            .try_for_each(|op| apply(tx, op, &mut committed, &mut feed))?;
        Ok(committed)
    }

    fn apply_in_savepoint(
        &self,
        tx: &Transaction<'_>,
        batch: &Batch,
    ) -> Result<Committed, SqliteError> {
        tx.prepare_cached("SAVEPOINT batch")?.execute([])?;
        match self.apply_batch(tx, batch) {
            Ok(committed) => {
                tx.prepare_cached("RELEASE batch")?.execute([])?;
                Ok(committed)
            }
            Err(e) => {
                tx.prepare_cached("ROLLBACK TO batch")?.execute([])?;
                tx.prepare_cached("RELEASE batch")?.execute([])?;
                Err(e)
            }
        }
    }
}

fn fail_all(group: Vec<Request>, error: &rusqlite::Error) {
    tracing::error!(%error, "group commit failed");
    for (_, reply) in group {
        let _ = reply.send(Err(StoreError::Database(error.to_string())));
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, SqliteError> {
    serde_json::to_string(value)
        .map_err(|e| SqliteError::Store(StoreError::Conflict(e.to_string())))
}

fn status_of(tx: &Transaction<'_>, id: &str) -> Result<Option<(Status, u32)>, SqliteError> {
    Ok(tx
        .prepare_cached("SELECT id, status, execution FROM instances WHERE id = ?1")?
        .query_row([id], |row| {
            let f = Fields::new(row, "instances", &["id"]);
            Ok((f.parse("status", Status::parse)?, f.get("execution")?))
        })
        .optional()?)
}

fn send(
    tx: &Transaction<'_>,
    message: &NewMessage,
    committed: &mut Committed,
    feed: &mut FeedWriter,
) -> Result<(), SqliteError> {
    tx.prepare_cached(
        "INSERT INTO inbox (instance_id, execution, task, kind, name, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        message.instance_id,
        message.execution,
        message.task,
        message.kind.as_str(),
        message.name,
        message.payload
    ])?;
    let id = tx.last_insert_rowid();
    feed.message(tx, &message.instance_id, id)?;
    committed.messages.push(Message {
        id,
        instance_id: message.instance_id.clone(),
        execution: message.execution,
        task: message.task,
        kind: message.kind,
        name: message.name.clone(),
        payload: message.payload.clone(),
    });
    Ok(())
}

/// Removes an activity task; false if it was already gone.
fn remove_activity(tx: &Transaction<'_>, task_id: i64) -> Result<bool, SqliteError> {
    let removed = tx
        .prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
        .execute([task_id])?;
    Ok(removed == 1)
}

fn append_history(
    tx: &Transaction<'_>,
    instance_id: &str,
    execution: u32,
    events: &[reprise_core::history::HistoryEvent],
) -> Result<(), SqliteError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO history (instance_id, execution, seq, at, event) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for event in events {
        let bytes = codec::encode(&event.event);
        insert.execute(params![instance_id, execution, event.seq, event.at, bytes])?;
    }
    Ok(())
}

/// Takes or renews a lease (see [`Op::TakeLease`]); returns its token.
fn take_lease(
    tx: &Transaction<'_>,
    name: &str,
    owner: &str,
    now: u64,
    until: u64,
) -> Result<u64, SqliteError> {
    let held: Option<(String, u64, u64)> = tx
        .prepare_cached("SELECT name, owner, token, expires_at FROM leases WHERE name = ?1")?
        .query_row([name], |row| {
            let f = Fields::new(row, "leases", &["name"]);
            Ok((f.get("owner")?, f.get("token")?, f.get("expires_at")?))
        })
        .optional()?;
    let token = match held {
        Some((holder, token, _)) if holder == owner => token,
        Some((holder, _, expires_at)) if expires_at >= now => {
            return Err(SqliteError::Store(StoreError::Conflict(format!(
                "the {name} lease is held by {holder} for another {} ms",
                expires_at - now
            ))));
        }
        Some((_, token, _)) => token + 1,
        None => 1,
    };
    tx.prepare_cached(
        "INSERT INTO leases (name, owner, token, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET owner = ?2, token = ?3, expires_at = ?4",
    )?
    .execute(params![name, owner, token, until])?;
    Ok(token)
}

/// Fails unless lease `name` still has the fencing token `token`.
fn expect_lease(tx: &Transaction<'_>, name: &str, token: u64) -> Result<(), SqliteError> {
    let current: Option<(String, u64)> = tx
        .prepare_cached("SELECT name, owner, token FROM leases WHERE name = ?1")?
        .query_row([name], |row| {
            let f = Fields::new(row, "leases", &["name"]);
            Ok((f.get("owner")?, f.get("token")?))
        })
        .optional()?;
    match current {
        Some((_, current)) if current == token => Ok(()),
        Some((owner, current)) => Err(SqliteError::Store(StoreError::Conflict(format!(
            "the {name} lease has moved on: token {current} (held by {owner}), not {token}"
        )))),
        None => Err(SqliteError::Store(StoreError::Conflict(format!(
            "the {name} lease was never taken"
        )))),
    }
}

fn insert_instance(tx: &Transaction<'_>, r: &InstanceRecord) -> Result<(), SqliteError> {
    let parent = r.parent.as_ref();
    tx.prepare_cached(
        "INSERT INTO instances (id, name, digest, execution, input, status, output, custom_status,
             parent_id, parent_execution, parent_task, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7, ?8, ?9, ?10, ?10)",
    )?
    .execute(params![
        r.id,
        r.name,
        r.digest,
        r.execution,
        r.input,
        r.status.as_str(),
        parent.map(|p| &p.instance_id),
        parent.map(|p| p.execution),
        parent.map(|p| p.task),
        r.created_at,
    ])?;
    Ok(())
}

fn apply(
    tx: &Transaction<'_>,
    op: &Op,
    committed: &mut Committed,
    feed: &mut FeedWriter,
) -> Result<(), SqliteError> {
    match op {
        Op::ExpectRunning {
            instance_id,
            execution,
        } => match status_of(tx, instance_id)? {
            Some((Status::Running, current)) if current == *execution => {}
            Some((status, current)) => {
                return Err(SqliteError::Store(StoreError::Conflict(format!(
                    "instance {instance_id} is {} in execution {current}",
                    status.as_str()
                ))));
            }
            None => {
                return Err(SqliteError::Store(StoreError::NotFound(format!(
                    "no instance {instance_id}"
                ))));
            }
        },
        Op::RegisterComponent {
            digest,
            bytes,
            names,
        } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO components (digest, bytes, registered_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![digest, bytes, now_ms()])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO registrations (role, name, digest) VALUES (?1, ?2, ?3)",
            )?;
            for (role, name) in names {
                insert.execute(params![role.as_str(), name, digest])?;
            }
            feed.work(tx, Work::Registrations)?;
        }
        Op::CacheCompiled {
            digest,
            engine,
            bytes,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO compiled (digest, engine, bytes) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![digest, engine, bytes])?;
        }
        Op::CreateInstance { record, started } => {
            if status_of(tx, &record.id)?.is_some() {
                let problem = format!("an instance with id {} already exists", record.id);
                let Some(parent) = &record.parent else {
                    return Err(SqliteError::Store(StoreError::Conflict(problem)));
                };
                let outcome = Err(reprise_core::history::Failure::new(problem));
                let message = NewMessage::task_result(parent, MessageKind::Child, &outcome);
                return send(tx, &message, committed, feed);
            }
            insert_instance(tx, record)?;
            feed.instance(tx, &record.id)?;
            append_history(
                tx,
                &record.id,
                record.execution,
                std::slice::from_ref(started),
            )?;
        }
        Op::AppendHistory {
            instance_id,
            execution,
            events,
        } => append_history(tx, instance_id, *execution, events)?,
        Op::ScheduleActivity(task) => {
            let options = serde_json::to_string(&task.options).unwrap_or_default();
            tx.prepare_cached(
                "INSERT INTO activity_tasks
                     (instance_id, execution, task, name, digest, input, options, attempt, visible_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                task.instance_id,
                task.execution,
                task.task,
                task.name,
                task.digest,
                task.input,
                options,
                task.attempt,
                task.visible_at
            ])?;
            committed.activities.push(ActivityTask {
                id: tx.last_insert_rowid(),
                ..task.clone()
            });
            feed.work(tx, Work::Activities)?;
        }
        Op::ScheduleTimer(timer) => {
            tx.prepare_cached(
                "INSERT INTO timers (instance_id, execution, task, fire_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![timer.instance_id, timer.execution, timer.task, timer.fire_at])?;
            feed.work(tx, Work::Timers)?;
        }
        Op::Send(message) => {
            if message.kind == MessageKind::Event {
                match status_of(tx, &message.instance_id)? {
                    None => {
                        return Err(SqliteError::Store(StoreError::NotFound(format!(
                            "no instance {}",
                            message.instance_id
                        ))));
                    }
                    Some((status, _)) if status.is_final() => {
                        return Err(SqliteError::Store(StoreError::Conflict(format!(
                            "instance {} is {} and takes no more events",
                            message.instance_id,
                            status.as_str()
                        ))));
                    }
                    Some(_) => {}
                }
            }
            send(tx, message, committed, feed)?;
        }
        Op::Consume(ids) => {
            let mut delete = tx.prepare_cached("DELETE FROM inbox WHERE id = ?1")?;
            for id in ids {
                delete.execute([id])?;
            }
        }
        Op::SetWaiting {
            instance_id,
            waiting,
        } => {
            // The episode's commit is the instance's latest sign of life.
            let json = serde_json::to_string(waiting).unwrap_or_default();
            tx.prepare_cached(
                "UPDATE instances SET waiting = ?3, updated_at = ?4
                 WHERE id = ?1 AND execution = ?2",
            )?
            .execute(params![instance_id, waiting.execution, json, now_ms()])?;
        }
        Op::SetCustomStatus {
            instance_id,
            status,
        } => {
            tx.prepare_cached(
                "UPDATE instances SET custom_status = ?2, updated_at = ?3 WHERE id = ?1",
            )?
            .execute(params![instance_id, status, now_ms()])?;
        }
        Op::SetStatus {
            instance_id,
            status,
            output,
        } => {
            // A finished instance awaits nothing any more.
            let changed = tx
                .prepare_cached(
                    "UPDATE instances SET status = ?2, output = ?3, updated_at = ?4,
                         waiting = CASE WHEN ?5 THEN NULL ELSE waiting END
                     WHERE id = ?1",
                )?
                .execute(params![
                    instance_id,
                    status.as_str(),
                    output,
                    now_ms(),
                    status.is_final()
                ])?;
            if changed == 0 {
                return Err(SqliteError::Store(StoreError::NotFound(format!(
                    "no instance {instance_id}"
                ))));
            }
            feed.instance(tx, instance_id)?;
            if status.is_final() {
                // Nothing will consume them: pending work of a finished instance goes.
                tx.prepare_cached("DELETE FROM activity_tasks WHERE instance_id = ?1")?
                    .execute([instance_id])?;
                tx.prepare_cached("DELETE FROM timers WHERE instance_id = ?1")?
                    .execute([instance_id])?;
            }
        }
        Op::ContinueAsNew {
            instance_id,
            execution,
            input,
            started,
        } => {
            let next = execution + 1;
            tx.prepare_cached(
                "UPDATE instances SET execution = ?2, input = ?3, updated_at = ?4, waiting = NULL
                 WHERE id = ?1",
            )?
            .execute(params![instance_id, next, input, now_ms()])?;
            for sql in [
                "DELETE FROM history WHERE instance_id = ?1 AND execution = ?2",
                "DELETE FROM inbox WHERE instance_id = ?1 AND execution = ?2",
                "DELETE FROM activity_tasks WHERE instance_id = ?1 AND execution = ?2",
                "DELETE FROM timers WHERE instance_id = ?1 AND execution = ?2",
            ] {
                tx.prepare_cached(sql)?
                    .execute(params![instance_id, execution])?;
            }
            append_history(tx, instance_id, next, std::slice::from_ref(started))?;
            feed.instance(tx, instance_id)?;
        }
        Op::CompleteActivity { task_id, message } => {
            if remove_activity(tx, *task_id)? {
                send(tx, message, committed, feed)?;
            }
        }
        Op::ConsumeActivity { task_id } => {
            remove_activity(tx, *task_id)?;
        }
        Op::RetryActivity {
            task_id,
            attempt,
            visible_at,
            failure,
        } => {
            let failure = serde_json::to_string(failure).unwrap_or_default();
            tx.prepare_cached(
                "UPDATE activity_tasks SET attempt = ?2, visible_at = ?3, last_failure = ?4
                 WHERE id = ?1",
            )?
            .execute(params![task_id, attempt, visible_at, failure])?;
            feed.work(tx, Work::Activities)?;
        }
        Op::FireTimer { timer, message } => {
            let removed = tx
                .prepare_cached(
                    "DELETE FROM timers WHERE instance_id = ?1 AND execution = ?2 AND task = ?3",
                )?
                .execute(params![timer.instance_id, timer.execution, timer.task])?;
            if removed == 1 {
                send(tx, message, committed, feed)?;
            }
        }
        Op::EnqueueActor {
            operation,
            reply,
            visible_at,
        } => {
            tx.prepare_cached(
                "INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                operation.target.kind,
                operation.target.key,
                operation.operation,
                operation.input,
                json(reply)?,
                visible_at
            ])?;
            feed.work(tx, Work::Actors)?;
        }
        Op::EnqueueAtomic { operations, reply } => {
            tx.prepare_cached("INSERT INTO actor_atomic (operations, reply) VALUES (?1, ?2)")?
                .execute(params![json(operations)?, json(reply)?])?;
            feed.work(tx, Work::Actors)?;
        }
        Op::ApplyActors {
            dequeued,
            atomic,
            states,
        } => {
            let mut delete = tx.prepare_cached("DELETE FROM actor_mailbox WHERE id = ?1")?;
            for id in dequeued {
                if delete.execute([id])? != 1 {
                    // Handled already (by an earlier run of this batch): never twice.
                    return Err(SqliteError::Store(StoreError::Conflict(format!(
                        "actor message {id} was already handled"
                    ))));
                }
            }
            if let Some(id) = atomic
                && tx
                    .prepare_cached("DELETE FROM actor_atomic WHERE id = ?1")?
                    .execute([id])?
                    != 1
            {
                return Err(SqliteError::Store(StoreError::Conflict(format!(
                    "atomic request {id} was already handled"
                ))));
            }
            let now = now_ms();
            for (id, state) in states {
                match state {
                    Some(state) => tx
                        .prepare_cached(
                            "INSERT INTO actors (kind, key, state, updated_at) VALUES (?1, ?2, ?3, ?4)
                             ON CONFLICT (kind, key) DO UPDATE SET state = ?3, updated_at = ?4",
                        )?
                        .execute(params![id.kind, id.key, state, now])?,
                    None => tx
                        .prepare_cached("DELETE FROM actors WHERE kind = ?1 AND key = ?2")?
                        .execute(params![id.kind, id.key])?,
                };
            }
        }
        Op::PutActorResult {
            request_id,
            outcome,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO actor_results (request_id, outcome) VALUES (?1, ?2)",
            )?
            .execute(params![request_id, outcome])?;
            feed.actor_result(tx, request_id)?;
        }
        Op::TakeLease {
            name,
            owner,
            now,
            until,
        } => committed.lease = Some(take_lease(tx, name, owner, *now, *until)?),
        Op::ExpectLease { name, token } => expect_lease(tx, name, *token)?,
        Op::ReleaseLease { name, owner } => {
            // Expired rather than deleted: the token must keep growing.
            tx.prepare_cached("UPDATE leases SET expires_at = 0 WHERE name = ?1 AND owner = ?2")?
                .execute([name, owner])?;
        }
        Op::DropActorResult { request_id } => {
            tx.prepare_cached("DELETE FROM actor_results WHERE request_id = ?1")?
                .execute([request_id])?;
        }
        Op::Purge { instance_id } => {
            match status_of(tx, instance_id)? {
                None => {
                    return Err(SqliteError::Store(StoreError::NotFound(format!(
                        "no instance {instance_id}"
                    ))));
                }
                Some((status, _)) if !status.is_final() => {
                    return Err(SqliteError::Store(StoreError::Conflict(format!(
                        "instance {instance_id} is {}; only finished instances can be purged",
                        status.as_str()
                    ))));
                }
                Some(_) => {}
            }
            for sql in [
                "DELETE FROM history WHERE instance_id = ?1",
                "DELETE FROM inbox WHERE instance_id = ?1",
                "DELETE FROM activity_tasks WHERE instance_id = ?1",
                "DELETE FROM timers WHERE instance_id = ?1",
                "DELETE FROM instances WHERE id = ?1",
            ] {
                tx.prepare_cached(sql)?.execute([instance_id])?;
            }
            feed.instance(tx, instance_id)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(batch: Batch) -> (Request, oneshot::Receiver<Result<Committed, StoreError>>) {
        let (reply, ticket) = oneshot::channel();
        ((batch, reply), ticket)
    }

    fn writer() -> Writer {
        Writer {
            origin: 1,
            transactions: 0,
        }
    }

    fn create(id: &str) -> Op {
        Op::create_instance(id.into(), "o", "d".into(), "null", None, 1)
    }

    #[test]
    fn a_failing_batch_rolls_back_alone_and_the_rest_of_its_group_commits() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let (first, first_ticket) = request(vec![create("a")]);
        // Creates "b", then fails its precondition: neither part may stay.
        let (failing, failing_ticket) = request(vec![
            create("b"),
            Op::ExpectRunning {
                instance_id: "nobody".into(),
                execution: 0,
            },
        ]);
        let (last, last_ticket) = request(vec![create("c")]);
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
    }
}
