//! Reading rows into records, with a clear error for a value that makes no
//! sense (never a panic, never a guess), and the conversions between Rust's
//! unsigned numbers and PostgreSQL's signed `BIGINT`.

use std::fmt::Display;

use reprise_core::history::codec;
use reprise_core::store::{
    ActivityTask, ActorId, ActorMessage, ActorOperation, ActorRecord, InstanceRecord, Lease,
    Lineage, Message, MessageKind, ParentRef, RememberedRequest, Status, StoreError, TimerRecord,
};
use reprise_store_rules::verdict::InstanceState;
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

/// What can go wrong inside the store: a refusal the contract names, or
/// the database itself.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PgError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
}

impl From<PgError> for StoreError {
    fn from(error: PgError) -> Self {
        match error {
            PgError::Store(error) => error,
            PgError::Postgres(error) => StoreError::Database(describe(&error)),
        }
    }
}

/// The server's message when there is one (its `Display` says only "db error").
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    // "error connecting to server" alone does not say why: add the causes.
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        text.push_str(&format!(": {error}"));
        cause = error.source();
    }
    text
}

/// A time or count as stored: `BIGINT` is signed (see `sql_int`).
pub(crate) use reprise_store_rules::sql_int as int;

/// A row of `table`, read column by column.
pub(crate) struct Fields<'r> {
    row: &'r Row,
    table: &'static str,
}

impl<'r> Fields<'r> {
    pub(crate) fn new(row: &'r Row, table: &'static str) -> Self {
        Self { row, table }
    }

    pub(crate) fn corrupt(&self, column: &str, why: impl Display) -> PgError {
        let key = self
            .row
            .try_get::<_, String>(0)
            .or_else(|_| self.row.try_get::<_, i64>(0).map(|n| n.to_string()))
            .unwrap_or_else(|_| "?".into());
        PgError::Store(StoreError::Corrupt {
            table: self.table,
            key,
            why: format!("column {column}: {why}"),
        })
    }

    pub(crate) fn get<'a, T: FromSql<'a>>(&'a self, column: &str) -> Result<T, PgError> {
        self.row
            .try_get(column)
            .map_err(|e| self.corrupt(column, e))
    }

    /// A non-negative `BIGINT` as `u64`.
    pub(crate) fn uint(&self, column: &str) -> Result<u64, PgError> {
        let value: i64 = self.get(column)?;
        u64::try_from(value).map_err(|_| self.corrupt(column, format!("negative: {value}")))
    }

    /// A `BIGINT` that must fit a `u32` (executions, tasks, attempts).
    pub(crate) fn u32(&self, column: &str) -> Result<u32, PgError> {
        let value: i64 = self.get(column)?;
        u32::try_from(value).map_err(|_| self.corrupt(column, format!("out of range: {value}")))
    }

    pub(crate) fn u32_nullable(&self, column: &str) -> Result<Option<u32>, PgError> {
        let value: Option<i64> = self.get(column)?;
        value
            .map(|v| {
                u32::try_from(v).map_err(|_| self.corrupt(column, format!("out of range: {v}")))
            })
            .transpose()
    }

    /// A text column parsed by `parse`; text it does not know is corrupt.
    pub(crate) fn parse<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, PgError> {
        let text: String = self.get(column)?;
        parse(&text).ok_or_else(|| self.corrupt(column, format!("unknown value {text:?}")))
    }

    pub(crate) fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T, PgError> {
        let text: String = self.get(column)?;
        serde_json::from_str(&text).map_err(|e| self.corrupt(column, e))
    }

    pub(crate) fn json_nullable<T: DeserializeOwned>(
        &self,
        column: &str,
    ) -> Result<Option<T>, PgError> {
        let text: Option<String> = self.get(column)?;
        text.map(|text| serde_json::from_str(&text).map_err(|e| self.corrupt(column, e)))
            .transpose()
    }
}

/// An instance's status, execution and code, from `id, status,
/// execution, digest`.
pub(crate) fn instance_state(row: &Row) -> Result<InstanceState, PgError> {
    let f = Fields::new(row, "instances");
    Ok(InstanceState {
        status: f.parse("status", Status::parse)?,
        execution: f.u32("execution")?,
        digest: f.get("digest")?,
    })
}

/// An instance record, from the shared `INSTANCE_COLUMNS`.
pub(crate) fn instance(row: &Row) -> Result<InstanceRecord, PgError> {
    let f = Fields::new(row, "instances");
    let parent = match f.get::<Option<String>>("parent_id")? {
        Some(instance_id) => Some(ParentRef {
            instance_id,
            execution: f.u32("parent_execution")?,
            task: f.u32("parent_task")?,
        }),
        None => None,
    };
    let forked_from = match f.get::<Option<String>>("forked_from_id")? {
        Some(instance_id) => Some(Lineage {
            instance_id,
            execution: f.u32("forked_from_execution")?,
            event: f.u32("forked_from_event")?,
        }),
        None => None,
    };
    Ok(InstanceRecord {
        id: f.get("id")?,
        name: f.get("name")?,
        digest: f.get("digest")?,
        pinned: f.get("pinned")?,
        execution: f.u32("execution")?,
        input: f.get("input")?,
        status: f.parse("status", Status::parse)?,
        output: f.get("output")?,
        custom_status: f.get("custom_status")?,
        parent,
        forked_from,
        created_at: f.uint("created_at")?,
        updated_at: f.uint("updated_at")?,
        waiting: f.json_nullable("waiting")?,
    })
}

pub(crate) fn history_event(row: &Row) -> Result<reprise_core::history::HistoryEvent, PgError> {
    let f = Fields::new(row, "history");
    let bytes: &[u8] = f.get("event")?;
    Ok(reprise_core::history::HistoryEvent {
        seq: f.u32("seq")?,
        at: f.uint("at")?,
        event: codec::decode(bytes).map_err(|e| f.corrupt("event", e))?,
    })
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, instance_id, execution, task, kind, name, payload";

pub(crate) fn message(row: &Row) -> Result<Message, PgError> {
    let f = Fields::new(row, "inbox");
    Ok(Message {
        id: f.get("id")?,
        instance_id: f.get("instance_id")?,
        execution: f.u32_nullable("execution")?,
        task: f.u32_nullable("task")?,
        kind: f.parse("kind", MessageKind::parse)?,
        name: f.get("name")?,
        payload: f.get("payload")?,
    })
}

pub(crate) const ACTIVITY_COLUMNS: &str = "id, instance_id, execution, task, name, digest, input, options, attempt, visible_at, last_failure";

pub(crate) fn activity(row: &Row) -> Result<ActivityTask, PgError> {
    let f = Fields::new(row, "activity_tasks");
    Ok(ActivityTask {
        id: f.get("id")?,
        instance_id: f.get("instance_id")?,
        execution: f.u32("execution")?,
        task: f.u32("task")?,
        name: f.get("name")?,
        digest: f.get("digest")?,
        input: f.get("input")?,
        options: f.json("options")?,
        attempt: f.u32("attempt")?,
        visible_at: f.uint("visible_at")?,
        last_failure: f.json_nullable("last_failure")?,
    })
}

pub(crate) fn timer(row: &Row) -> Result<TimerRecord, PgError> {
    let f = Fields::new(row, "timers");
    Ok(TimerRecord {
        instance_id: f.get("instance_id")?,
        execution: f.u32("execution")?,
        task: f.u32("task")?,
        fire_at: f.uint("fire_at")?,
    })
}

pub(crate) fn lease(row: &Row) -> Result<Lease, PgError> {
    let f = Fields::new(row, "leases");
    Ok(Lease {
        name: f.get("name")?,
        owner: f.get("owner")?,
        token: f.uint("token")?,
        expires_at: f.uint("expires_at")?,
    })
}

pub(crate) fn actor(row: &Row) -> Result<ActorRecord, PgError> {
    let f = Fields::new(row, "actors");
    Ok(ActorRecord {
        id: ActorId {
            kind: f.get("kind")?,
            key: f.get("key")?,
        },
        state: f.get("state")?,
        updated_at: f.uint("updated_at")?,
    })
}

pub(crate) fn actor_message(row: &Row) -> Result<ActorMessage, PgError> {
    let f = Fields::new(row, "actor_mailbox");
    Ok(ActorMessage {
        id: f.get("id")?,
        operation: ActorOperation {
            target: ActorId {
                kind: f.get("kind")?,
                key: f.get("key")?,
            },
            operation: f.get("operation")?,
            input: f.get("input")?,
        },
        reply: f.json("reply")?,
        atomic: f.get("atomic")?,
    })
}

/// Reads every row with `read`.
pub(crate) fn all<T>(
    rows: &[Row],
    read: impl Fn(&Row) -> Result<T, PgError>,
) -> Result<Vec<T>, PgError> {
    rows.iter().map(read).collect()
}

/// A request remembered by its idempotency key.
pub(crate) fn remembered_request(row: &Row) -> Result<RememberedRequest, PgError> {
    let f = Fields::new(row, "idempotency");
    Ok(RememberedRequest {
        key: f.get("key")?,
        fingerprint: f.get("fingerprint")?,
        answer: f.get("answer")?,
        call: f.get("call_request")?,
        at: f.uint("created_at")?,
    })
}
