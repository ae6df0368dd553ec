//! Actors' mailboxes on PostgreSQL: what the actor ops write and what the
//! dispatcher and the API read.
//!
//! A mailbox is the actor's rows of `actor_mailbox` in `id` order: its
//! operations and its turns in atomic requests (`atomic` set). Ids are
//! drawn mid-transaction, so two writers inserting turns at once could
//! interleave them: A's mailbox would put request 1 first and B's request
//! 2, and each would wait for the other for ever. So a request's turns are
//! inserted last thing before its transaction commits, under the feed lock
//! (`feed::append`), which commits hold in turn: turns are numbered in
//! commit order, every request's together. `actor_queues` holds one row per
//! actor with rows queued (`reprise_store_rules::mailbox`); a sender locks
//! it by its upsert, so a bound holds however many hosts send.

use reprise_core::store::{
    ActorId, ActorMessage, ActorOperation, AtomicRequest, DueActor, ReplyTo,
};
use reprise_store_rules::json;
use reprise_store_rules::mailbox::{self, removed_per_actor};
use reprise_store_rules::verdict::{self, Handled};
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use crate::batch::{Ops, Turn, returned_id};
use crate::row::{self, Fields, PgError, int};

impl Ops<'_, '_> {
    /// Counts a row into an actor's queue, within its capacity.
    async fn count_in(
        &mut self,
        target: &ActorId,
        visible_at: u64,
        capacity: Option<u64>,
    ) -> Result<(), PgError> {
        let row = self
            .query_opt(
                "INSERT INTO actor_queues (kind, key, depth, next_due) VALUES ($1, $2, 1, $3)
                 ON CONFLICT (kind, key) DO UPDATE
                 SET depth = actor_queues.depth + 1,
                     next_due = least(actor_queues.next_due, EXCLUDED.next_due)
                 RETURNING depth",
                &[&target.kind, &target.key, &int(visible_at)],
            )
            .await?;
        let depth = returned_id(row)?;
        Ok(mailbox::admit(target, depth.max(0) as u64, capacity)?)
    }

    pub(crate) async fn enqueue(
        &mut self,
        operation: &ActorOperation,
        reply: &ReplyTo,
        visible_at: u64,
        capacity: Option<u64>,
    ) -> Result<(), PgError> {
        let target = &operation.target;
        self.count_in(target, visible_at, capacity).await?;
        self.execute(
            "INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &target.kind,
                &target.key,
                &operation.operation,
                &operation.input,
                &json(reply)?,
                &int(visible_at),
            ],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn enqueue_atomic(
        &mut self,
        operations: &[ActorOperation],
        reply: &ReplyTo,
        capacity: Option<u64>,
    ) -> Result<(), PgError> {
        let reply = json(reply)?;
        let row = self
            .query_opt(
                "INSERT INTO actor_atomic (operations, reply) VALUES ($1, $2) RETURNING id",
                &[&json(operations)?, &reply],
            )
            .await?;
        let request = returned_id(row)?;
        for turn in mailbox::turns(operations) {
            self.count_in(&turn.target, 0, capacity).await?;
            self.out.turns.push(Turn {
                request,
                operation: turn.clone(),
                reply: reply.clone(),
            });
        }
        Ok(())
    }

    /// Removes handled operations (or an atomic request and its turns), once.
    pub(crate) async fn dequeue(
        &mut self,
        dequeued: &[i64],
        atomic: Option<i64>,
    ) -> Result<(), PgError> {
        let mut removed = Vec::new();
        for id in dequeued {
            let row = self
                .query_opt(
                    "DELETE FROM actor_mailbox WHERE id = $1 AND atomic IS NULL
                     RETURNING kind, key",
                    &[id],
                )
                .await?;
            verdict::handled_once(Handled::Mailbox, *id, row.is_some() as u64)?;
            removed.extend(row.map(|r| actor_id(&r)));
        }
        if let Some(id) = atomic {
            let gone = self
                .execute("DELETE FROM actor_atomic WHERE id = $1", &[&id])
                .await?;
            verdict::handled_once(Handled::Atomic, id, gone)?;
            let rows = self
                .query(
                    "DELETE FROM actor_mailbox WHERE atomic = $1 RETURNING kind, key",
                    &[&id],
                )
                .await?;
            removed.extend(rows.iter().map(actor_id));
        }
        for (actor, count) in removed_per_actor(removed) {
            let key: [&(dyn ToSql + Sync); 3] = [&actor.kind, &actor.key, &int(count)];
            // An emptied mailbox loses its row. The delete waits for a
            // sender holding the row and judges the row as it left it, so
            // if the update runs instead, its snapshot (taken after) holds
            // every row such a sender added.
            let emptied = self
                .execute(
                    "DELETE FROM actor_queues WHERE kind = $1 AND key = $2 AND depth = $3",
                    &key,
                )
                .await?;
            if emptied == 0 {
                self.execute(
                    "UPDATE actor_queues SET depth = depth - $3,
                         next_due = coalesce((SELECT min(visible_at) FROM actor_mailbox
                                              WHERE kind = $1 AND key = $2), 0)
                     WHERE kind = $1 AND key = $2",
                    &key,
                )
                .await?;
            }
        }
        Ok(())
    }
}

fn actor_id(row: &tokio_postgres::Row) -> ActorId {
    ActorId {
        kind: row.get(0),
        key: row.get(1),
    }
}

/// Inserts the turns of the transaction's atomic requests. Called last,
/// with the feed lock held (see the module's doc).
pub(crate) async fn insert_turns(tx: &impl GenericClient, turns: &[Turn]) -> Result<(), PgError> {
    if turns.is_empty() {
        return Ok(());
    }
    // Held already when the group made feed entries (it did, if it queued
    // an atomic request); taken again, it is simply held.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&crate::feed::FEED_LOCK],
    )
    .await?;
    let column = |f: fn(&Turn) -> &str| turns.iter().map(f).collect::<Vec<&str>>();
    let requests: Vec<i64> = turns.iter().map(|t| t.request).collect();
    tx.execute(
        "INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at, atomic)
         SELECT kind, key, operation, input, reply, 0, request
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
              WITH ORDINALITY AS t(kind, key, operation, input, reply, request, n)
         ORDER BY n",
        &[
            &column(|t| &t.operation.target.kind),
            &column(|t| &t.operation.target.key),
            &column(|t| &t.operation.operation),
            &column(|t| &t.operation.input),
            &column(|t| &t.reply),
            &requests,
        ],
    )
    .await?;
    Ok(())
}

/// Actors with an operation due by `now`, other than those in `except`,
/// those due longest first.
pub(crate) async fn due_actors(
    client: &impl GenericClient,
    now: u64,
    limit: i64,
    page: i64,
    except: &[ActorId],
) -> Result<Vec<DueActor>, PgError> {
    let kinds: Vec<&str> = except.iter().map(|a| a.kind.as_str()).collect();
    let keys: Vec<&str> = except.iter().map(|a| a.key.as_str()).collect();
    // One statement: each due actor's first page, in the order the actors
    // are due.
    let rows = client
        .query(
            "SELECT m.id, m.kind, m.key, m.operation, m.input, m.reply, m.atomic
             FROM (SELECT kind, key, next_due FROM actor_queues AS a WHERE next_due <= $1
                   AND NOT EXISTS (SELECT 1 FROM unnest($4::text[], $5::text[]) AS x(kind, key)
                                   WHERE x.kind = a.kind AND x.key = a.key)
                   ORDER BY next_due LIMIT $2) AS q
             CROSS JOIN LATERAL (
                 SELECT id, kind, key, operation, input, reply, atomic FROM actor_mailbox
                 WHERE kind = q.kind AND key = q.key AND visible_at <= $1
                 ORDER BY id LIMIT $3) AS m
             ORDER BY q.next_due, q.kind, q.key, m.id",
            &[&int(now), &limit, &page, &kinds, &keys],
        )
        .await?;
    let mut due: Vec<DueActor> = Vec::new();
    for message in row::all(&rows, row::actor_message)? {
        match due.last_mut() {
            Some(last) if last.actor == message.operation.target => last.page.push(message),
            _ => due.push(DueActor {
                actor: message.operation.target.clone(),
                page: vec![message],
            }),
        }
    }
    Ok(due)
}

/// The first `limit` rows of an actor's mailbox, only those due by `now`
/// unless `now` is `None`.
pub(crate) async fn mailbox_page(
    client: &impl GenericClient,
    id: &ActorId,
    now: Option<u64>,
    limit: i64,
) -> Result<Vec<ActorMessage>, PgError> {
    let until = now.map_or(i64::MAX, int);
    let rows = client
        .query(
            "SELECT id, kind, key, operation, input, reply, atomic FROM actor_mailbox
             WHERE kind = $1 AND key = $2 AND visible_at <= $3 ORDER BY id LIMIT $4",
            &[&id.kind, &id.key, &until, &limit],
        )
        .await?;
    row::all(&rows, row::actor_message)
}

/// How many rows an actor's mailbox holds.
pub(crate) async fn depth(client: &impl GenericClient, id: &ActorId) -> Result<u64, PgError> {
    let row = client
        .query_opt(
            "SELECT depth FROM actor_queues WHERE kind = $1 AND key = $2",
            &[&id.kind, &id.key],
        )
        .await?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0).max(0) as u64))
}

fn atomic(r: &tokio_postgres::Row) -> Result<AtomicRequest, PgError> {
    let f = Fields::new(r, "actor_atomic");
    Ok(AtomicRequest {
        id: f.get("id")?,
        operations: f.json("operations")?,
        reply: f.json("reply")?,
    })
}

/// A queued atomic request.
pub(crate) async fn atomic_request(
    client: &impl GenericClient,
    id: i64,
) -> Result<Option<AtomicRequest>, PgError> {
    let row = client
        .query_opt(
            "SELECT id, operations, reply FROM actor_atomic WHERE id = $1",
            &[&id],
        )
        .await?;
    row.as_ref().map(atomic).transpose()
}

/// The first `limit` queued atomic requests.
pub(crate) async fn atomic_requests(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<AtomicRequest>, PgError> {
    let rows = client
        .query(
            "SELECT id, operations, reply FROM actor_atomic ORDER BY id LIMIT $1",
            &[&limit],
        )
        .await?;
    row::all(&rows, atomic)
}

/// Operations not yet handled: mailbox operations plus atomic requests.
pub(crate) async fn backlog(client: &impl GenericClient) -> Result<u64, PgError> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM actor_mailbox WHERE atomic IS NULL)
                  + (SELECT count(*) FROM actor_atomic)",
            &[],
        )
        .await?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}
