//! One batch being applied inside the writer's transaction: the
//! statements prepared on its connection, what the batch has produced so
//! far, and the reads and writes several ops share (see `apply` for what
//! each op does).

use std::collections::HashMap;

use reprise_core::history::{HistoryEvent, codec};
use reprise_core::store::{
    ActorId, Batch, Committed, InstanceRecord, Lease, Message, NewMessage, StoreError,
};
use reprise_store_rules::cleanup::Owned;
use reprise_store_rules::feed::FeedEntries;
use reprise_store_rules::verdict::InstanceState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Statement, Transaction};

use crate::row::{self, PgError, int};

/// Statements prepared on one connection, by their text.
pub(crate) type Statements = HashMap<String, Statement>;

/// What one batch wrote: its result, its feed entries, and the turns of
/// its atomic requests, inserted when the transaction ends.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub(crate) committed: Committed,
    pub(crate) feed: FeedEntries,
    pub(crate) turns: Vec<Turn>,
}

/// An atomic request's turn in one mailbox, inserted when the transaction
/// ends (see `actors`).
#[derive(Debug)]
pub(crate) struct Turn {
    pub(crate) request: i64,
    pub(crate) operation: reprise_core::store::ActorOperation,
    pub(crate) reply: String,
}

/// Applies one batch's ops in order.
pub(crate) async fn apply_batch(
    tx: &Transaction<'_>,
    statements: &mut Statements,
    batch: &Batch,
) -> Result<Applied, PgError> {
    let mut ops = Ops {
        tx,
        statements,
        out: Applied::default(),
    };
    for op in batch {
        ops.apply(op).await?;
    }
    Ok(ops.out)
}

/// One batch being applied inside a transaction.
pub(crate) struct Ops<'t, 'c> {
    tx: &'t Transaction<'c>,
    statements: &'t mut Statements,
    /// What the batch has produced so far.
    pub(crate) out: Applied,
}

impl Ops<'_, '_> {
    pub(crate) async fn statement(&mut self, sql: &str) -> Result<Statement, PgError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql).await?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Runs `sql`; returns the rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.execute(&statement, params).await?)
    }

    pub(crate) async fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.query(&statement, params).await?)
    }

    pub(crate) async fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, PgError> {
        let statement = self.statement(sql).await?;
        Ok(self.tx.query_opt(&statement, params).await?)
    }

    /// An instance's status, execution and code, its row locked until commit.
    pub(crate) async fn lock_instance(
        &mut self,
        id: &str,
    ) -> Result<Option<InstanceState>, PgError> {
        let row = self
            .query_opt(
                "SELECT id, status, execution, digest FROM instances WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        row.map(|row| row::instance_state(&row)).transpose()
    }

    /// How many events an execution's history holds (read after its
    /// instance's row was locked, so no episode adds to it meanwhile).
    pub(crate) async fn history_len(&mut self, id: &str, execution: u32) -> Result<u64, PgError> {
        let count = self
            .query_opt(
                "SELECT count(*) FROM history WHERE instance_id = $1 AND execution = $2",
                &[&id, &i64::from(execution)],
            )
            .await?
            .map_or(0, |row| row.get::<_, i64>(0));
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// A lease's row, locked until commit.
    pub(crate) async fn lock_lease(&mut self, name: &str) -> Result<Lease, PgError> {
        // The row exists before it is locked, so two first takers queue on
        // the lock instead of colliding on the insert. Its token 0 says it
        // was never granted.
        self.execute(
            "INSERT INTO leases (name, owner, token, expires_at) VALUES ($1, '', 0, 0)
             ON CONFLICT (name) DO NOTHING",
            &[&name],
        )
        .await?;
        let row = self
            .query_opt(
                "SELECT name, owner, token, expires_at FROM leases WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?
            .ok_or_else(|| StoreError::Database(format!("lease {name} vanished")))?;
        row::lease(&row)
    }

    /// Deletes an instance's rows of `owned`: of one execution, or of all.
    pub(crate) async fn delete_owned(
        &mut self,
        owned: Owned,
        instance_id: &str,
        execution: Option<u32>,
    ) -> Result<(), PgError> {
        let table = owned.table();
        match execution {
            Some(execution) => {
                let sql = format!("DELETE FROM {table} WHERE instance_id = $1 AND execution = $2");
                self.execute(&sql, &[&instance_id, &i64::from(execution)])
                    .await?
            }
            None => {
                let sql = format!("DELETE FROM {table} WHERE instance_id = $1");
                self.execute(&sql, &[&instance_id]).await?
            }
        };
        Ok(())
    }

    pub(crate) async fn send(&mut self, message: &NewMessage) -> Result<(), PgError> {
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
        self.out.feed.message(&message.instance_id, id);
        self.out.committed.messages.push(Message {
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

    pub(crate) async fn append_history(
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

    /// Inserts the instance; false if its id was taken.
    pub(crate) async fn insert_instance(&mut self, r: &InstanceRecord) -> Result<bool, PgError> {
        let parent = r.parent.as_ref();
        let fork = r.forked_from.as_ref();
        let inserted = self
            .execute(
                "INSERT INTO instances (id, name, digest, execution, input, status,
                     parent_id, parent_execution, parent_task, created_at, updated_at, pinned,
                     forked_from_id, forked_from_execution, forked_from_event)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14)
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
                    &r.pinned,
                    &fork.map(|f| &f.instance_id),
                    &fork.map(|f| i64::from(f.execution)),
                    &fork.map(|f| i64::from(f.event)),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Removes an activity task; returns the rows removed (0 if already gone).
    pub(crate) async fn remove_activity(&mut self, task_id: i64) -> Result<u64, PgError> {
        self.execute("DELETE FROM activity_tasks WHERE id = $1", &[&task_id])
            .await
    }

    pub(crate) async fn apply_actors(
        &mut self,
        dequeued: &[i64],
        atomic: Option<i64>,
        states: &[(ActorId, Option<String>)],
        at: u64,
    ) -> Result<(), PgError> {
        self.dequeue(dequeued, atomic).await?;
        let now = int(at);
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

/// The id an `INSERT … RETURNING id` gave back.
pub(crate) fn returned_id(row: Option<tokio_postgres::Row>) -> Result<i64, PgError> {
    let row = row.ok_or_else(|| StoreError::Database("INSERT returned no id".into()))?;
    Ok(row.try_get(0)?)
}
