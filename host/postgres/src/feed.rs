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

use reprise_core::store::{Change, Changes, FeedPosition, Status};
use tokio_postgres::GenericClient;

use crate::row::{Fields, PgError, int, message};

/// Rows kept: a reader further behind than this gets a gap and rescans.
pub(crate) const KEEP: i64 = 100_000;

/// The advisory lock that orders feed positions by commit.
const FEED_LOCK: i64 = 0x5245_5052_4953_4502;

/// A change a batch made, to be appended when its group commits.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    kind: &'static str,
    subject: Option<String>,
    message: Option<i64>,
}

/// What one batch appends to the feed. Work notices (activities, timers,
/// actors) are written once per batch however many the batch queued.
#[derive(Debug, Default)]
pub(crate) struct FeedWriter {
    pub(crate) entries: Vec<Entry>,
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

impl FeedWriter {
    /// An instance was created, or its status or execution changed.
    pub(crate) fn instance(&mut self, id: &str) {
        self.push("instance", Some(id.to_owned()), None);
    }

    /// A message arrived in an inbox.
    pub(crate) fn message(&mut self, instance_id: &str, message_id: i64) {
        self.push("message", Some(instance_id.to_owned()), Some(message_id));
    }

    /// A client's actor call has its outcome.
    pub(crate) fn actor_result(&mut self, request_id: &str) {
        self.push("actor_result", Some(request_id.to_owned()), None);
    }

    /// Work was queued.
    pub(crate) fn work(&mut self, work: Work) {
        if !std::mem::replace(&mut self.noticed[work as usize], true) {
            self.push(work.kind(), None, None);
        }
    }

    fn push(&mut self, kind: &'static str, subject: Option<String>, message: Option<i64>) {
        self.entries.push(Entry {
            kind,
            subject,
            message,
        });
    }
}

/// Appends a group's entries, in order, at positions drawn under the feed
/// lock: the last statements of the group's transaction.
pub(crate) async fn append(
    tx: &impl GenericClient,
    origin: i64,
    entries: &[Entry],
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
    let kinds: Vec<&str> = entries.iter().map(|e| e.kind).collect();
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

/// Drops all but the newest [`KEEP`] rows, and remembers up to where.
pub(crate) async fn prune(tx: &impl GenericClient) -> Result<(), PgError> {
    let head = head(tx).await?.0 as i64;
    if head <= KEEP {
        return Ok(());
    }
    let through = head - KEEP;
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
        let f = Fields::new(row, "feed");
        last = FeedPosition(f.uint("seq")?);
        let kind: String = f.get("change")?;
        let change = match kind.as_str() {
            "instance" => Change::Instance {
                id: f.get("subject")?,
                status: f
                    .get::<Option<String>>("status")?
                    .map(|s| Status::parse(&s).ok_or_else(|| f.corrupt("status", s)))
                    .transpose()?,
            },
            "message" => match f.get::<Option<i64>>("id")? {
                Some(_) => Change::Message(message(row)?),
                None => continue, // consumed before it was read
            },
            "registrations" => Change::Registrations,
            "activities" => Change::Activities,
            "timers" => Change::Timers,
            "actors" => Change::Actors,
            "actor_result" => Change::ActorResult {
                request_id: f.get("subject")?,
            },
            other => return Err(f.corrupt("change", format!("unknown change kind {other:?}"))),
        };
        changes.push(change);
    }
    let next = if rows.len() == limit { last } else { head };
    Ok(Changes {
        changes,
        next,
        gap: false,
    })
}
