//! The change feed on PostgreSQL.
//!
//! Several writers (hosts, a CLI) commit concurrently, and a sequence value
//! drawn mid-transaction says nothing about when the transaction commits: a
//! reader that saw position 12 could later find 11 committed behind it and
//! miss it. So a writer gathers its feed entries while it applies a group,
//! then, last thing before committing, takes the feed lock (an advisory
//! transaction lock, released by the commit itself) and draws their
//! positions. Positions are thus drawn in commit order, and a reader that
//! sees position n committed knows every position below it is committed
//! (or was rolled back) too.
//!
//! The cost: writers' commits are serialised across hosts from the feed
//! lock to the end of the commit (the WAL flush). Each writer folds many
//! batches into one commit, so this bounds commits, not batches.
//!
//! Which op makes which entry, and which change an entry reads back as,
//! are the rules both backends share (`reprise_store_rules::feed`).

use reprise_core::store::{Changes, FeedPosition, Message, Status};
use reprise_store_rules::feed::{self, FeedEntry, FeedRow};
use tokio_postgres::{GenericClient, Row};

use crate::row::{Fields, PgError, int, message};

/// The advisory lock that orders feed positions by commit.
pub(crate) const FEED_LOCK: i64 = 0x5245_5052_4953_4502;

/// Appends a group's entries, in order, at positions drawn under the feed
/// lock: the last statements of the group's transaction.
pub(crate) async fn append(
    tx: &impl GenericClient,
    origin: i64,
    entries: &[FeedEntry],
) -> Result<(), PgError> {
    if entries.is_empty() {
        return Ok(());
    }
    // The notification goes out when the transaction commits (see listen.rs).
    tx.execute(
        "SELECT pg_advisory_xact_lock($1), pg_notify($2, $3)",
        &[&FEED_LOCK, &crate::listen::CHANNEL, &origin.to_string()],
    )
    .await?;
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind.as_str()).collect();
    let subjects: Vec<Option<&str>> = entries.iter().map(|e| e.subject.as_deref()).collect();
    let messages: Vec<Option<i64>> = entries.iter().map(|e| e.message).collect();
    // One statement for the whole group; `ordinality` keeps the order.
    tx.execute(
        "INSERT INTO feed (seq, origin, kind, subject, message)
         SELECT nextval('feed_seq'), $1, kind, subject, message
         FROM unnest($2::text[], $3::text[], $4::bigint[])
              WITH ORDINALITY AS e(kind, subject, message, n)
         ORDER BY n",
        &[&origin, &kinds, &subjects, &messages],
    )
    .await?;
    Ok(())
}

/// Drops all but the newest [`feed::KEEP`] rows, and remembers up to where.
pub(crate) async fn prune(tx: &impl GenericClient) -> Result<(), PgError> {
    let Some(through) = feed::prune_through(head(tx).await?.0, feed::KEEP) else {
        return Ok(());
    };
    let through = int(through);
    tx.execute("DELETE FROM feed WHERE seq <= $1", &[&through])
        .await?;
    tx.execute(
        "UPDATE feed_horizon SET pruned_through = $1 WHERE pruned_through < $1",
        &[&through],
    )
    .await?;
    Ok(())
}

/// The newest committed position (rows up to it may have been pruned).
pub(crate) async fn head(client: &impl GenericClient) -> Result<FeedPosition, PgError> {
    let row = client
        .query_one(
            "SELECT greatest((SELECT max(seq) FROM feed), (SELECT pruned_through FROM feed_horizon))",
            &[],
        )
        .await?;
    let seq: Option<i64> = row.get(0);
    Ok(FeedPosition(seq.unwrap_or(0).max(0) as u64))
}

// The message's columns keep their names, so `row::message` reads them.
const READ: &str = "SELECT f.seq, f.kind AS change, f.subject, i.status,
        m.id, m.instance_id, m.execution, m.task, m.kind, m.name, m.payload
    FROM feed f
    LEFT JOIN instances i ON f.kind = 'instance' AND i.id = f.subject
    LEFT JOIN inbox m ON f.kind = 'message' AND m.id = f.message
    WHERE f.seq > $1 AND f.seq <= $2 AND f.origin <> $3
    ORDER BY f.seq LIMIT $4";

/// Up to `limit` changes after `after` that another handle than `origin`
/// committed. `client` must hold one snapshot (a repeatable-read
/// transaction), so no pruning falls between the horizon check and the rows.
pub(crate) async fn read(
    client: &impl GenericClient,
    origin: i64,
    after: FeedPosition,
    limit: usize,
) -> Result<Changes, PgError> {
    // The head first: every position up to it is committed, so reading up
    // to it and going on from it later skips nothing.
    let head = head(client).await?;
    let pruned_through: i64 = client
        .query_one("SELECT pruned_through FROM feed_horizon", &[])
        .await?
        .get(0);
    if int(after.0) < pruned_through {
        return Ok(Changes {
            changes: Vec::new(),
            next: head,
            gap: true,
        });
    }
    let rows = client
        .query(
            READ,
            &[
                &int(after.0),
                &int(head.0),
                &origin,
                &i64::try_from(limit).unwrap_or(i64::MAX),
            ],
        )
        .await?;
    let mut changes = Vec::new();
    let mut last = after;
    for row in &rows {
        last = FeedPosition(Fields::new(row, "feed").uint("seq")?);
        changes.extend(feed::change(&Stored(row))?);
    }
    let next = if rows.len() == limit { last } else { head };
    Ok(Changes {
        changes,
        next,
        gap: false,
    })
}

/// A row of [`READ`]: the feed's columns, the instance's status and the
/// message's columns under their own names.
struct Stored<'r>(&'r Row);

impl FeedRow for Stored<'_> {
    type Error = PgError;

    fn kind(&self) -> Result<String, PgError> {
        Fields::new(self.0, "feed").get("change")
    }

    fn subject(&self) -> Result<String, PgError> {
        Fields::new(self.0, "feed").get("subject")
    }

    fn status(&self) -> Result<Option<Status>, PgError> {
        let f = Fields::new(self.0, "feed");
        f.get::<Option<String>>("status")?
            .map(|s| Status::parse(&s).ok_or_else(|| f.corrupt("status", s)))
            .transpose()
    }

    fn message(&self) -> Result<Option<Message>, PgError> {
        match Fields::new(self.0, "feed").get::<Option<i64>>("id")? {
            Some(_) => Ok(Some(message(self.0)?)),
            None => Ok(None),
        }
    }

    fn unknown_kind(&self, kind: &str) -> PgError {
        Fields::new(self.0, "feed").corrupt("change", format!("unknown change kind {kind:?}"))
    }
}
