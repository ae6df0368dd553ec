//! What each [`Op`] does on SQLite: the rows it reads, the shared rule it
//! asks (`reprise_store_rules`), the rows it writes. The one writer holds
//! SQLite's write lock for the whole transaction, so what an op reads
//! cannot change before its write.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::actors;
use crate::row::{SqliteError, read_instance_state, read_lease};
use reprise_core::history::{HistoryEvent, codec};
use reprise_core::store::{
    ActivityTask, Batch, Committed, InstanceRecord, Lease, Message, NewMessage, Op,
};
use reprise_store_rules::cleanup::{self, Owned};
use reprise_store_rules::feed::FeedEntries;
use reprise_store_rules::verdict::{self, InstanceState};
use reprise_store_rules::{json, lease, sql_int};

/// What one batch wrote: its result and its feed entries.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub(crate) committed: Committed,
    pub(crate) feed: FeedEntries,
}

/// Applies one batch's ops in order.
pub(crate) fn apply_batch(tx: &Transaction<'_>, batch: &Batch) -> Result<Applied, SqliteError> {
    let mut applied = Applied::default();
    for op in batch {
        apply(tx, op, &mut applied)?;
    }
    Ok(applied)
}

fn apply(tx: &Transaction<'_>, op: &Op, out: &mut Applied) -> Result<(), SqliteError> {
    match op {
        Op::ExpectRunning {
            instance_id,
            execution,
            digest,
        } => verdict::expect_running(
            instance_id,
            *execution,
            digest.as_deref(),
            instance_state(tx, instance_id)?,
        )?,
        Op::RegisterComponent {
            digest,
            bytes,
            names,
            at,
        } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO components (digest, bytes, registered_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![digest, bytes, sql_int(*at)])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO registrations (role, name, digest) VALUES (?1, ?2, ?3)",
            )?;
            for (role, name) in names {
                insert.execute(params![role.as_str(), name, digest])?;
            }
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
            if instance_state(tx, &record.id)?.is_some() {
                // No instance entry: the parent's message is this op's.
                return send(tx, &verdict::duplicate_instance(record)?, out);
            }
            insert_instance(tx, record)?;
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
                json(&task.options)?,
                task.attempt,
                task.visible_at
            ])?;
            out.committed.activities.push(ActivityTask {
                id: tx.last_insert_rowid(),
                ..task.clone()
            });
        }
        Op::ScheduleTimer(timer) => {
            tx.prepare_cached(
                "INSERT INTO timers (instance_id, execution, task, fire_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![timer.instance_id, timer.execution, timer.task, timer.fire_at])?;
        }
        Op::Send(message) => {
            if verdict::checks_addressee(message) {
                let addressee = instance_state(tx, &message.instance_id)?;
                verdict::accept_event(&message.instance_id, addressee)?;
            }
            send(tx, message, out)?;
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
            tx.prepare_cached(
                "UPDATE instances SET waiting = ?3, updated_at = ?4
                 WHERE id = ?1 AND execution = ?2",
            )?
            .execute(params![
                instance_id,
                waiting.execution,
                json(waiting)?,
                sql_int(waiting.since)
            ])?;
        }
        Op::SetCustomStatus {
            instance_id,
            status,
            at,
        } => {
            tx.prepare_cached(
                "UPDATE instances SET custom_status = ?2, updated_at = ?3 WHERE id = ?1",
            )?
            .execute(params![instance_id, status, sql_int(*at)])?;
        }
        Op::SetStatus {
            instance_id,
            status,
            output,
            at,
        } => {
            let change = cleanup::status_change(*status);
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
                    sql_int(*at),
                    change.clears_waiting
                ])?;
            if changed == 0 {
                return Err(verdict::no_instance(instance_id).into());
            }
            for owned in change.drops {
                delete_owned(tx, *owned, instance_id, None)?;
            }
        }
        Op::ContinueAsNew {
            instance_id,
            execution,
            input,
            digest,
            started,
        } => {
            let next = execution + 1;
            tx.prepare_cached(
                "UPDATE instances SET execution = ?2, input = ?3, updated_at = ?4, waiting = NULL,
                     digest = ?5
                 WHERE id = ?1",
            )?
            .execute(params![
                instance_id,
                next,
                input,
                sql_int(started.at),
                digest
            ])?;
            for owned in cleanup::DROPPED_BY_CONTINUE_AS_NEW {
                delete_owned(tx, *owned, instance_id, Some(*execution))?;
            }
            append_history(tx, instance_id, next, std::slice::from_ref(started))?;
        }
        Op::MoveInstance {
            instance_id,
            execution,
            from,
            to,
            events,
            at,
        } => {
            let recorded = history_len(tx, instance_id, *execution)?;
            let checked = verdict::Move {
                execution: *execution,
                from,
                to,
                events: *events,
                at: *at,
            };
            let found = instance_state(tx, instance_id)?;
            let moved = verdict::move_instance(instance_id, checked, found, recorded)?;
            append_history(tx, instance_id, *execution, std::slice::from_ref(&moved))?;
            tx.prepare_cached("UPDATE instances SET digest = ?2, updated_at = ?3 WHERE id = ?1")?
                .execute(params![instance_id, to, sql_int(*at)])?;
        }
        Op::Rewind {
            instance_id,
            execution,
            events,
            marker,
            at,
        } => {
            let recorded = history_len(tx, instance_id, *execution)?;
            let found = instance_state(tx, instance_id)?;
            let cut_at = marker.seq;
            verdict::rewind(instance_id, *execution, *events, cut_at, found, recorded)?;
            tx.prepare_cached(
                "DELETE FROM history WHERE instance_id = ?1 AND execution = ?2 AND seq >= ?3",
            )?
            .execute(params![instance_id, execution, cut_at])?;
            append_history(tx, instance_id, *execution, std::slice::from_ref(marker))?;
            tx.prepare_cached(
                "DELETE FROM inbox WHERE instance_id = ?1 AND execution = ?2 AND task >= ?3",
            )?
            .execute(params![instance_id, execution, cut_at])?;
            tx.prepare_cached(
                "UPDATE instances SET status = 'running', output = NULL, waiting = NULL,
                     updated_at = ?2
                 WHERE id = ?1",
            )?
            .execute(params![instance_id, sql_int(*at)])?;
        }
        Op::CompleteActivity { task_id, message } => {
            if verdict::delivers(remove_activity(tx, *task_id)?) {
                send(tx, message, out)?;
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
            tx.prepare_cached(
                "UPDATE activity_tasks SET attempt = ?2, visible_at = ?3, last_failure = ?4
                 WHERE id = ?1",
            )?
            .execute(params![task_id, attempt, visible_at, json(failure)?])?;
        }
        Op::FireTimer { timer, message } => {
            let removed = tx
                .prepare_cached(
                    "DELETE FROM timers WHERE instance_id = ?1 AND execution = ?2 AND task = ?3",
                )?
                .execute(params![timer.instance_id, timer.execution, timer.task])?;
            if verdict::delivers(removed as u64) {
                send(tx, message, out)?;
            }
        }
        Op::EnqueueActor {
            operation,
            reply,
            visible_at,
            capacity,
        } => actors::enqueue(tx, operation, &json(reply)?, *visible_at, None, *capacity)?,
        Op::EnqueueAtomic {
            operations,
            reply,
            capacity,
        } => actors::enqueue_atomic(tx, operations, reply, *capacity)?,
        Op::ApplyActors {
            dequeued,
            atomic,
            states,
            at,
        } => {
            actors::dequeue(tx, dequeued, *atomic)?;
            let now = sql_int(*at);
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
        Op::TakeActivitySlot {
            slot,
            limit,
            now,
            until,
        } => crate::flow::take_slot(tx, slot, limit, *now, *until)?,
        Op::ReleaseActivitySlot {
            task_id,
            attempt,
            now,
        } => crate::flow::release_slot(tx, *task_id, *attempt, *now)?,
        Op::PutActorResult {
            request_id,
            outcome,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO actor_results (request_id, outcome) VALUES (?1, ?2)",
            )?
            .execute(params![request_id, outcome])?;
        }
        Op::RememberRequest {
            request,
            forget_before,
        } => {
            let remembered = tx
                .prepare_cached(
                    "INSERT INTO idempotency (key, fingerprint, answer, call_request, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (key) DO UPDATE SET fingerprint = ?2, answer = ?3,
                         call_request = ?4, created_at = ?5
                     WHERE idempotency.created_at < ?6",
                )?
                .execute(params![
                    request.key,
                    request.fingerprint,
                    request.answer,
                    request.call,
                    sql_int(request.at),
                    sql_int(*forget_before)
                ])?;
            verdict::remembered_once(&request.key, remembered as u64)?;
        }
        Op::ForgetRequests { before } => {
            tx.prepare_cached(
                "DELETE FROM actor_results WHERE request_id IN
                     (SELECT call_request FROM idempotency WHERE created_at < ?1)",
            )?
            .execute([sql_int(*before)])?;
            tx.prepare_cached("DELETE FROM idempotency WHERE created_at < ?1")?
                .execute([sql_int(*before)])?;
        }
        Op::DropActorResult { request_id } => {
            tx.prepare_cached("DELETE FROM actor_results WHERE request_id = ?1")?
                .execute([request_id])?;
        }
        Op::TakeLease {
            name,
            owner,
            now,
            until,
        } => {
            let token = lease::take_lease(name, owner, *now, lease_row(tx, name)?.as_ref())?;
            tx.prepare_cached(
                "INSERT INTO leases (name, owner, token, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET owner = ?2, token = ?3, expires_at = ?4",
            )?
            .execute(params![name, owner, token, until])?;
            out.committed.lease = Some(token);
        }
        Op::ExpectLease { name, token } => {
            lease::expect_lease(name, *token, lease_row(tx, name)?.as_ref())?;
        }
        Op::ReleaseLease { name, owner } => {
            // Expired rather than deleted: the token must keep growing.
            tx.prepare_cached("UPDATE leases SET expires_at = 0 WHERE name = ?1 AND owner = ?2")?
                .execute([name, owner])?;
        }
        Op::Purge { instance_id } => {
            verdict::purge(instance_id, instance_state(tx, instance_id)?)?;
            for owned in cleanup::PURGED {
                delete_owned(tx, *owned, instance_id, None)?;
            }
            tx.prepare_cached("DELETE FROM instances WHERE id = ?1")?
                .execute([instance_id])?;
        }
    }
    out.feed.applied(op);
    Ok(())
}

fn instance_state(tx: &Transaction<'_>, id: &str) -> Result<Option<InstanceState>, SqliteError> {
    Ok(tx
        .prepare_cached("SELECT id, status, execution, digest FROM instances WHERE id = ?1")?
        .query_row([id], read_instance_state)
        .optional()?)
}

/// How many events an execution's history holds.
fn history_len(tx: &Transaction<'_>, id: &str, execution: u32) -> Result<u64, SqliteError> {
    Ok(tx
        .prepare_cached("SELECT count(*) FROM history WHERE instance_id = ?1 AND execution = ?2")?
        .query_row(params![id, execution], |row| row.get(0))?)
}

fn lease_row(tx: &Transaction<'_>, name: &str) -> Result<Option<Lease>, SqliteError> {
    Ok(tx
        .prepare_cached("SELECT name, owner, token, expires_at FROM leases WHERE name = ?1")?
        .query_row([name], read_lease)
        .optional()?)
}

/// Deletes an instance's rows of `owned`: of one execution, or of all.
fn delete_owned(
    tx: &Transaction<'_>,
    owned: Owned,
    instance_id: &str,
    execution: Option<u32>,
) -> Result<(), SqliteError> {
    let table = owned.table();
    match execution {
        Some(execution) => tx
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE instance_id = ?1 AND execution = ?2"
            ))?
            .execute(params![instance_id, execution])?,
        None => tx
            .prepare_cached(&format!("DELETE FROM {table} WHERE instance_id = ?1"))?
            .execute([instance_id])?,
    };
    Ok(())
}

fn send(tx: &Transaction<'_>, message: &NewMessage, out: &mut Applied) -> Result<(), SqliteError> {
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
    out.feed.message(&message.instance_id, id);
    out.committed.messages.push(Message {
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

/// Removes an activity task; returns the rows removed (0 if already gone).
fn remove_activity(tx: &Transaction<'_>, task_id: i64) -> Result<u64, SqliteError> {
    let removed = tx
        .prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
        .execute([task_id])?;
    Ok(removed as u64)
}

fn append_history(
    tx: &Transaction<'_>,
    instance_id: &str,
    execution: u32,
    events: &[HistoryEvent],
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

fn insert_instance(tx: &Transaction<'_>, r: &InstanceRecord) -> Result<(), SqliteError> {
    let parent = r.parent.as_ref();
    let fork = r.forked_from.as_ref();
    tx.prepare_cached(
        "INSERT INTO instances (id, name, digest, execution, input, status, output, custom_status,
             parent_id, parent_execution, parent_task, created_at, updated_at, pinned,
             forked_from_id, forked_from_execution, forked_from_event)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14)",
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
        r.pinned,
        fork.map(|f| &f.instance_id),
        fork.map(|f| f.execution),
        fork.map(|f| f.event),
    ])?;
    Ok(())
}
