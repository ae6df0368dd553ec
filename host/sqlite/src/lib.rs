//! The embedded default store: one SQLite file in WAL mode, one writer thread
//! with group commit, and a few reader connections.

mod actors;
mod apply;
mod archive;
mod feed;
mod flow;
mod readers;
mod row;
mod schema;
mod writer;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use readers::Readers;
use rusqlite::{Connection, OptionalExtension, params};

pub use schema::Durability;

use reprise_core::archive::{Counts, Piece};
use reprise_core::history::{HistoryEvent, codec};
use reprise_core::store::{
    ActivityFlow, ActivityTask, ActorId, ActorMessage, ActorRecord, AtomicRequest, Batch, Changes,
    CommitTicket, DueActor, FeedPosition, InstanceQuery, InstanceRecord, Lease, Message,
    Outstanding, Registration, RememberedRequest, Resumable, Role, Status, Store, StoreCounts,
    StoreError, TimerRecord, VersionCount,
};
use reprise_store_rules::group::{Counters, Request};
use reprise_store_rules::query::{INSTANCE_COLUMNS, Placeholders, SqlValue, instances_sql};
use reprise_store_rules::{handle_origin, sql_int};
use row::{
    ACTIVITIES_OF_EXECUTION, DUE_ACTIVITIES, Fields, INBOX_OF_INSTANCE, SqliteError, read_activity,
    read_actor, read_instance, read_lease, read_message, read_timer,
};

/// Reader threads, each with its connection; more concurrent reads queue.
const READERS: usize = 4;

/// A Reprise database in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Request>>,
    readers: Readers,
    counters: Arc<Counters>,
    /// Marks this handle's rows in the change feed.
    origin: i64,
}

/// What the writer has committed since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitStats {
    /// SQLite transactions (each one fsync with [`Durability::Full`]).
    pub transactions: u64,
    /// Batches in them: more batches than transactions is group commit at work.
    pub batches: u64,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`, with
    /// fsync at every commit.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, Durability::Full)
    }

    /// Opens the database with the given durability.
    pub fn open_with(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        Ok(Self::open_connections(path.as_ref(), durability)?)
    }

    fn open_connections(path: &Path, durability: Durability) -> Result<Self, SqliteError> {
        let path = path.to_path_buf();
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn, durability)?;
        schema::migrate(&mut conn)?;
        let readers = Readers::open(&path, durability, READERS)?;
        let origin = handle_origin();
        let (sender, receiver) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let writer_counters = counters.clone();
        std::thread::Builder::new()
            .name("reprise-sqlite-writer".into())
            .spawn(move || writer::run(conn, receiver, writer_counters, origin))
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(Self {
            path,
            writer: Mutex::new(sender),
            readers,
            counters,
            origin,
        })
    }

    /// Transactions and batches committed so far.
    pub fn commit_stats(&self) -> CommitStats {
        CommitStats {
            transactions: self.counters.transactions(),
            batches: self.counters.batches(),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a consistent snapshot of the whole database to a new file at
    /// `to`, while this and other handles go on committing (`VACUUM INTO`
    /// on a reader's snapshot). The copy is a database to open as it is;
    /// its workers wait for the leases it records to run out. A conflict
    /// if `to` exists.
    pub async fn backup_into(&self, to: impl AsRef<Path>) -> Result<(), StoreError> {
        let to = to.as_ref().to_path_buf();
        self.read(move |conn| Ok(archive::backup(conn, &to)))
            .await?
            .map_err(StoreError::from)
    }

    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.readers.read(read).await
    }
}

fn select_instance(conn: &Connection, id: &str) -> rusqlite::Result<Option<InstanceRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = ?1"
    ))?
    .query_row([id], read_instance)
    .optional()
}

fn select_history(
    conn: &Connection,
    id: &str,
    execution: u32,
) -> rusqlite::Result<Vec<HistoryEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT instance_id, execution, seq, at, event FROM history
         WHERE instance_id = ?1 AND execution = ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![id, execution], |row| {
        let f = Fields::new(row, "history", &["instance_id", "execution", "seq"]);
        // By index: this is replay's read.
        Ok(HistoryEvent {
            seq: f.get(2)?,
            at: f.get(3)?,
            event: f.decode(4, codec::decode)?,
        })
    })?;
    rows.collect()
}

fn select_inbox(conn: &Connection, id: &str) -> rusqlite::Result<Vec<Message>> {
    let mut stmt = conn.prepare_cached(INBOX_OF_INSTANCE)?;
    let rows = stmt.query_map([id], read_message)?;
    rows.collect()
}

/// The instances `query` asks for.
fn select_instances(
    conn: &Connection,
    query: &InstanceQuery,
) -> rusqlite::Result<Vec<InstanceRecord>> {
    let statement = instances_sql(query, Placeholders::Question);
    conn.prepare_cached(&statement.sql)?
        .query_map(sql_values(statement.values), read_instance)?
        .collect()
}

/// The shared query builder's parameters, as rusqlite takes them.
fn sql_values(values: Vec<SqlValue>) -> impl rusqlite::Params {
    rusqlite::params_from_iter(values.into_iter().map(|value| match value {
        SqlValue::Text(text) => rusqlite::types::Value::Text(text),
        SqlValue::Integer(n) => rusqlite::types::Value::Integer(n),
    }))
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn commit(&self, batch: Batch) -> CommitTicket {
        let (request, ticket) = Request::new(batch);
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(mpsc::SendError(request)) = writer.send(request) {
            request.answer(Err(StoreError::Closed));
        }
        ticket
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| select_instance(conn, &id)).await
    }

    async fn instances(&self, query: &InstanceQuery) -> Result<Vec<InstanceRecord>, StoreError> {
        let query = query.clone();
        self.read(move |conn| select_instances(conn, &query)).await
    }

    async fn history(&self, id: &str, execution: u32) -> Result<Vec<HistoryEvent>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| select_history(conn, &id, execution))
            .await
    }

    async fn inbox(&self, id: &str) -> Result<Vec<Message>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| select_inbox(conn, &id)).await
    }

    async fn resumable(&self, id: &str) -> Result<Option<Resumable>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            // One read transaction: the three reads see one snapshot.
            let tx = conn.unchecked_transaction()?;
            let Some(record) = select_instance(&tx, &id)? else {
                return Ok(None);
            };
            let history = select_history(&tx, &id, record.execution)?;
            let inbox = select_inbox(&tx, &id)?;
            Ok(Some(Resumable {
                record,
                history,
                inbox,
            }))
        })
        .await
    }

    async fn feed_head(&self) -> Result<FeedPosition, StoreError> {
        self.read(feed::head).await
    }

    async fn changes(&self, after: FeedPosition, limit: usize) -> Result<Changes, StoreError> {
        let origin = self.origin;
        self.read(move |conn| feed::read(conn, origin, after, limit))
            .await
    }

    async fn due_activities(
        &self,
        now: u64,
        limit: usize,
        retries_only: bool,
    ) -> Result<Vec<ActivityTask>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(DUE_ACTIVITIES)?;
            let from = u64::from(retries_only);
            let rows = stmt.query_map(params![from, sql_int(now), limit as i64], read_activity)?;
            rows.collect()
        })
        .await
    }

    async fn next_timers(&self, limit: usize) -> Result<Vec<TimerRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT instance_id, execution, task, fire_at FROM timers ORDER BY fire_at LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit as i64], read_timer)?;
            rows.collect()
        })
        .await
    }

    async fn component(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let digest = digest.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT bytes FROM components WHERE digest = ?1")?
                .query_row([digest], |row| row.get(0))
                .optional()
        })
        .await
    }

    async fn compiled(&self, digest: &str, engine: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let digest = digest.to_owned();
        let engine = engine.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT bytes FROM compiled WHERE digest = ?1 AND engine = ?2")?
                .query_row([digest, engine], |row| row.get(0))
                .optional()
        })
        .await
    }

    async fn registrations(&self) -> Result<Vec<Registration>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT seq, role, name, digest FROM registrations ORDER BY seq")?;
            let rows = stmt.query_map([], |row| {
                let f = Fields::new(row, "registrations", &["seq"]);
                Ok(Registration {
                    seq: f.get("seq")?,
                    role: f.parse("role", Role::parse)?,
                    name: f.get("name")?,
                    digest: f.get("digest")?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    async fn due_actors(
        &self,
        now: u64,
        limit: usize,
        page: usize,
        except: &[ActorId],
    ) -> Result<Vec<DueActor>, StoreError> {
        let except: HashSet<ActorId> = except.iter().cloned().collect();
        self.read(move |conn| actors::due_actors(conn, now, limit, page, &except))
            .await
    }

    async fn due_actor_operations(
        &self,
        id: &ActorId,
        now: u64,
        limit: usize,
    ) -> Result<Vec<ActorMessage>, StoreError> {
        let id = id.clone();
        self.read(move |conn| actors::mailbox_page(conn, &id, Some(now), limit))
            .await
    }

    async fn atomic_request(&self, id: i64) -> Result<Option<AtomicRequest>, StoreError> {
        self.read(move |conn| actors::atomic_request(conn, id))
            .await
    }

    async fn atomic_requests(&self, limit: usize) -> Result<Vec<AtomicRequest>, StoreError> {
        self.read(move |conn| actors::atomic_requests(conn, limit))
            .await
    }

    async fn actor(&self, id: &ActorId) -> Result<Option<ActorRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT kind, key, state, updated_at FROM actors WHERE kind = ?1 AND key = ?2",
            )?
            .query_row(params![id.kind, id.key], read_actor)
            .optional()
        })
        .await
    }

    async fn actors(&self, kind: &str, limit: usize) -> Result<Vec<ActorRecord>, StoreError> {
        let kind = kind.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, key, state, updated_at FROM actors WHERE kind = ?1 ORDER BY key LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![kind, limit as i64], read_actor)?;
            rows.collect()
        })
        .await
    }

    async fn remembered_request(&self, key: &str) -> Result<Option<RememberedRequest>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT key, fingerprint, answer, call_request, created_at
                 FROM idempotency WHERE key = ?1",
            )?
            .query_row([key], |row| {
                let f = Fields::new(row, "idempotency", &["key"]);
                Ok(RememberedRequest {
                    key: f.get("key")?,
                    fingerprint: f.get("fingerprint")?,
                    answer: f.get("answer")?,
                    call: f.get("call_request")?,
                    at: f.get("created_at")?,
                })
            })
            .optional()
        })
        .await
    }

    async fn actor_result(&self, request_id: &str) -> Result<Option<String>, StoreError> {
        let request_id = request_id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT outcome FROM actor_results WHERE request_id = ?1")?
                .query_row([request_id], |row| row.get(0))
                .optional()
        })
        .await
    }

    async fn activity_flow(&self, now: u64) -> Result<Vec<ActivityFlow>, StoreError> {
        self.read(move |conn| flow::activity_flow(conn, now)).await
    }

    async fn actor_backlog(&self) -> Result<u64, StoreError> {
        self.read(actors::backlog).await
    }

    async fn actor_mailbox(&self, id: &ActorId) -> Result<u64, StoreError> {
        let id = id.clone();
        self.read(move |conn| actors::depth(conn, &id)).await
    }

    async fn actor_queue(
        &self,
        id: &ActorId,
        limit: usize,
    ) -> Result<Vec<ActorMessage>, StoreError> {
        let id = id.clone();
        self.read(move |conn| actors::mailbox_page(conn, &id, None, limit))
            .await
    }

    async fn counts(&self) -> Result<StoreCounts, StoreError> {
        self.read(move |conn| {
            // One snapshot; each count reads an index or a table's rows once.
            let tx = conn.unchecked_transaction()?;
            let mut by_status = std::collections::HashMap::new();
            let mut versions = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT digest, status, count(*) FROM instances
                 GROUP BY digest, status ORDER BY digest",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let f = Fields::new(row, "instances", &["digest", "status"]);
                let (status, instances) = (f.parse(1, Status::parse)?, f.get::<u64>(2)?);
                *by_status.entry(status).or_insert(0) += instances;
                let digest = f.get(0)?;
                versions.push(VersionCount {
                    digest,
                    status,
                    instances,
                });
            }
            let count = |table: &str| -> rusqlite::Result<u64> {
                tx.prepare_cached(&format!("SELECT count(*) FROM {table}"))?
                    .query_row([], |row| row.get(0))
            };
            Ok(StoreCounts {
                instances: Status::ALL
                    .into_iter()
                    .map(|status| (status, by_status.get(&status).copied().unwrap_or(0)))
                    .collect(),
                versions,
                activities: count("activity_tasks")?,
                timers: count("timers")?,
                inbox: count("inbox")?,
                actor_mailbox: count("actor_mailbox WHERE atomic IS NULL")?,
                atomic_requests: count("actor_atomic")?,
            })
        })
        .await
    }

    async fn outstanding(&self, id: &str, execution: u32) -> Result<Outstanding, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            // One snapshot: a task is never in both lists, nor in neither.
            let tx = conn.unchecked_transaction()?;
            let activities = tx
                .prepare_cached(ACTIVITIES_OF_EXECUTION)?
                .query_map(params![id, execution], read_activity)?
                .collect::<rusqlite::Result<_>>()?;
            let timers = tx
                .prepare_cached(
                    "SELECT instance_id, execution, task, fire_at FROM timers
                     WHERE instance_id = ?1 AND execution = ?2 ORDER BY task",
                )?
                .query_map(params![id, execution], read_timer)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Outstanding { activities, timers })
        })
        .await
    }

    async fn export(&self, out: tokio::sync::mpsc::Sender<Piece>) -> Result<Counts, StoreError> {
        self.read(move |conn| Ok(archive::export(conn, &out)))
            .await?
            .map_err(StoreError::from)
    }

    async fn import(
        &self,
        input: tokio::sync::mpsc::Receiver<Piece>,
        now: u64,
    ) -> Result<Counts, StoreError> {
        let path = self.path.clone();
        let (reply, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("reprise-sqlite-import".into())
            .spawn(move || {
                let _ = reply.send(archive::import(&path, input, now));
            })
            .map_err(|e| StoreError::Database(e.to_string()))?;
        result
            .await
            .map_err(|_| StoreError::Closed)?
            .map_err(StoreError::from)
    }

    async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, owner, token, expires_at FROM leases ORDER BY name",
            )?;
            let rows = stmt.query_map([], read_lease)?;
            rows.collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprise_core::store::InstanceCursor;

    /// Every listing reads an index in listing order: no table scan, no
    /// sort of all matching rows (which a page of 100,000 instances would
    /// pay for at every request).
    #[test]
    fn every_instance_listing_reads_an_index_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let cursor = Some(InstanceCursor {
            created_at: 5,
            id: "x".into(),
        });
        for status in [None, Some(Status::Running)] {
            for name in [None, Some("hello".to_owned())] {
                for (created_from, created_before) in [(None, None), (Some(1), Some(9))] {
                    for after in [None, cursor.clone()] {
                        let query = InstanceQuery {
                            status,
                            name: name.clone(),
                            created_from,
                            created_before,
                            after,
                            limit: 50,
                        };
                        let statement = instances_sql(&query, Placeholders::Question);
                        let plan: Vec<String> = conn
                            .prepare(&format!("EXPLAIN QUERY PLAN {}", statement.sql))
                            .unwrap()
                            .query_map(sql_values(statement.values), |row| row.get::<_, String>(3))
                            .unwrap()
                            .collect::<Result<_, _>>()
                            .unwrap();
                        let plan = plan.join("; ");
                        assert!(plan.contains("USING INDEX"), "{query:?}: {plan}");
                        assert!(!plan.contains("TEMP B-TREE"), "{query:?}: {plan}");
                    }
                }
            }
        }
    }
}
