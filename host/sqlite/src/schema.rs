//! Connection settings and numbered migrations.

use rusqlite::Connection;

/// Pragmas for every connection. WAL lets readers run beside the one writer;
/// `synchronous` is FULL by default so a commit survives power loss, and
/// `busy_timeout` lets other processes (a CLI beside a worker) wait their turn.
pub(crate) fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", durability.pragma())?;
    conn.pragma_update(None, "busy_timeout", 10_000)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync at every commit: a committed episode survives power loss. The default.
    #[default]
    Full,
    /// fsync at checkpoints only: survives a process crash, not power loss.
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// Migrations, applied in order; `PRAGMA user_version` counts those applied.
/// Never edit one that has shipped: append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the core engine.
    "
    CREATE TABLE components (
        digest        TEXT PRIMARY KEY,
        bytes         BLOB NOT NULL,
        registered_at INTEGER NOT NULL
    );
    CREATE TABLE registrations (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        role   TEXT NOT NULL,
        name   TEXT NOT NULL,
        digest TEXT NOT NULL REFERENCES components(digest)
    );
    CREATE TABLE instances (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL,
        digest           TEXT NOT NULL,
        execution        INTEGER NOT NULL,
        input            TEXT NOT NULL,
        status           TEXT NOT NULL,
        output           TEXT,
        custom_status    TEXT,
        parent_id        TEXT,
        parent_execution INTEGER,
        parent_task      INTEGER,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
    );
    CREATE INDEX instances_by_status ON instances(status, created_at);
    CREATE INDEX instances_by_update ON instances(updated_at);
    -- Keyed for sequential reads of one execution during replay.
    CREATE TABLE history (
        instance_id TEXT NOT NULL,
        execution   INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        event       TEXT NOT NULL,
        PRIMARY KEY (instance_id, execution, seq)
    ) WITHOUT ROWID;
    -- Task results and external events. Events have no execution: they belong
    -- to the instance and survive continue-as-new.
    CREATE TABLE inbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_id TEXT NOT NULL,
        execution   INTEGER,
        task        INTEGER,
        kind        TEXT NOT NULL,
        name        TEXT,
        payload     TEXT NOT NULL
    );
    CREATE INDEX inbox_by_instance ON inbox(instance_id, id);
    CREATE TABLE activity_tasks (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        instance_id TEXT NOT NULL,
        execution   INTEGER NOT NULL,
        task        INTEGER NOT NULL,
        name        TEXT NOT NULL,
        digest      TEXT NOT NULL,
        input       TEXT NOT NULL,
        options     TEXT NOT NULL,
        attempt     INTEGER NOT NULL,
        visible_at  INTEGER NOT NULL,
        UNIQUE (instance_id, execution, task)
    );
    CREATE INDEX activity_tasks_due ON activity_tasks(visible_at);
    CREATE TABLE timers (
        instance_id TEXT NOT NULL,
        execution   INTEGER NOT NULL,
        task        INTEGER NOT NULL,
        fire_at     INTEGER NOT NULL,
        PRIMARY KEY (instance_id, execution, task)
    ) WITHOUT ROWID;
    CREATE INDEX timers_due ON timers(fire_at);
    ",
    // 2: actors.
    "
    CREATE TABLE actors (
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        state      TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    CREATE TABLE actor_mailbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        kind       TEXT NOT NULL,
        key        TEXT NOT NULL,
        operation  TEXT NOT NULL,
        input      TEXT NOT NULL,
        reply      TEXT NOT NULL,
        visible_at INTEGER NOT NULL
    );
    CREATE INDEX actor_mailbox_due ON actor_mailbox(visible_at, id);
    CREATE TABLE actor_atomic (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        operations TEXT NOT NULL,
        reply      TEXT NOT NULL
    );
    CREATE TABLE actor_results (
        request_id TEXT PRIMARY KEY,
        outcome    TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // 3: listing instances of one status, newest first, straight from the
    // index (no scan, no sort). From here on `history.event` holds the
    // binary encoding of `history::codec` as a BLOB; rows written as JSON
    // text before stay readable.
    "
    DROP INDEX instances_by_status;
    CREATE INDEX instances_by_status ON instances(status, created_at DESC, id);
    ",
    // 4: compiled components, so a restart never compiles one again. Keyed
    // by the engine's compatibility key as well: another wasmtime version or
    // configuration compiles afresh.
    "
    CREATE TABLE compiled (
        digest TEXT NOT NULL REFERENCES components(digest),
        engine TEXT NOT NULL,
        bytes  BLOB NOT NULL,
        PRIMARY KEY (digest, engine)
    );
    ",
    // 5: leases: which process runs the worker of this database. The token
    // grows whenever a lease changes hands (a fencing token).
    "
    CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        token      INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    ",
    // 6: the change feed, replacing scans of instances by update time (and
    // their index). `origin` is the store handle that committed the change;
    // `feed_horizon` says up to where old rows were dropped.
    "
    CREATE TABLE feed (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        origin  INTEGER NOT NULL,
        kind    TEXT NOT NULL,
        subject TEXT,
        message INTEGER
    );
    CREATE TABLE feed_horizon (pruned_through INTEGER NOT NULL);
    INSERT INTO feed_horizon VALUES (0);
    DROP INDEX instances_by_update;
    ",
    // 7: listing instances by orchestration name or over all of them,
    // newest first and page by page, straight from an index; counting one
    // actor's mailbox.
    "
    CREATE INDEX instances_by_name ON instances(name, created_at DESC, id);
    CREATE INDEX instances_by_creation ON instances(created_at DESC, id);
    CREATE INDEX actor_mailbox_by_actor ON actor_mailbox(kind, key, id);
    ",
    // 8: what a blocked instance awaits (`Waiting` as JSON) and why an
    // activity's previous attempt failed (`Failure` as JSON).
    "
    ALTER TABLE instances ADD COLUMN waiting TEXT;
    ALTER TABLE activity_tasks ADD COLUMN last_failure TEXT;
    ",
    // 9: whether an instance stays on its code when it continues as new.
    "
    ALTER TABLE instances ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
    ",
    // 10: where a fork came from.
    "
    ALTER TABLE instances ADD COLUMN forked_from_id TEXT;
    ALTER TABLE instances ADD COLUMN forked_from_execution INTEGER;
    ALTER TABLE instances ADD COLUMN forked_from_event INTEGER;
    ",
    // 11: one arrival order per actor. An atomic request takes a turn in
    // each of its actors' mailboxes (`atomic`), given here to the requests
    // already queued; `actor_queues` counts each actor's rows (its bound)
    // and says when the first is due (the dispatcher's scan).
    "
    ALTER TABLE actor_mailbox ADD COLUMN atomic INTEGER;
    INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at, atomic)
        SELECT kind, key, operation, input, reply, 0, request FROM (
            SELECT request.id AS request, request.reply AS reply, op.key AS n,
                   json_extract(op.value, '$.target.kind') AS kind,
                   json_extract(op.value, '$.target.key') AS key,
                   json_extract(op.value, '$.operation') AS operation,
                   json_extract(op.value, '$.input') AS input,
                   row_number() OVER (
                       PARTITION BY request.id, json_extract(op.value, '$.target.kind'),
                                    json_extract(op.value, '$.target.key')
                       ORDER BY op.key) AS nth
            FROM actor_atomic AS request, json_each(request.operations) AS op)
        WHERE nth = 1 ORDER BY request, n;
    DROP INDEX actor_mailbox_due;
    CREATE INDEX actor_mailbox_due_by_actor ON actor_mailbox(kind, key, visible_at);
    CREATE INDEX actor_mailbox_turns ON actor_mailbox(atomic) WHERE atomic IS NOT NULL;
    CREATE TABLE actor_queues (
        kind     TEXT NOT NULL,
        key      TEXT NOT NULL,
        depth    INTEGER NOT NULL,
        next_due INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX actor_queues_due ON actor_queues(next_due);
    INSERT INTO actor_queues (kind, key, depth, next_due)
        SELECT kind, key, count(*), min(visible_at) FROM actor_mailbox GROUP BY kind, key;
    ",
    // 12: requests made with an idempotency key, and what they answered.
    "
    CREATE TABLE idempotency (
        key          TEXT PRIMARY KEY,
        fingerprint  TEXT NOT NULL,
        answer       TEXT NOT NULL,
        call_request TEXT,
        created_at   INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_by_age ON idempotency(created_at);
    ",
    // 13: the slots attempts of limited activities run in: running until
    // released or run out, their starts kept while a rate may count them.
    "
    CREATE TABLE activity_slots (
        task_id       INTEGER NOT NULL,
        attempt       INTEGER NOT NULL,
        name          TEXT NOT NULL,
        key           TEXT,
        started_at    INTEGER NOT NULL,
        running_until INTEGER NOT NULL,
        PRIMARY KEY (task_id, attempt)
    ) WITHOUT ROWID;
    CREATE INDEX activity_slots_by_name ON activity_slots(name, running_until);
    ",
    // 14: an actor's first due time without a second index over its whole
    // mailbox: most operations are due at once (`visible_at` 0); only the
    // delayed ones are kept in order of when they fall due. (PostgreSQL
    // keeps the full index: its hosts write side by side, and there one
    // statement reads the first due time in one snapshot.)
    "
    DROP INDEX actor_mailbox_due_by_actor;
    CREATE INDEX actor_mailbox_delayed ON actor_mailbox(kind, key, visible_at)
        WHERE visible_at > 0;
    ",
];

/// Brings the database up to the newest migration, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_count() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: usize = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        for table in [
            "components",
            "registrations",
            "instances",
            "history",
            "inbox",
            "activity_tasks",
            "timers",
        ] {
            let found: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(found, 1, "table {table} missing");
        }
    }

    /// Atomic requests queued before migration 11 get their turns, after
    /// the operations already queued, and every actor with rows its queue.
    #[test]
    fn queued_atomic_requests_get_their_turns_when_migrated() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (index, sql) in MIGRATIONS[..10].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", index + 1).unwrap();
        }
        conn.execute_batch(
            r#"
            INSERT INTO actor_mailbox (kind, key, operation, input, reply, visible_at)
                VALUES ('account', 'a', 'deposit', '5', '"Nobody"', 0),
                       ('account', 'c', 'remind', '0', '"Nobody"', 9000);
            INSERT INTO actor_atomic (operations, reply) VALUES (
                '[{"target":{"kind":"account","key":"b"},"operation":"withdraw","input":"1"},
                  {"target":{"kind":"account","key":"a"},"operation":"deposit","input":"1"},
                  {"target":{"kind":"account","key":"b"},"operation":"fee","input":"2"}]',
                '"Nobody"');
            "#,
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(String, String, Option<i64>)> = conn
            .prepare("SELECT key, operation, atomic FROM actor_mailbox ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let turn = |key: &str, operation: &str| (key.to_owned(), operation.to_owned(), Some(1));
        assert_eq!(
            rows,
            [
                ("a".to_owned(), "deposit".to_owned(), None),
                ("c".to_owned(), "remind".to_owned(), None),
                turn("b", "withdraw"),
                turn("a", "deposit"),
            ]
        );
        let queues: Vec<(String, i64, i64)> = conn
            .prepare("SELECT key, depth, next_due FROM actor_queues ORDER BY key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            queues,
            [
                ("a".into(), 2, 0),
                ("b".into(), 1, 0),
                ("c".into(), 1, 9000)
            ]
        );
    }
}
