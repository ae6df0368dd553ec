//! Reprise on PostgreSQL: a [`Store`] that several hosts (and CLIs) can
//! share.
//!
//! Each handle has one writer connection that folds many batches into one
//! transaction (group commit; a failing batch rolls back alone in a
//! savepoint) and a few reader connections. Rows that concurrent writers
//! could both judge (an instance's status, a lease) are locked before they
//! are judged, and the change feed's positions are drawn in commit order
//! (see `feed`), so the store keeps the same contract as the embedded
//! SQLite one: the conformance suite of `reprise-store-tests` runs on both.
//!
//! - `schema`: numbered migrations, applied once however many hosts start.
//! - `writer`: the group-committing writer.
//! - `apply`: what each [`Op`](reprise_core::store::Op) does, by the rules
//!   both backends share (`reprise_store_rules`); `batch`: the reads and
//!   writes several ops share, and the statements prepared for them.
//! - `feed`: the commit-ordered change feed.
//! - `row`: rows into records, with errors that name table and column.
//! - [`testing`]: a fresh database for each test.

mod actors;
mod apply;
mod archive;
mod batch;
mod feed;
mod flow;
mod listen;
mod row;
mod schema;
pub mod testing;
mod writer;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reprise_core::archive::{Counts, Piece};
use reprise_core::history::HistoryEvent;
use reprise_core::store::{
    ActivityFlow, ActivityTask, ActorId, ActorMessage, ActorRecord, AtomicRequest, Batch, Changes,
    CommitTicket, DueActor, FeedPosition, InstanceQuery, InstanceRecord, Lease, Message,
    Outstanding, Registration, RememberedRequest, Resumable, Role, Status, Store, StoreCounts,
    StoreError, TimerRecord, VersionCount,
};
use reprise_store_rules::group::{Counters, Request};
use reprise_store_rules::handle_origin;
use reprise_store_rules::query::{INSTANCE_COLUMNS, Placeholders, SqlValue, instances_sql};
use tokio::sync::{Mutex, Notify, mpsc};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, IsolationLevel, NoTls};

use row::{Fields, PgError, int};

/// Reader connections per handle; more concurrent reads queue.
const READERS: usize = 4;

/// Opens a new connection to the database.
type Connector =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Client, PgError>> + Send>> + Send + Sync>;

/// What this handle's writer has committed since it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// Transactions (each one WAL flush with synchronous commit on).
    pub transactions: u64,
    /// Batches in them: more batches than transactions is group commit at work.
    pub batches: u64,
}

/// A Reprise database on a PostgreSQL server.
pub struct PostgresStore {
    writer: mpsc::UnboundedSender<Request>,
    counters: Arc<Counters>,
    readers: Vec<Mutex<Client>>,
    /// Opens a connection, for a reader whose connection was lost.
    connect: Connector,
    next_reader: AtomicUsize,
    /// Marks this handle's rows in the change feed.
    origin: i64,
    /// Woken when another handle may have committed (see `listen`).
    changed: Arc<Notify>,
    /// The task that listens for that; it ends with the handle.
    listener: tokio::task::AbortHandle,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// How long a connection may take to open, and how long a peer may stay
/// silent before the connection counts as dead.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `url` without TLS (loopback or a trusted network) and
/// drives the connection on the current tokio runtime.
///
/// Nothing may hang for good: a server that does not answer fails the
/// connection (keepalives, a user timeout), and a transaction left open by
/// a process that froze mid-commit is ended by the server, releasing its
/// locks (the feed lock, a lease's row) for everyone else.
async fn connect(url: &str) -> Result<Client, PgError> {
    let (client, connection) = config(url)?.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(error = %row::describe(&error), "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

/// How every connection is configured (see [`connect`]).
fn config(url: &str) -> Result<tokio_postgres::Config, PgError> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config
        .connect_timeout(NETWORK_TIMEOUT)
        .keepalives_idle(NETWORK_TIMEOUT)
        .tcp_user_timeout(NETWORK_TIMEOUT)
        .options("-c idle_in_transaction_session_timeout=5000");
    Ok(config)
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`),
    /// creating and migrating its tables if needed. Needs a tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::open(url).await?)
    }

    async fn open(url: &str) -> Result<Self, PgError> {
        let url = url.to_owned();
        let origin = handle_origin();
        let changed = Arc::new(Notify::new());
        let listener = tokio::spawn(listen::listen(url.clone(), origin, changed.clone()));
        let connector: Connector = Arc::new(move || {
            let url = url.clone();
            Box::pin(async move { connect(&url).await })
        });
        let mut client = connector().await?;
        schema::migrate(&mut client).await?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Mutex::new(connector().await?));
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        tokio::spawn(writer::run(
            client,
            connector.clone(),
            receiver,
            origin,
            counters.clone(),
        ));
        Ok(Self {
            writer: sender,
            counters,
            readers,
            connect: connector,
            next_reader: AtomicUsize::new(0),
            origin,
            changed,
            listener: listener.abort_handle(),
        })
    }

    /// Transactions and batches committed so far.
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            transactions: self.counters.transactions(),
            batches: self.counters.batches(),
        }
    }

    /// A reader connection, taken in turn; one that was lost (the server
    /// restarted, say) is opened again first.
    async fn reader(&self) -> tokio::sync::MutexGuard<'_, Client> {
        let index = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let mut client = self.readers[index].lock().await;
        if client.is_closed() {
            match (self.connect)().await {
                Ok(fresh) => *client = fresh,
                // The read fails on the closed connection and says so.
                Err(error) => tracing::warn!(%error, "cannot reconnect a reader to PostgreSQL"),
            }
        }
        client
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, PgError> {
        Ok(self.reader().await.query(sql, params).await?)
    }

    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, PgError> {
        Ok(self.reader().await.query_opt(sql, params).await?)
    }
}

/// A row limit as `LIMIT` takes it (a negative one is an error).
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Starts a read-only transaction that sees one snapshot.
async fn snapshot(client: &mut Client) -> Result<tokio_postgres::Transaction<'_>, PgError> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

async fn select_instance(
    client: &impl tokio_postgres::GenericClient,
    id: &str,
) -> Result<Option<InstanceRecord>, PgError> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1");
    client
        .query_opt(&sql, &[&id])
        .await?
        .map(|r| row::instance(&r))
        .transpose()
}

async fn select_history(
    client: &impl tokio_postgres::GenericClient,
    id: &str,
    execution: u32,
) -> Result<Vec<HistoryEvent>, PgError> {
    let rows = client
        .query(
            "SELECT seq, at, event FROM history WHERE instance_id = $1 AND execution = $2
             ORDER BY seq",
            &[&id, &i64::from(execution)],
        )
        .await?;
    row::all(&rows, row::history_event)
}

async fn select_inbox(
    client: &impl tokio_postgres::GenericClient,
    id: &str,
) -> Result<Vec<Message>, PgError> {
    let sql = format!(
        "SELECT {} FROM inbox WHERE instance_id = $1 ORDER BY id",
        row::MESSAGE_COLUMNS
    );
    let rows = client.query(&sql, &[&id]).await?;
    row::all(&rows, row::message)
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn commit(&self, batch: Batch) -> CommitTicket {
        let (request, ticket) = Request::new(batch);
        if let Err(mpsc::error::SendError(request)) = self.writer.send(request) {
            request.answer(Err(StoreError::Closed));
        }
        ticket
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        Ok(select_instance(&*self.reader().await, id).await?)
    }

    async fn instances(&self, query: &InstanceQuery) -> Result<Vec<InstanceRecord>, StoreError> {
        let statement = instances_sql(query, Placeholders::Dollar);
        let params: Vec<&(dyn ToSql + Sync)> = statement
            .values
            .iter()
            .map(|value| match value {
                SqlValue::Text(text) => text as &(dyn ToSql + Sync),
                SqlValue::Integer(n) => n,
            })
            .collect();
        let rows = self.query(&statement.sql, &params).await?;
        Ok(row::all(&rows, row::instance)?)
    }

    async fn history(&self, id: &str, execution: u32) -> Result<Vec<HistoryEvent>, StoreError> {
        Ok(select_history(&*self.reader().await, id, execution).await?)
    }

    async fn inbox(&self, id: &str) -> Result<Vec<Message>, StoreError> {
        Ok(select_inbox(&*self.reader().await, id).await?)
    }

    async fn resumable(&self, id: &str) -> Result<Option<Resumable>, StoreError> {
        let mut client = self.reader().await;
        let tx = snapshot(&mut client).await?;
        let Some(record) = select_instance(&tx, id).await? else {
            return Ok(None);
        };
        let history = select_history(&tx, id, record.execution).await?;
        let inbox = select_inbox(&tx, id).await?;
        Ok(Some(Resumable {
            record,
            history,
            inbox,
        }))
    }

    async fn feed_head(&self) -> Result<FeedPosition, StoreError> {
        Ok(feed::head(&*self.reader().await).await?)
    }

    async fn changes(&self, after: FeedPosition, limit: usize) -> Result<Changes, StoreError> {
        let mut client = self.reader().await;
        let tx = snapshot(&mut client).await?;
        Ok(feed::read(&tx, self.origin, after, limit).await?)
    }

    async fn due_activities(
        &self,
        now: u64,
        limit: usize,
        retries_only: bool,
    ) -> Result<Vec<ActivityTask>, StoreError> {
        // First attempts are visible at 0; retries later.
        let from: i64 = if retries_only { 1 } else { 0 };
        let sql = format!(
            "SELECT {} FROM activity_tasks WHERE visible_at BETWEEN $1 AND $2
             ORDER BY visible_at, id LIMIT $3",
            row::ACTIVITY_COLUMNS
        );
        let rows = self
            .query(&sql, &[&from, &int(now), &sql_limit(limit)])
            .await?;
        Ok(row::all(&rows, row::activity)?)
    }

    async fn next_timers(&self, limit: usize) -> Result<Vec<TimerRecord>, StoreError> {
        let rows = self
            .query(
                "SELECT instance_id, execution, task, fire_at FROM timers
                 ORDER BY fire_at LIMIT $1",
                &[&sql_limit(limit)],
            )
            .await?;
        Ok(row::all(&rows, row::timer)?)
    }

    async fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .query_opt("SELECT bytes FROM components WHERE digest = $1", &[&digest])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn compiled(&self, digest: &str, engine: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .query_opt(
                "SELECT bytes FROM compiled WHERE digest = $1 AND engine = $2",
                &[&digest, &engine],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn registrations(&self) -> Result<Vec<Registration>, StoreError> {
        let rows = self
            .query(
                "SELECT seq, role, name, digest FROM registrations ORDER BY seq",
                &[],
            )
            .await?;
        let read = |r: &tokio_postgres::Row| {
            let f = Fields::new(r, "registrations");
            Ok(Registration {
                role: f.parse("role", Role::parse)?,
                name: f.get("name")?,
                digest: f.get("digest")?,
                seq: f.get("seq")?,
            })
        };
        Ok(row::all(&rows, read)?)
    }

    async fn due_actors(
        &self,
        now: u64,
        limit: usize,
        page: usize,
        except: &[ActorId],
    ) -> Result<Vec<DueActor>, StoreError> {
        let (limit, page) = (sql_limit(limit), sql_limit(page));
        let reader = self.reader().await;
        Ok(actors::due_actors(&*reader, now, limit, page, except).await?)
    }

    async fn due_actor_operations(
        &self,
        id: &ActorId,
        now: u64,
        limit: usize,
    ) -> Result<Vec<ActorMessage>, StoreError> {
        let client = self.reader().await;
        Ok(actors::mailbox_page(&*client, id, Some(now), sql_limit(limit)).await?)
    }

    async fn atomic_request(&self, id: i64) -> Result<Option<AtomicRequest>, StoreError> {
        let client = self.reader().await;
        Ok(actors::atomic_request(&*client, id).await?)
    }

    async fn atomic_requests(&self, limit: usize) -> Result<Vec<AtomicRequest>, StoreError> {
        let client = self.reader().await;
        Ok(actors::atomic_requests(&*client, sql_limit(limit)).await?)
    }

    async fn actor(&self, id: &ActorId) -> Result<Option<ActorRecord>, StoreError> {
        let row = self
            .query_opt(
                "SELECT kind, key, state, updated_at FROM actors WHERE kind = $1 AND key = $2",
                &[&id.kind, &id.key],
            )
            .await?;
        Ok(row.map(|r| row::actor(&r)).transpose()?)
    }

    async fn actors(&self, kind: &str, limit: usize) -> Result<Vec<ActorRecord>, StoreError> {
        let rows = self
            .query(
                "SELECT kind, key, state, updated_at FROM actors WHERE kind = $1
                 ORDER BY key LIMIT $2",
                &[&kind, &sql_limit(limit)],
            )
            .await?;
        Ok(row::all(&rows, row::actor)?)
    }

    async fn remembered_request(&self, key: &str) -> Result<Option<RememberedRequest>, StoreError> {
        let row = self
            .query_opt(
                "SELECT key, fingerprint, answer, call_request, created_at
                 FROM idempotency WHERE key = $1",
                &[&key],
            )
            .await?;
        Ok(row.as_ref().map(row::remembered_request).transpose()?)
    }

    async fn actor_result(&self, request_id: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .query_opt(
                "SELECT outcome FROM actor_results WHERE request_id = $1",
                &[&request_id],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn activity_flow(&self, now: u64) -> Result<Vec<ActivityFlow>, StoreError> {
        Ok(flow::activity_flow(&*self.reader().await, now).await?)
    }

    async fn actor_backlog(&self) -> Result<u64, StoreError> {
        let client = self.reader().await;
        Ok(actors::backlog(&*client).await?)
    }

    async fn actor_mailbox(&self, id: &ActorId) -> Result<u64, StoreError> {
        let client = self.reader().await;
        Ok(actors::depth(&*client, id).await?)
    }

    async fn actor_queue(
        &self,
        id: &ActorId,
        limit: usize,
    ) -> Result<Vec<ActorMessage>, StoreError> {
        let client = self.reader().await;
        Ok(actors::mailbox_page(&*client, id, None, sql_limit(limit)).await?)
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        let mut client = self.reader().await;
        let tx = snapshot(&mut client).await?;
        let rows = tx
            .query(
                "SELECT digest, status, count(*) FROM instances
                 GROUP BY digest, status ORDER BY digest",
                &[],
            )
            .await
            .map_err(PgError::from)?;
        let mut by_status = std::collections::HashMap::new();
        let mut versions = Vec::new();
        for r in &rows {
            let f = Fields::new(r, "instances");
            let (status, instances) = (f.parse("status", Status::parse)?, f.uint("count")?);
            *by_status.entry(status).or_insert(0) += instances;
            let digest = f.get("digest")?;
            versions.push(VersionCount {
                digest,
                status,
                instances,
            });
        }
        let row = tx
            .query_one(
                "SELECT (SELECT count(*) FROM activity_tasks), (SELECT count(*) FROM timers),
                        (SELECT count(*) FROM inbox),
                        (SELECT count(*) FROM actor_mailbox WHERE atomic IS NULL),
                        (SELECT count(*) FROM actor_atomic)",
                &[],
            )
            .await
            .map_err(PgError::from)?;
        let count = |i: usize| row.get::<_, i64>(i).max(0) as u64;
        Ok(StoreCounts {
            instances: Status::ALL
                .into_iter()
                .map(|status| (status, by_status.get(&status).copied().unwrap_or(0)))
                .collect(),
            versions,
            activities: count(0),
            timers: count(1),
            inbox: count(2),
            actor_mailbox: count(3),
            atomic_requests: count(4),
        })
    }

    async fn outstanding(&self, id: &str, execution: u32) -> Result<Outstanding, StoreError> {
        let mut client = self.reader().await;
        // One snapshot: a task is never in both lists, nor in neither.
        let tx = snapshot(&mut client).await?;
        let execution = i64::from(execution);
        let sql = format!(
            "SELECT {} FROM activity_tasks WHERE instance_id = $1 AND execution = $2 ORDER BY task",
            row::ACTIVITY_COLUMNS
        );
        let activities = tx
            .query(&sql, &[&id, &execution])
            .await
            .map_err(PgError::from)?;
        let timers = tx
            .query(
                "SELECT instance_id, execution, task, fire_at FROM timers
                 WHERE instance_id = $1 AND execution = $2 ORDER BY task",
                &[&id, &execution],
            )
            .await
            .map_err(PgError::from)?;
        Ok(Outstanding {
            activities: row::all(&activities, row::activity)?,
            timers: row::all(&timers, row::timer)?,
        })
    }

    fn changes_signal(&self) -> Option<Arc<Notify>> {
        Some(self.changed.clone())
    }

    async fn export(&self, out: mpsc::Sender<Piece>) -> Result<Counts, StoreError> {
        Ok(archive::export(&self.connect, out).await?)
    }

    async fn import(&self, input: mpsc::Receiver<Piece>, now: u64) -> Result<Counts, StoreError> {
        Ok(archive::import(&self.connect, input, now).await?)
    }

    async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let client = self.reader().await;
        let rows = client
            .query(
                "SELECT name, owner, token, expires_at FROM leases ORDER BY name COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(PgError::from)?;
        Ok(row::all(&rows, row::lease)?)
    }
}
