//! Numbered migrations, applied under an advisory lock so that hosts
//! starting together migrate once.

use tokio_postgres::Client;

use crate::PgError;

/// Migrations, applied in order; `reprise_schema.version` counts those
/// applied. Never edit one that has shipped: append a new one.
///
/// Numbers are `BIGINT` throughout (times in ms since the Unix epoch, ids,
/// executions, tasks): PostgreSQL has no unsigned types, and one width
/// keeps the Rust side to one conversion. Text that lists are ordered by
/// (instance ids, names, actor keys) compares as bytes (`COLLATE "C"`),
/// as in SQLite, whatever the database's locale.
const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite store has, in one step.
    "
    CREATE TABLE components (
        digest        TEXT PRIMARY KEY,
        bytes         BYTEA NOT NULL,
        registered_at BIGINT NOT NULL
    );
    CREATE TABLE registrations (
        seq    BIGSERIAL PRIMARY KEY,
        role   TEXT NOT NULL,
        name   TEXT NOT NULL,
        digest TEXT NOT NULL REFERENCES components(digest)
    );
    CREATE TABLE compiled (
        digest TEXT NOT NULL REFERENCES components(digest),
        engine TEXT NOT NULL,
        bytes  BYTEA NOT NULL,
        PRIMARY KEY (digest, engine)
    );
    CREATE TABLE instances (
        id               TEXT COLLATE \"C\" PRIMARY KEY,
        name             TEXT COLLATE \"C\" NOT NULL,
        digest           TEXT NOT NULL,
        execution        BIGINT NOT NULL,
        input            TEXT NOT NULL,
        status           TEXT NOT NULL,
        output           TEXT,
        custom_status    TEXT,
        parent_id        TEXT,
        parent_execution BIGINT,
        parent_task      BIGINT,
        created_at       BIGINT NOT NULL,
        updated_at       BIGINT NOT NULL,
        waiting          TEXT
    );
    CREATE INDEX instances_by_status ON instances(status, created_at DESC, id);
    CREATE INDEX instances_by_name ON instances(name, created_at DESC, id);
    CREATE INDEX instances_by_creation ON instances(created_at DESC, id);
    CREATE TABLE history (
        instance_id TEXT NOT NULL,
        execution   BIGINT NOT NULL,
        seq         BIGINT NOT NULL,
        at          BIGINT NOT NULL,
        event       BYTEA NOT NULL,
        PRIMARY KEY (instance_id, execution, seq)
    );
    CREATE TABLE inbox (
        id          BIGSERIAL PRIMARY KEY,
        instance_id TEXT NOT NULL,
        execution   BIGINT,
        task        BIGINT,
        kind        TEXT NOT NULL,
        name        TEXT,
        payload     TEXT NOT NULL
    );
    CREATE INDEX inbox_by_instance ON inbox(instance_id, id);
    CREATE TABLE activity_tasks (
        id           BIGSERIAL PRIMARY KEY,
        instance_id  TEXT NOT NULL,
        execution    BIGINT NOT NULL,
        task         BIGINT NOT NULL,
        name         TEXT NOT NULL,
        digest       TEXT NOT NULL,
        input        TEXT NOT NULL,
        options      TEXT NOT NULL,
        attempt      BIGINT NOT NULL,
        visible_at   BIGINT NOT NULL,
        last_failure TEXT,
        UNIQUE (instance_id, execution, task)
    );
    CREATE INDEX activity_tasks_due ON activity_tasks(visible_at, id);
    CREATE TABLE timers (
        instance_id TEXT NOT NULL,
        execution   BIGINT NOT NULL,
        task        BIGINT NOT NULL,
        fire_at     BIGINT NOT NULL,
        PRIMARY KEY (instance_id, execution, task)
    );
    CREATE INDEX timers_due ON timers(fire_at);
    CREATE TABLE actors (
        kind       TEXT COLLATE \"C\" NOT NULL,
        key        TEXT COLLATE \"C\" NOT NULL,
        state      TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE TABLE actor_mailbox (
        id         BIGSERIAL PRIMARY KEY,
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        operation  TEXT NOT NULL,
        input      TEXT NOT NULL,
        reply      TEXT NOT NULL,
        visible_at BIGINT NOT NULL
    );
    CREATE INDEX actor_mailbox_due ON actor_mailbox(visible_at, id);
    CREATE INDEX actor_mailbox_by_actor ON actor_mailbox(kind, key, id);
    CREATE TABLE actor_atomic (
        id         BIGSERIAL PRIMARY KEY,
        operations TEXT NOT NULL,
        reply      TEXT NOT NULL
    );
    CREATE TABLE actor_results (
        request_id TEXT PRIMARY KEY,
        outcome    TEXT NOT NULL
    );
    CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        token      BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    -- The change feed: `seq` is drawn while the feed lock is held, which
    -- commits release, so positions grow in commit order (see feed.rs).
    -- The sequence must keep CACHE 1 (the default): a session that
    -- preallocated numbers would draw them out of lock order.
    CREATE TABLE feed (
        seq     BIGINT PRIMARY KEY,
        origin  BIGINT NOT NULL,
        kind    TEXT NOT NULL,
        subject TEXT,
        message BIGINT
    );
    CREATE SEQUENCE feed_seq;
    CREATE TABLE feed_horizon (pruned_through BIGINT NOT NULL);
    INSERT INTO feed_horizon VALUES (0);
    ",
    // 2: whether an instance stays on its code when it continues as new.
    "
    ALTER TABLE instances ADD COLUMN pinned BOOLEAN NOT NULL DEFAULT FALSE;
    ",
    // 3: where a fork came from.
    "
    ALTER TABLE instances ADD COLUMN forked_from_id TEXT;
    ALTER TABLE instances ADD COLUMN forked_from_execution BIGINT;
    ALTER TABLE instances ADD COLUMN forked_from_event BIGINT;
    ",
    // 4: one arrival order per actor. An atomic request takes a turn in
    // each of its actors' mailboxes (`atomic`), given here to the requests
    // already queued; `actor_queues` counts each actor's rows (its bound)
    // and says when the first is due (the dispatcher's scan).
    "
    ALTER TABLE actor_mailbox ADD COLUMN atomic BIGINT;
    INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at, atomic)
        SELECT kind, key, operation, input, reply, 0, request FROM (
            SELECT DISTINCT ON (request.id, op.value->'target'->>'kind', op.value->'target'->>'key')
                   request.id AS request, request.reply AS reply, op.n AS n,
                   op.value->'target'->>'kind' AS kind, op.value->'target'->>'key' AS key,
                   op.value->>'operation' AS operation, op.value->>'input' AS input
            FROM actor_atomic AS request,
                 jsonb_array_elements(request.operations::jsonb) WITH ORDINALITY AS op(value, n)
            ORDER BY request.id, op.value->'target'->>'kind', op.value->'target'->>'key', op.n
        ) AS turns
        ORDER BY request, n;
    DROP INDEX actor_mailbox_due;
    CREATE INDEX actor_mailbox_due_by_actor ON actor_mailbox(kind, key, visible_at);
    CREATE INDEX actor_mailbox_turns ON actor_mailbox(atomic) WHERE atomic IS NOT NULL;
    CREATE TABLE actor_queues (
        kind     TEXT COLLATE \"C\" NOT NULL,
        key      TEXT COLLATE \"C\" NOT NULL,
        depth    BIGINT NOT NULL,
        next_due BIGINT NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE INDEX actor_queues_due ON actor_queues(next_due);
    INSERT INTO actor_queues (kind, key, depth, next_due)
        SELECT kind, key, count(*), min(visible_at) FROM actor_mailbox GROUP BY kind, key;
    ",
    // 5: requests made with an idempotency key, and what they answered.
    "
    CREATE TABLE idempotency (
        key          TEXT PRIMARY KEY,
        fingerprint  TEXT NOT NULL,
        answer       TEXT NOT NULL,
        call_request TEXT,
        created_at   BIGINT NOT NULL
    );
    CREATE INDEX idempotency_by_age ON idempotency(created_at);
    ",
    // 6: the slots attempts of limited activities run in: running until
    // released or run out, their starts kept while a rate may count them.
    "
    CREATE TABLE activity_slots (
        task_id       BIGINT NOT NULL,
        attempt       BIGINT NOT NULL,
        name          TEXT NOT NULL,
        key           TEXT,
        started_at    BIGINT NOT NULL,
        running_until BIGINT NOT NULL,
        PRIMARY KEY (task_id, attempt)
    );
    CREATE INDEX activity_slots_by_name ON activity_slots(name, running_until);
    ",
];

/// The advisory lock key under which migrations run (any fixed number
/// unlikely to be another application's).
const MIGRATION_LOCK: i64 = 0x5245_5052_4953_4501;

/// Brings the database up to the newest migration.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), PgError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS reprise_schema (version BIGINT NOT NULL)")
        .await?;
    let applied: Option<i64> = tx
        .query_opt("SELECT version FROM reprise_schema", &[])
        .await?
        .map(|row| row.get(0));
    if applied.is_none() {
        tx.execute("INSERT INTO reprise_schema VALUES (0)", &[])
            .await?;
    }
    let applied = applied.unwrap_or(0) as usize;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "UPDATE reprise_schema SET version = $1",
            &[&((index + 1) as i64)],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
