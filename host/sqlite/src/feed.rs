//! The change feed in SQLite: a table the writer appends to in the same
//! transaction as the changes it names. One writer per database file at a
//! time (SQLite's write lock) means `seq` grows in commit order, which is the
//! order the feed promises.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::row::{Fields, SqliteError};
use reprise_core::store::{Change, Changes, FeedPosition, Status};

/// Rows kept: a reader further behind than this gets a gap and rescans.
pub(crate) const KEEP: u64 = 100_000;

/// What one batch appends to the feed. Work notices (activities, timers,
/// actors) are written once per batch however many the batch queued.
#[derive(Debug)]
pub(crate) struct FeedWriter {
    origin: i64,
    noticed: [bool; 4],
}

/// A kind of queued work a batch can make.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work {
    Registrations,
    Activities,
    Timers,
    Actors,
}

impl Work {
    fn kind(self) -> &'static str {
        match self {
            Work::Registrations => "registrations",
            Work::Activities => "activities",
            Work::Timers => "timers",
            Work::Actors => "actors",
        }
    }
}

const APPEND: &str = "INSERT INTO feed (origin, kind, subject, message) VALUES (?1, ?2, ?3, ?4)";

impl FeedWriter {
    /// A writer for a batch committed through the handle `origin`.
    pub(crate) fn new(origin: i64) -> Self {
        Self {
            origin,
            noticed: [false; 4],
        }
    }

    /// An instance was created, or its status or execution changed.
    pub(crate) fn instance(&mut self, tx: &Transaction<'_>, id: &str) -> Result<(), SqliteError> {
        self.append(tx, "instance", Some(id), None)
    }

    /// A message arrived in an inbox.
    pub(crate) fn message(
        &mut self,
        tx: &Transaction<'_>,
        instance_id: &str,
        message_id: i64,
    ) -> Result<(), SqliteError> {
        self.append(tx, "message", Some(instance_id), Some(message_id))
    }

    /// A client's actor call has its outcome.
    pub(crate) fn actor_result(
        &mut self,
        tx: &Transaction<'_>,
        request_id: &str,
    ) -> Result<(), SqliteError> {
        self.append(tx, "actor_result", Some(request_id), None)
    }

    /// Work was queued.
    pub(crate) fn work(&mut self, tx: &Transaction<'_>, work: Work) -> Result<(), SqliteError> {
        if std::mem::replace(&mut self.noticed[work as usize], true) {
            return Ok(());
        }
        self.append(tx, work.kind(), None, None)
    }

    fn append(
        &mut self,
        tx: &Transaction<'_>,
        kind: &str,
        subject: Option<&str>,
        message: Option<i64>,
    ) -> Result<(), SqliteError> {
        tx.prepare_cached(APPEND)?
            .execute(params![self.origin, kind, subject, message])?;
        Ok(())
    }
}

/// Drops all but the newest `keep` rows, and remembers up to where.
pub(crate) fn prune(tx: &Transaction<'_>, keep: u64) -> rusqlite::Result<()> {
    let head = head(tx)?;
    if head.0 <= keep {
        return Ok(());
    }
    let through = head.0 - keep;
    tx.prepare_cached("DELETE FROM feed WHERE seq <= ?1")?
        .execute([through])?;
    tx.prepare_cached("UPDATE feed_horizon SET pruned_through = ?1 WHERE pruned_through < ?1")?
        .execute([through])?;
    Ok(())
}

/// The newest position ever written (rows may have been pruned since).
pub(crate) fn head(conn: &Connection) -> rusqlite::Result<FeedPosition> {
    let seq: Option<u64> = conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'feed'")?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(FeedPosition(seq.unwrap_or(0)))
}

const READ: &str = "SELECT f.seq, f.kind, f.subject, i.status,
        m.id, m.instance_id, m.execution, m.task, m.kind, m.name, m.payload
    FROM feed f
    LEFT JOIN instances i ON f.kind = 'instance' AND i.id = f.subject
    LEFT JOIN inbox m ON f.kind = 'message' AND m.id = f.message
    WHERE f.seq > ?1 AND f.seq <= ?2 AND f.origin != ?3
    ORDER BY f.seq LIMIT ?4";

/// Up to `limit` changes after `after` that another handle than `origin`
/// committed.
pub(crate) fn read(
    conn: &Connection,
    origin: i64,
    after: FeedPosition,
    limit: usize,
) -> rusqlite::Result<Changes> {
    // One snapshot, so no pruning can fall between the horizon check and
    // the rows. The head first: every row up to it is committed, so
    // reading up to it and going on from it later skips nothing.
    let conn = conn.unchecked_transaction()?;
    let head = head(&conn)?;
    let pruned_through: u64 =
        conn.query_row("SELECT pruned_through FROM feed_horizon", [], |row| {
            row.get(0)
        })?;
    if after.0 < pruned_through {
        return Ok(Changes {
            changes: Vec::new(),
            next: head,
            gap: true,
        });
    }
    let mut stmt = conn.prepare_cached(READ)?;
    let mut rows = stmt.query(params![after.0, head.0, origin, limit as i64])?;
    let mut changes = Vec::new();
    let (mut last, mut read) = (after, 0);
    while let Some(row) = rows.next()? {
        read += 1;
        let f = Fields::new(row, "feed", &["seq"]);
        last = FeedPosition(f.get(0)?);
        let kind: String = f.get(1)?;
        let change = match kind.as_str() {
            "instance" => Change::Instance {
                id: f.get(2)?,
                status: f.parse_nullable(3, Status::parse)?,
            },
            "message" => match f.get::<Option<i64>>(4)? {
                Some(_) => Change::Message(crate::message_at(&f, 4)?),
                None => continue, // consumed before it was read
            },
            "registrations" => Change::Registrations,
            "activities" => Change::Activities,
            "timers" => Change::Timers,
            "actors" => Change::Actors,
            "actor_result" => Change::ActorResult {
                request_id: f.get(2)?,
            },
            other => return Err(f.corrupt(1, format!("unknown change kind {other:?}"))),
        };
        changes.push(change);
    }
    let next = if read == limit { last } else { head };
    Ok(Changes {
        changes,
        next,
        gap: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_behind_the_pruned_rows_is_told_of_the_gap() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let mut writer = FeedWriter::new(1);
        for i in 0..10 {
            writer.actor_result(&tx, &format!("r{i}")).unwrap();
        }
        prune(&tx, 3).unwrap();
        tx.commit().unwrap();

        let behind = read(&conn, 2, FeedPosition(5), 100).unwrap();
        assert!(behind.gap);
        assert_eq!((behind.next, behind.changes.len()), (FeedPosition(10), 0));
        let kept = read(&conn, 2, FeedPosition(7), 100).unwrap();
        assert!(!kept.gap);
        let ids: Vec<Change> = (7..10)
            .map(|i| Change::ActorResult {
                request_id: format!("r{i}"),
            })
            .collect();
        assert_eq!(kept.changes, ids);
    }
}
