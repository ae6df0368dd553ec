//! Actors' mailboxes on SQLite: what the actor ops write and what the
//! dispatcher and the API read.
//!
//! A mailbox is the actor's rows of `actor_mailbox`, in `id` order: its
//! operations and its turns in atomic requests (`atomic` set). The one
//! writer numbers rows in commit order, and an atomic request's turns are
//! inserted together, so any two requests' turns come in the same order in
//! every mailbox they share. `actor_queues` holds one row per actor with
//! rows queued (`reprise_store_rules::mailbox`).

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::row::{Fields, SqliteError};
use reprise_core::store::{
    ActorId, ActorMessage, ActorOperation, AtomicRequest, DueActor, ReplyTo,
};
use reprise_store_rules::mailbox::{self, removed_per_actor};
use reprise_store_rules::verdict::{self, Handled};
use reprise_store_rules::{json, sql_int};

/// Puts one row at the end of an actor's mailbox, within its capacity.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    operation: &ActorOperation,
    reply: &str,
    visible_at: u64,
    atomic: Option<i64>,
    capacity: Option<u64>,
) -> Result<(), SqliteError> {
    let target = &operation.target;
    // The queue row grows only while below capacity; no row grown means a
    // new queue or a full one. Its first due time is written only when it
    // moves, which spares the index on it. (Not one upsert with RETURNING:
    // SQLite buffers RETURNING rows in a table made for each execution,
    // which costs more than the statement on this hot path.)
    mailbox::admit(target, 1, capacity)?;
    let queue = params![
        target.kind,
        target.key,
        sql_int(visible_at),
        capacity.map_or(i64::MAX, sql_int)
    ];
    let mut grown = tx
        .prepare_cached(
            "UPDATE actor_queues SET depth = depth + 1
             WHERE kind = ?1 AND key = ?2 AND depth < ?4 AND next_due <= ?3",
        )?
        .execute(queue)?;
    if grown == 0 {
        grown = tx
            .prepare_cached(
                "UPDATE actor_queues SET depth = depth + 1, next_due = ?3
                 WHERE kind = ?1 AND key = ?2 AND depth < ?4",
            )?
            .execute(queue)?;
    }
    if grown == 0 {
        let created = tx
            .prepare_cached(
                "INSERT INTO actor_queues (kind, key, depth, next_due) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![target.kind, target.key, sql_int(visible_at)])?;
        if created == 0 {
            // The queue is there, and full: refused as one past capacity.
            mailbox::admit(target, u64::MAX, capacity)?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at, atomic)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        target.kind,
        target.key,
        operation.operation,
        operation.input,
        reply,
        sql_int(visible_at),
        atomic
    ])?;
    Ok(())
}

/// Queues an atomic request and its turn in each of its actors' mailboxes.
pub(crate) fn enqueue_atomic(
    tx: &Transaction<'_>,
    operations: &[ActorOperation],
    reply: &ReplyTo,
    capacity: Option<u64>,
) -> Result<(), SqliteError> {
    let reply = json(reply)?;
    tx.prepare_cached("INSERT INTO actor_atomic (operations, reply) VALUES (?1, ?2)")?
        .execute(params![json(operations)?, reply])?;
    let request = tx.last_insert_rowid();
    for turn in mailbox::turns(operations) {
        enqueue(tx, turn, &reply, 0, Some(request), capacity)?;
    }
    Ok(())
}

/// Removes handled operations (or an atomic request and its turns), once.
pub(crate) fn dequeue(
    tx: &Transaction<'_>,
    dequeued: &[i64],
    atomic: Option<i64>,
) -> Result<(), SqliteError> {
    let mut removed = Vec::new();
    // A lookup and a delete rather than DELETE … RETURNING (see `enqueue`).
    let mut find =
        tx.prepare_cached("SELECT kind, key FROM actor_mailbox WHERE id = ?1 AND atomic IS NULL")?;
    let mut delete =
        tx.prepare_cached("DELETE FROM actor_mailbox WHERE id = ?1 AND atomic IS NULL")?;
    for id in dequeued {
        let actor = find.query_row([id], actor_id).optional()?;
        verdict::handled_once(Handled::Mailbox, *id, actor.is_some() as u64)?;
        delete.execute([id])?;
        removed.extend(actor);
    }
    if let Some(id) = atomic {
        let gone = tx
            .prepare_cached("DELETE FROM actor_atomic WHERE id = ?1")?
            .execute([id])?;
        verdict::handled_once(Handled::Atomic, id, gone as u64)?;
        let mut turns =
            tx.prepare_cached("SELECT kind, key FROM actor_mailbox WHERE atomic = ?1")?;
        for actor in turns.query_map([id], actor_id)? {
            removed.push(actor?);
        }
        tx.prepare_cached("DELETE FROM actor_mailbox WHERE atomic = ?1")?
            .execute([id])?;
    }
    for (actor, count) in removed_per_actor(removed) {
        let key = params![actor.kind, actor.key, count as i64];
        // An emptied mailbox loses its row, a mailbox with more has its
        // depth and first due time updated.
        let emptied = tx
            .prepare_cached("DELETE FROM actor_queues WHERE kind = ?1 AND key = ?2 AND depth = ?3")?
            .execute(key)?;
        if emptied == 0 {
            // Most often an operation due at once is left, and the first
            // due time stays 0: then only the depth is written. (The probe
            // reads past the delayed operations ahead of the first one due
            // at once; delayed ones are few.) Otherwise the first due time
            // is the earliest delayed one's, from the index of those alone.
            let kept = tx
                .prepare_cached(
                    "UPDATE actor_queues SET depth = depth - ?3
                     WHERE kind = ?1 AND key = ?2 AND next_due = 0
                       AND EXISTS (SELECT 1 FROM actor_mailbox INDEXED BY actor_mailbox_by_actor
                                   WHERE kind = ?1 AND key = ?2 AND visible_at = 0)",
                )?
                .execute(key)?;
            if kept == 0 {
                tx.prepare_cached(
                    "UPDATE actor_queues SET depth = depth - ?3,
                         next_due = coalesce((SELECT min(visible_at) FROM actor_mailbox
                                              WHERE kind = ?1 AND key = ?2 AND visible_at > 0), 0)
                     WHERE kind = ?1 AND key = ?2",
                )?
                .execute(key)?;
            }
        }
    }
    Ok(())
}

fn actor_id(row: &Row<'_>) -> rusqlite::Result<ActorId> {
    Ok(ActorId {
        kind: row.get(0)?,
        key: row.get(1)?,
    })
}

/// Actors with an operation due by `now`, other than those in `except`,
/// those due longest first, each with its first `page` due operations: a
/// query per actor, all on this reader's connection in one go.
pub(crate) fn due_actors(
    conn: &Connection,
    now: u64,
    limit: usize,
    page: usize,
    except: &HashSet<ActorId>,
) -> rusqlite::Result<Vec<DueActor>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, key FROM actor_queues WHERE next_due <= ?1 ORDER BY next_due LIMIT ?2",
    )?;
    let listed = limit.saturating_add(except.len());
    let actors = stmt.query_map(params![sql_int(now), sql_int(listed as u64)], actor_id)?;
    let mut free = Vec::with_capacity(limit);
    for actor in actors {
        let actor = actor?;
        if !except.contains(&actor) {
            free.push(actor);
        }
        if free.len() == limit {
            break;
        }
    }
    free.into_iter()
        .map(|actor| {
            let page = mailbox_page(conn, &actor, Some(now), page)?;
            Ok(DueActor { actor, page })
        })
        .collect()
}

/// The first `limit` rows of an actor's mailbox, only those due by `now`
/// unless `now` is `None`.
pub(crate) fn mailbox_page(
    conn: &Connection,
    id: &ActorId,
    now: Option<u64>,
    limit: usize,
) -> rusqlite::Result<Vec<ActorMessage>> {
    let mut stmt = conn.prepare_cached(
        // In arrival order from the index on (kind, key, id), which holds
        // every row: a page must not sort a hot actor's whole mailbox.
        "SELECT id, operation, input, reply, atomic FROM actor_mailbox
         INDEXED BY actor_mailbox_by_actor
         WHERE kind = ?1 AND key = ?2 AND visible_at <= ?3 ORDER BY id LIMIT ?4",
    )?;
    let until = now.map_or(i64::MAX, sql_int);
    let rows = stmt.query_map(params![id.kind, id.key, until, limit as i64], |row| {
        let f = Fields::new(row, "actor_mailbox", &["id"]);
        Ok(ActorMessage {
            id: f.get("id")?,
            operation: ActorOperation {
                target: id.clone(),
                operation: f.get("operation")?,
                input: f.get("input")?,
            },
            reply: f.json("reply")?,
            atomic: f.get("atomic")?,
        })
    })?;
    rows.collect()
}

/// How many rows an actor's mailbox holds.
pub(crate) fn depth(conn: &Connection, id: &ActorId) -> rusqlite::Result<u64> {
    conn.prepare_cached("SELECT depth FROM actor_queues WHERE kind = ?1 AND key = ?2")?
        .query_row(params![id.kind, id.key], |row| row.get(0))
        .optional()
        .map(Option::unwrap_or_default)
}

fn read_atomic(row: &Row<'_>) -> rusqlite::Result<AtomicRequest> {
    let f = Fields::new(row, "actor_atomic", &["id"]);
    Ok(AtomicRequest {
        id: f.get("id")?,
        operations: f.json("operations")?,
        reply: f.json("reply")?,
    })
}

/// A queued atomic request.
pub(crate) fn atomic_request(
    conn: &Connection,
    id: i64,
) -> rusqlite::Result<Option<AtomicRequest>> {
    conn.prepare_cached("SELECT id, operations, reply FROM actor_atomic WHERE id = ?1")?
        .query_row([id], read_atomic)
        .optional()
}

/// The first `limit` queued atomic requests.
pub(crate) fn atomic_requests(
    conn: &Connection,
    limit: usize,
) -> rusqlite::Result<Vec<AtomicRequest>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, operations, reply FROM actor_atomic ORDER BY id LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], read_atomic)?;
    rows.collect()
}

/// Operations not yet handled: mailbox operations plus atomic requests.
pub(crate) fn backlog(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM actor_mailbox WHERE atomic IS NULL)
              + (SELECT count(*) FROM actor_atomic)",
        [],
        |row| row.get(0),
    )
}
