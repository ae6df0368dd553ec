//! The change feed in SQLite: a table the writer appends to in the same
//! transaction as the changes it names. One writer per database file at a
//! time (SQLite's write lock) means `seq` grows in commit order, which is the
//! order the feed promises. Which op makes which entry, and which change
//! an entry reads back as, are the rules both backends share
//! (`reprise_store_rules::feed`); this is how SQLite stores and reads them.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::row::{Fields, message_at};
use reprise_core::store::{Changes, FeedPosition, Message, Status};
use reprise_store_rules::feed::{self, FeedEntry, FeedRow};

/// Appends a group's entries, in order, as the handle `origin`'s: the
/// transaction holds SQLite's write lock, so positions grow in commit order.
pub(crate) fn append(
    tx: &Transaction<'_>,
    origin: i64,
    entries: &[FeedEntry],
) -> rusqlite::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO feed (origin, kind, subject, message) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for entry in entries {
        insert.execute(params![
            origin,
            entry.kind.as_str(),
            entry.subject,
            entry.message
        ])?;
    }
    Ok(())
}

/// Drops all but the newest `keep` rows, and remembers up to where.
pub(crate) fn prune(tx: &Transaction<'_>, keep: u64) -> rusqlite::Result<()> {
    let Some(through) = feed::prune_through(head(tx)?.0, keep) else {
        return Ok(());
    };
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
        changes.extend(feed::change(&Stored(&f))?);
    }
    let next = if read == limit { last } else { head };
    Ok(Changes {
        changes,
        next,
        gap: false,
    })
}

/// A row of [`READ`], read by index: columns 1 to 3 are the feed's kind
/// and subject and the instance's status, the message's start at 4.
struct Stored<'a, 'b, 'r>(&'a Fields<'b, 'r>);

impl FeedRow for Stored<'_, '_, '_> {
    type Error = rusqlite::Error;

    fn kind(&self) -> rusqlite::Result<String> {
        self.0.get(1)
    }

    fn subject(&self) -> rusqlite::Result<String> {
        self.0.get(2)
    }

    fn status(&self) -> rusqlite::Result<Option<Status>> {
        self.0.parse_nullable(3, Status::parse)
    }

    fn message(&self) -> rusqlite::Result<Option<Message>> {
        match self.0.get::<Option<i64>>(4)? {
            Some(_) => Ok(Some(message_at(self.0, 4)?)),
            None => Ok(None),
        }
    }

    fn unknown_kind(&self, kind: &str) -> rusqlite::Error {
        self.0.corrupt(1, format!("unknown change kind {kind:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_behind_the_pruned_rows_is_told_of_the_gap() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut conn).unwrap();
        let tx = conn.transaction().unwrap();
        let mut entries = reprise_store_rules::feed::FeedEntries::default();
        for i in 0..10 {
            entries.applied(&reprise_core::store::Op::PutActorResult {
                request_id: format!("r{i}"),
                outcome: "{}".into(),
            });
        }
        append(&tx, 1, entries.entries()).unwrap();
        prune(&tx, 3).unwrap();
        tx.commit().unwrap();

        let behind = read(&conn, 2, FeedPosition(5), 100).unwrap();
        assert!(behind.gap);
        assert_eq!((behind.next, behind.changes.len()), (FeedPosition(10), 0));
        let kept = read(&conn, 2, FeedPosition(7), 100).unwrap();
        assert!(!kept.gap);
        let ids: Vec<_> = (7..10)
            .map(|i| reprise_core::store::Change::ActorResult {
                request_id: format!("r{i}"),
            })
            .collect();
        assert_eq!(kept.changes, ids);
    }
}
