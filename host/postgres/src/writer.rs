//! The writer of one store handle: a task that owns a connection and
//! commits many batches per transaction (group commit); a failing batch
//! rolls back alone.
//!
//! Rows other writers may touch at the same time are locked before they are
//! judged (`FOR UPDATE`), and inserts that could collide use `ON CONFLICT`,
//! so a check and the write it allows see the same row.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reprise_core::clock::now_ms;
use reprise_core::history::{HistoryEvent, codec};
use reprise_core::store::{
    ActivityTask, Batch, Committed, InstanceRecord, Message, MessageKind, NewMessage, Op, Status,
    StoreError,
};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement, Transaction};

use crate::feed::{self, FeedWriter, Work};
use crate::row::{PgError, int};

/// A batch and where to report its outcome.
pub(crate) type Request = (Batch, oneshot::Sender<Result<Committed, StoreError>>);

/// Most batches folded into one transaction: bounds the latency of the first.
const MAX_GROUP: usize = 512;
/// Most operations folded into one transaction, however few the batches
/// (an actor batch may hold 64).
const MAX_GROUP_OPS: usize = 4_096;

/// Transactions between prunings of the change feed.
const PRUNE_EVERY: u64 = 64;

/// Counts of what the writer committed, for measurements.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) transactions: AtomicU64,
    pub(crate) batches: AtomicU64,
}

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
        statements: HashMap::new(),
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
        let group = next_group(&mut queued);
        writer.reconnect_if_lost().await;
        let batches = group.len() as u64;
        if writer.commit_group(group).await {
            counters.transactions.fetch_add(1, Ordering::Relaxed);
            counters.batches.fetch_add(batches, Ordering::Relaxed);
        }
    }
}

/// Takes the next group from the queue. Lease batches, wherever they wait,
/// go first and alone, in a transaction of their own: a worker's lease
/// renewals must not wait behind a backlog of its own work, nor ride in a
/// large transaction, or under load the lease runs out before it is renewed
/// and the work moves between hosts for nothing. (Batches of different
/// callers have no order to keep; a caller that queues lease batches queues
/// nothing else on that path.) Other groups are bounded by batches and by
/// operations: each operation is a round trip or more.
fn next_group(queued: &mut VecDeque<Request>) -> Vec<Request> {
    let is_lease = |(batch, _): &Request| {
        batch
            .iter()
            .all(|op| matches!(op, Op::TakeLease { .. } | Op::ReleaseLease { .. }))
    };
    if queued.iter().any(is_lease) {
        let (leases, rest): (VecDeque<_>, VecDeque<_>) = queued.drain(..).partition(is_lease);
        *queued = rest;
        return leases.into();
    }
    let mut group = Vec::new();
    let mut ops = 0;
    while group.len() < MAX_GROUP && ops < MAX_GROUP_OPS {
        match queued.pop_front() {
            Some(next) => {
                ops += next.0.len();
                group.push(next);
            }
            None => break,
        }
    }
    group
}

struct Writer {
    client: Client,
    connect: crate::Connector,
    origin: i64,
    transactions: u64,
    /// Statements prepared on this connection, by their text.
    statements: HashMap<&'static str, Statement>,
}

/// What one batch wrote: its result and its feed entries.
type Applied = (Committed, FeedWriter);

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
                for ((_, reply), result) in group.into_iter().zip(results) {
                    // The requester may have given up waiting; the batch is durable anyway.
                    let _ = reply.send(result);
                }
                true
            }
            Err(error) => {
                let why = match StoreError::from(error) {
                    StoreError::Database(why) => why,
                    other => other.to_string(),
                };
                tracing::error!(error = %why, "group commit failed");
                for (_, reply) in group {
                    let _ = reply.send(Err(StoreError::Database(why.clone())));
                }
                false
            }
        }
    }

    /// Applies every batch in one transaction and commits it, unless a batch
    /// failed without savepoints (the transaction is then rolled back).
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
        for (batch, _) in group {
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
                Ok((committed, feed)) => {
                    entries.extend(feed.entries);
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
        feed::append(&tx, *origin, &entries).await?;
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

/// Applies one batch's ops in order.
async fn apply_batch(
    tx: &Transaction<'_>,
    statements: &mut HashMap<&'static str, Statement>,
    batch: &Batch,
) -> Result<Applied, PgError> {
    let mut ops = Ops {
        tx,
        statements,
        committed: Committed::default(),
        feed: FeedWriter::default(),
    };
    for op in batch {
        ops.apply(op).await?;
    }
    Ok((ops.committed, ops.feed))
}

/// The id an `INSERT … RETURNING id` gave back.
fn returned_id(row: Option<tokio_postgres::Row>) -> Result<i64, PgError> {
    let row = row.ok_or_else(|| refused(StoreError::Database("INSERT returned no id".into())))?;
    Ok(row.try_get(0)?)
}

fn refused(error: StoreError) -> PgError {
    PgError::Store(error)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, PgError> {
    serde_json::to_string(value).map_err(|e| refused(StoreError::Conflict(e.to_string())))
}

/// One batch being applied inside a transaction.
struct Ops<'t, 'c> {
    tx: &'t Transaction<'c>,
    statements: &'t mut HashMap<&'static str, Statement>,
    committed: Committed,
    feed: FeedWriter,
}

impl Ops<'_, '_> {
    async fn statement(&mut self, sql: &'static str) -> Result<Statement, PgError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql).await?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Runs `sql`; returns the rows it changed.
    async fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.execute(&statement, params).await?)
    }

    async fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.query_opt(&statement, params).await?)
    }

    /// An instance's status and execution, its row locked until commit.
    async fn lock_instance(&mut self, id: &str) -> Result<Option<(Status, u32)>, PgError> {
        let row = self
            .query_opt(
                "SELECT status, execution FROM instances WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        row.map(|row| {
            let f = crate::row::Fields::new(&row, "instances");
            Ok((f.parse("status", Status::parse)?, f.u32("execution")?))
        })
        .transpose()
    }

    async fn send(&mut self, message: &NewMessage) -> Result<(), PgError> {
        let execution = message.execution.map(i64::from);
        let task = message.task.map(i64::from);
        let row = self
            .query_opt(
                "INSERT INTO inbox (instance_id, execution, task, kind, name, payload)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &message.instance_id,
                    &execution,
                    &task,
                    &message.kind.as_str(),
                    &message.name,
                    &message.payload,
                ],
            )
            .await?;
        let id: i64 = returned_id(row)?;
        self.feed.message(&message.instance_id, id);
        self.committed.messages.push(Message {
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

    async fn append_history(
        &mut self,
        instance_id: &str,
        execution: u32,
        events: &[HistoryEvent],
    ) -> Result<(), PgError> {
        let execution = i64::from(execution);
        for event in events {
            let bytes = codec::encode(&event.event);
            self.execute(
                "INSERT INTO history (instance_id, execution, seq, at, event)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &instance_id,
                    &execution,
                    &i64::from(event.seq),
                    &int(event.at),
                    &bytes,
                ],
            )
            .await?;
        }
        Ok(())
    }

    async fn insert_instance(&mut self, r: &InstanceRecord) -> Result<bool, PgError> {
        let parent = r.parent.as_ref();
        let inserted = self
            .execute(
                "INSERT INTO instances (id, name, digest, execution, input, status,
                     parent_id, parent_execution, parent_task, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &r.id,
                    &r.name,
                    &r.digest,
                    &i64::from(r.execution),
                    &r.input,
                    &r.status.as_str(),
                    &parent.map(|p| &p.instance_id),
                    &parent.map(|p| i64::from(p.execution)),
                    &parent.map(|p| i64::from(p.task)),
                    &int(r.created_at),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Takes or renews a lease (see [`Op::TakeLease`]); returns its token.
    async fn take_lease(
        &mut self,
        name: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<u64, PgError> {
        // The row exists before it is locked, so two first takers queue on
        // the lock instead of colliding on the insert.
        self.execute(
            "INSERT INTO leases (name, owner, token, expires_at) VALUES ($1, '', 0, 0)
             ON CONFLICT (name) DO NOTHING",
            &[&name],
        )
        .await?;
        let row = self
            .query_opt(
                "SELECT owner, token, expires_at FROM leases WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?
            .ok_or_else(|| refused(StoreError::Database(format!("lease {name} vanished"))))?;
        let f = crate::row::Fields::new(&row, "leases");
        let (holder, token, expires_at): (String, u64, u64) =
            (f.get("owner")?, f.uint("token")?, f.uint("expires_at")?);
        let token = if holder == owner && token > 0 {
            token
        } else if expires_at >= now && token > 0 {
            return Err(refused(StoreError::Conflict(format!(
                "the {name} lease is held by {holder} for another {} ms",
                expires_at - now
            ))));
        } else {
            token + 1
        };
        self.execute(
            "UPDATE leases SET owner = $2, token = $3, expires_at = $4 WHERE name = $1",
            &[&name, &owner, &int(token), &int(until)],
        )
        .await?;
        Ok(token)
    }

    /// Fails unless lease `name` still has the fencing token `token`. The
    /// row is locked, so the lease cannot change hands before this commits.
    async fn expect_lease(&mut self, name: &str, token: u64) -> Result<(), PgError> {
        let row = self
            .query_opt(
                "SELECT owner, token FROM leases WHERE name = $1 FOR SHARE",
                &[&name],
            )
            .await?;
        let current = row
            .map(|row| {
                let f = crate::row::Fields::new(&row, "leases");
                Ok::<_, PgError>((f.get::<String>("owner")?, f.uint("token")?))
            })
            .transpose()?;
        match current {
            Some((_, current)) if current == token && token > 0 => Ok(()),
            Some((_, 0)) | None => Err(refused(StoreError::Conflict(format!(
                "the {name} lease was never taken"
            )))),
            Some((owner, current)) => Err(refused(StoreError::Conflict(format!(
                "the {name} lease has moved on: token {current} (held by {owner}), not {token}"
            )))),
        }
    }

    async fn apply(&mut self, op: &Op) -> Result<(), PgError> {
        match op {
            Op::ExpectRunning {
                instance_id,
                execution,
            } => match self.lock_instance(instance_id).await? {
                Some((Status::Running, current)) if current == *execution => {}
                Some((status, current)) => {
                    return Err(refused(StoreError::Conflict(format!(
                        "instance {instance_id} is {} in execution {current}",
                        status.as_str()
                    ))));
                }
                None => {
                    return Err(refused(StoreError::NotFound(format!(
                        "no instance {instance_id}"
                    ))));
                }
            },
            Op::RegisterComponent {
                digest,
                bytes,
                names,
            } => {
                self.execute(
                    "INSERT INTO components (digest, bytes, registered_at) VALUES ($1, $2, $3)
                     ON CONFLICT (digest) DO NOTHING",
                    &[digest, bytes, &int(now_ms())],
                )
                .await?;
                for (role, name) in names {
                    self.execute(
                        "INSERT INTO registrations (role, name, digest) VALUES ($1, $2, $3)",
                        &[&role.as_str(), name, digest],
                    )
                    .await?;
                }
                self.feed.work(Work::Registrations);
            }
            Op::CacheCompiled {
                digest,
                engine,
                bytes,
            } => {
                self.execute(
                    "INSERT INTO compiled (digest, engine, bytes) VALUES ($1, $2, $3)
                     ON CONFLICT (digest, engine) DO UPDATE SET bytes = EXCLUDED.bytes",
                    &[digest, engine, bytes],
                )
                .await?;
            }
            Op::CreateInstance { record, started } => {
                if !self.insert_instance(record).await? {
                    let problem = format!("an instance with id {} already exists", record.id);
                    let Some(parent) = &record.parent else {
                        return Err(refused(StoreError::Conflict(problem)));
                    };
                    let outcome = Err(reprise_core::history::Failure::new(problem));
                    let message = NewMessage::task_result(parent, MessageKind::Child, &outcome);
                    return self.send(&message).await;
                }
                self.feed.instance(&record.id);
                self.append_history(&record.id, record.execution, std::slice::from_ref(started))
                    .await?;
            }
            Op::AppendHistory {
                instance_id,
                execution,
                events,
            } => self.append_history(instance_id, *execution, events).await?,
            Op::ScheduleActivity(task) => {
                let options = json(&task.options)?;
                let row = self
                    .query_opt(
                        "INSERT INTO activity_tasks
                             (instance_id, execution, task, name, digest, input, options, attempt, visible_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                        &[
                            &task.instance_id,
                            &i64::from(task.execution),
                            &i64::from(task.task),
                            &task.name,
                            &task.digest,
                            &task.input,
                            &options,
                            &i64::from(task.attempt),
                            &int(task.visible_at),
                        ],
                    )
                    .await?;
                self.committed.activities.push(ActivityTask {
                    id: returned_id(row)?,
                    ..task.clone()
                });
                self.feed.work(Work::Activities);
            }
            Op::ScheduleTimer(timer) => {
                self.execute(
                    "INSERT INTO timers (instance_id, execution, task, fire_at) VALUES ($1, $2, $3, $4)",
                    &[
                        &timer.instance_id,
                        &i64::from(timer.execution),
                        &i64::from(timer.task),
                        &int(timer.fire_at),
                    ],
                )
                .await?;
                self.feed.work(Work::Timers);
            }
            Op::Send(message) => {
                if message.kind == MessageKind::Event {
                    // Locked: a terminate committing beside it waits, or wins.
                    match self.lock_instance(&message.instance_id).await? {
                        None => {
                            return Err(refused(StoreError::NotFound(format!(
                                "no instance {}",
                                message.instance_id
                            ))));
                        }
                        Some((status, _)) if status.is_final() => {
                            return Err(refused(StoreError::Conflict(format!(
                                "instance {} is {} and takes no more events",
                                message.instance_id,
                                status.as_str()
                            ))));
                        }
                        Some(_) => {}
                    }
                }
                self.send(message).await?;
            }
            Op::Consume(ids) => {
                self.execute("DELETE FROM inbox WHERE id = ANY($1)", &[ids])
                    .await?;
            }
            Op::SetWaiting {
                instance_id,
                waiting,
            } => {
                let waiting_json = json(waiting)?;
                self.execute(
                    "UPDATE instances SET waiting = $3, updated_at = $4
                     WHERE id = $1 AND execution = $2",
                    &[
                        instance_id,
                        &i64::from(waiting.execution),
                        &waiting_json,
                        &int(now_ms()),
                    ],
                )
                .await?;
            }
            Op::SetCustomStatus {
                instance_id,
                status,
            } => {
                self.execute(
                    "UPDATE instances SET custom_status = $2, updated_at = $3 WHERE id = $1",
                    &[instance_id, status, &int(now_ms())],
                )
                .await?;
            }
            Op::SetStatus {
                instance_id,
                status,
                output,
            } => {
                // A finished instance awaits nothing any more.
                let changed = self
                    .execute(
                        "UPDATE instances SET status = $2, output = $3, updated_at = $4,
                             waiting = CASE WHEN $5 THEN NULL ELSE waiting END
                         WHERE id = $1",
                        &[
                            instance_id,
                            &status.as_str(),
                            output,
                            &int(now_ms()),
                            &status.is_final(),
                        ],
                    )
                    .await?;
                if changed == 0 {
                    return Err(refused(StoreError::NotFound(format!(
                        "no instance {instance_id}"
                    ))));
                }
                self.feed.instance(instance_id);
                if status.is_final() {
                    // Nothing will consume them: pending work of a finished instance goes.
                    self.execute(
                        "DELETE FROM activity_tasks WHERE instance_id = $1",
                        &[instance_id],
                    )
                    .await?;
                    self.execute("DELETE FROM timers WHERE instance_id = $1", &[instance_id])
                        .await?;
                }
            }
            Op::ContinueAsNew {
                instance_id,
                execution,
                input,
                started,
            } => {
                let next = execution + 1;
                self.execute(
                    "UPDATE instances SET execution = $2, input = $3, updated_at = $4, waiting = NULL
                     WHERE id = $1",
                    &[instance_id, &i64::from(next), input, &int(now_ms())],
                )
                .await?;
                let old = i64::from(*execution);
                self.execute(
                    "DELETE FROM history WHERE instance_id = $1 AND execution = $2",
                    &[instance_id, &old],
                )
                .await?;
                self.execute(
                    "DELETE FROM inbox WHERE instance_id = $1 AND execution = $2",
                    &[instance_id, &old],
                )
                .await?;
                self.execute(
                    "DELETE FROM activity_tasks WHERE instance_id = $1 AND execution = $2",
                    &[instance_id, &old],
                )
                .await?;
                self.execute(
                    "DELETE FROM timers WHERE instance_id = $1 AND execution = $2",
                    &[instance_id, &old],
                )
                .await?;
                self.append_history(instance_id, next, std::slice::from_ref(started))
                    .await?;
                self.feed.instance(instance_id);
            }
            Op::CompleteActivity { task_id, message } => {
                if self.remove_activity(*task_id).await? {
                    self.send(message).await?;
                }
            }
            Op::ConsumeActivity { task_id } => {
                self.remove_activity(*task_id).await?;
            }
            Op::RetryActivity {
                task_id,
                attempt,
                visible_at,
                failure,
            } => {
                let failure = json(failure)?;
                self.execute(
                    "UPDATE activity_tasks SET attempt = $2, visible_at = $3, last_failure = $4
                     WHERE id = $1",
                    &[task_id, &i64::from(*attempt), &int(*visible_at), &failure],
                )
                .await?;
                self.feed.work(Work::Activities);
            }
            Op::FireTimer { timer, message } => {
                let removed = self
                    .execute(
                        "DELETE FROM timers WHERE instance_id = $1 AND execution = $2 AND task = $3",
                        &[
                            &timer.instance_id,
                            &i64::from(timer.execution),
                            &i64::from(timer.task),
                        ],
                    )
                    .await?;
                if removed == 1 {
                    self.send(message).await?;
                }
            }
            Op::EnqueueActor {
                operation,
                reply,
                visible_at,
            } => {
                let reply = json(reply)?;
                self.execute(
                    "INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        &operation.target.kind,
                        &operation.target.key,
                        &operation.operation,
                        &operation.input,
                        &reply,
                        &int(*visible_at),
                    ],
                )
                .await?;
                self.feed.work(Work::Actors);
            }
            Op::EnqueueAtomic { operations, reply } => {
                let (operations, reply) = (json(operations)?, json(reply)?);
                self.execute(
                    "INSERT INTO actor_atomic (operations, reply) VALUES ($1, $2)",
                    &[&operations, &reply],
                )
                .await?;
                self.feed.work(Work::Actors);
            }
            Op::ApplyActors {
                dequeued,
                atomic,
                states,
            } => self.apply_actors(dequeued, *atomic, states).await?,
            Op::PutActorResult {
                request_id,
                outcome,
            } => {
                self.execute(
                    "INSERT INTO actor_results (request_id, outcome) VALUES ($1, $2)
                     ON CONFLICT (request_id) DO UPDATE SET outcome = EXCLUDED.outcome",
                    &[request_id, outcome],
                )
                .await?;
                self.feed.actor_result(request_id);
            }
            Op::DropActorResult { request_id } => {
                self.execute(
                    "DELETE FROM actor_results WHERE request_id = $1",
                    &[request_id],
                )
                .await?;
            }
            Op::TakeLease {
                name,
                owner,
                now,
                until,
            } => {
                let token = self.take_lease(name, owner, *now, *until).await?;
                self.committed.lease = Some(token);
            }
            Op::ExpectLease { name, token } => self.expect_lease(name, *token).await?,
            Op::ReleaseLease { name, owner } => {
                // Expired rather than deleted: the token must keep growing.
                self.execute(
                    "UPDATE leases SET expires_at = 0 WHERE name = $1 AND owner = $2",
                    &[name, owner],
                )
                .await?;
            }
            Op::Purge { instance_id } => {
                match self.lock_instance(instance_id).await? {
                    None => {
                        return Err(refused(StoreError::NotFound(format!(
                            "no instance {instance_id}"
                        ))));
                    }
                    Some((status, _)) if !status.is_final() => {
                        return Err(refused(StoreError::Conflict(format!(
                            "instance {instance_id} is {}; only finished instances can be purged",
                            status.as_str()
                        ))));
                    }
                    Some(_) => {}
                }
                for sql in [
                    "DELETE FROM history WHERE instance_id = $1",
                    "DELETE FROM inbox WHERE instance_id = $1",
                    "DELETE FROM activity_tasks WHERE instance_id = $1",
                    "DELETE FROM timers WHERE instance_id = $1",
                    "DELETE FROM instances WHERE id = $1",
                ] {
                    self.execute(sql, &[instance_id]).await?;
                }
                self.feed.instance(instance_id);
            }
        }
        Ok(())
    }

    /// Removes an activity task; false if it was already gone.
    async fn remove_activity(&mut self, task_id: i64) -> Result<bool, PgError> {
        let removed = self
            .execute("DELETE FROM activity_tasks WHERE id = $1", &[&task_id])
            .await?;
        Ok(removed == 1)
    }

    async fn apply_actors(
        &mut self,
        dequeued: &[i64],
        atomic: Option<i64>,
        states: &[(reprise_core::store::ActorId, Option<String>)],
    ) -> Result<(), PgError> {
        for id in dequeued {
            if self
                .execute("DELETE FROM actor_mailbox WHERE id = $1", &[id])
                .await?
                != 1
            {
                // Handled already (by an earlier run of this batch): never twice.
                return Err(refused(StoreError::Conflict(format!(
                    "actor message {id} was already handled"
                ))));
            }
        }
        if let Some(id) = atomic
            && self
                .execute("DELETE FROM actor_atomic WHERE id = $1", &[&id])
                .await?
                != 1
        {
            return Err(refused(StoreError::Conflict(format!(
                "atomic request {id} was already handled"
            ))));
        }
        let now = int(now_ms());
        for (id, state) in states {
            match state {
                Some(state) => {
                    self.execute(
                        "INSERT INTO actors (kind, key, state, updated_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (kind, key) DO UPDATE SET state = $3, updated_at = $4",
                        &[&id.kind, &id.key, state, &now],
                    )
                    .await?
                }
                None => {
                    self.execute(
                        "DELETE FROM actors WHERE kind = $1 AND key = $2",
                        &[&id.kind, &id.key],
                    )
                    .await?
                }
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(batch: Batch) -> Request {
        (batch, oneshot::channel().0)
    }

    fn renewal(name: &str) -> Batch {
        vec![Op::TakeLease {
            name: name.into(),
            owner: "me".into(),
            now: 0,
            until: 1,
        }]
    }

    fn work(n: u64) -> Batch {
        vec![Op::ExpectLease {
            name: format!("work-{n}"),
            token: n,
        }]
    }

    fn names(group: &[Request]) -> Vec<String> {
        group
            .iter()
            .map(|(batch, _)| match &batch[0] {
                Op::TakeLease { name, .. } | Op::ExpectLease { name, .. } => name.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn lease_batches_jump_the_queue_alone_and_the_rest_keep_their_order() {
        let mut queued: VecDeque<Request> = (0..MAX_GROUP as u64 + 10)
            .map(|n| request(work(n)))
            .collect();
        queued.push_back(request(renewal("partition/1")));
        queued.push_back(request(work(9_999)));
        queued.push_back(request(renewal("actors")));
        assert_eq!(names(&next_group(&mut queued)), ["partition/1", "actors"]);
        let first = next_group(&mut queued);
        assert_eq!(first.len(), MAX_GROUP);
        assert_eq!(names(&first[..1]), ["work-0"]);
        let rest = next_group(&mut queued);
        assert_eq!(names(&rest[..1]), [format!("work-{MAX_GROUP}")]);
        assert_eq!(names(&rest).last().unwrap(), "work-9999");
        assert_eq!(rest.len(), 11);
        assert!(queued.is_empty());
        // Large batches make smaller groups.
        queued.extend((0..100).map(|n| request(vec![work(n).remove(0); 64])));
        assert_eq!(next_group(&mut queued).len(), MAX_GROUP_OPS / 64);
    }
}
