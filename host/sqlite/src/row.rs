//! Decoding rows without guessing: a value the store cannot decode (an
//! unknown status, options that are not JSON, a NULL where a value belongs)
//! is an error that names the table, the row's key and the column, never a
//! default that silently changes what the engine does. Below the tools,
//! the readers of each record from its row.

use std::fmt::Display;

use rusqlite::types::{FromSql, Value};
use rusqlite::{Row, RowIndex};
use serde::de::DeserializeOwned;

use reprise_core::store::{
    ActivityTask, ActorId, ActorRecord, InstanceRecord, Lease, Lineage, Message, MessageKind,
    ParentRef, Status, StoreError, TimerRecord,
};
use reprise_store_rules::verdict::InstanceState;

/// Why a stored row is unusable; carried through rusqlite's error type
/// and turned into [`StoreError::Corrupt`].
#[derive(Debug, thiserror::Error)]
#[error("{why}")]
pub(crate) struct CorruptRow {
    table: &'static str,
    key: String,
    why: String,
}

impl From<CorruptRow> for StoreError {
    fn from(row: CorruptRow) -> Self {
        StoreError::Corrupt {
            table: row.table,
            key: row.key,
            why: row.why,
        }
    }
}

/// An error inside this store: SQLite's own, or one the store raises (a
/// failed precondition, a corrupt row). It becomes a [`StoreError`] where a
/// result leaves the store.
#[derive(Debug)]
pub(crate) enum SqliteError {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for SqliteError {
    fn from(error: rusqlite::Error) -> Self {
        match take_corrupt(error) {
            Ok(row) => SqliteError::Store(row.into()),
            Err(error) => SqliteError::Sql(error),
        }
    }
}

impl From<StoreError> for SqliteError {
    fn from(error: StoreError) -> Self {
        SqliteError::Store(error)
    }
}

impl From<SqliteError> for StoreError {
    fn from(failure: SqliteError) -> Self {
        match failure {
            SqliteError::Sql(error) => StoreError::Database(error.to_string()),
            SqliteError::Store(error) => error,
        }
    }
}

/// A row of `table` whose key lies in `key_columns`, so every column read
/// from it can say where it came from. The key is read only when something
/// is wrong: reading it for every row would tax replay, which reads many.
pub(crate) struct Fields<'a, 'r> {
    row: &'a Row<'r>,
    table: &'static str,
    key_columns: &'static [&'static str],
}

impl<'a, 'r> Fields<'a, 'r> {
    /// The row, keyed by the values of `key_columns` (joined with `/`).
    pub(crate) fn new(
        row: &'a Row<'r>,
        table: &'static str,
        key_columns: &'static [&'static str],
    ) -> Self {
        Self {
            row,
            table,
            key_columns,
        }
    }

    fn key(&self) -> String {
        let parts: Vec<String> = self
            .key_columns
            .iter()
            .map(|column| match self.row.get::<_, Value>(*column) {
                Ok(Value::Integer(n)) => n.to_string(),
                Ok(Value::Text(text)) => text,
                Ok(other) => format!("{other:?}"),
                Err(_) => "?".into(),
            })
            .collect();
        parts.join("/")
    }

    /// A column's value, of the column's declared type.
    pub(crate) fn get<T: FromSql>(&self, column: impl Column) -> rusqlite::Result<T> {
        self.row
            .get(column)
            .map_err(|e| self.corrupt(column, one_line(&e)))
    }

    /// A text column parsed by `parse`; text it does not know is corrupt.
    pub(crate) fn parse<T>(
        &self,
        column: impl Column,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> rusqlite::Result<T> {
        let text: String = self.get(column)?;
        parse(&text).ok_or_else(|| self.corrupt(column, format!("unknown value {text:?}")))
    }

    /// A nullable text column parsed by `parse`.
    pub(crate) fn parse_nullable<T>(
        &self,
        column: impl Column,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> rusqlite::Result<Option<T>> {
        let text: Option<String> = self.get(column)?;
        text.map(|text| {
            parse(&text).ok_or_else(|| self.corrupt(column, format!("unknown value {text:?}")))
        })
        .transpose()
    }

    /// A text column holding JSON of `T`.
    pub(crate) fn json<T: DeserializeOwned>(&self, column: impl Column) -> rusqlite::Result<T> {
        let text: String = self.get(column)?;
        serde_json::from_str(&text).map_err(|e| self.corrupt(column, e))
    }

    /// A nullable text column holding JSON of `T`.
    pub(crate) fn json_nullable<T: DeserializeOwned>(
        &self,
        column: impl Column,
    ) -> rusqlite::Result<Option<T>> {
        let text: Option<String> = self.get(column)?;
        text.map(|text| serde_json::from_str(&text).map_err(|e| self.corrupt(column, e)))
            .transpose()
    }

    /// A blob column decoded by `decode`.
    pub(crate) fn decode<T, E: Display>(
        &self,
        column: impl Column,
        decode: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> rusqlite::Result<T> {
        let value = self.row.get_ref(column)?;
        // NULL is no value, not an empty one: corrupt, like any other.
        let bytes = value.as_bytes().map_err(|e| self.corrupt(column, e))?;
        decode(bytes).map_err(|e| self.corrupt(column, e))
    }

    /// The error for a column whose value makes no sense.
    pub(crate) fn corrupt(&self, column: impl Column, why: impl Display) -> rusqlite::Error {
        let row = CorruptRow {
            table: self.table,
            key: self.key(),
            why: format!("column {}: {why}", column.name(self.row)),
        };
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Null, Box::new(row))
    }
}

// Each record from its row: the readers the Store's reads and the writer's
// checks share.

pub(crate) fn read_instance(row: &Row<'_>) -> rusqlite::Result<InstanceRecord> {
    let f = Fields::new(row, "instances", &["id"]);
    let parent_id: Option<String> = f.get("parent_id")?;
    let parent = match parent_id {
        Some(instance_id) => Some(ParentRef {
            instance_id,
            execution: f.get("parent_execution")?,
            task: f.get("parent_task")?,
        }),
        None => None,
    };
    let forked_from = match f.get::<Option<String>>("forked_from_id")? {
        Some(instance_id) => Some(Lineage {
            instance_id,
            execution: f.get("forked_from_execution")?,
            event: f.get("forked_from_event")?,
        }),
        None => None,
    };
    Ok(InstanceRecord {
        id: f.get("id")?,
        name: f.get("name")?,
        digest: f.get("digest")?,
        pinned: f.get("pinned")?,
        execution: f.get("execution")?,
        input: f.get("input")?,
        status: f.parse("status", Status::parse)?,
        output: f.get("output")?,
        custom_status: f.get("custom_status")?,
        parent,
        forked_from,
        created_at: f.get("created_at")?,
        updated_at: f.get("updated_at")?,
        waiting: f.json_nullable("waiting")?,
    })
}

// Columns are read by index where rows are read by the thousand (the scans
// of inboxes, activities and mailboxes): finding a column by name compares
// it with every column's, a cost that shows in throughput. The readers
// below take the columns in the order these statements select them.

pub(crate) const INBOX_OF_INSTANCE: &str =
    "SELECT id, instance_id, execution, task, kind, name, payload
    FROM inbox WHERE instance_id = ?1 ORDER BY id";
pub(crate) const DUE_ACTIVITIES: &str =
    "SELECT id, instance_id, execution, task, name, digest, input,
    options, attempt, visible_at, last_failure FROM activity_tasks
    WHERE visible_at BETWEEN ?1 AND ?2 ORDER BY visible_at, id LIMIT ?3";
pub(crate) const ACTIVITIES_OF_EXECUTION: &str =
    "SELECT id, instance_id, execution, task, name, digest,
    input, options, attempt, visible_at, last_failure FROM activity_tasks
    WHERE instance_id = ?1 AND execution = ?2 ORDER BY task";

pub(crate) fn read_message(row: &Row<'_>) -> rusqlite::Result<Message> {
    message_at(&Fields::new(row, "inbox", &["id"]), 0)
}

/// A message whose columns, in [`INBOX_OF_INSTANCE`]'s order, start at
/// column `first`.
pub(crate) fn message_at(f: &Fields<'_, '_>, first: usize) -> rusqlite::Result<Message> {
    Ok(Message {
        id: f.get(first)?,
        instance_id: f.get(first + 1)?,
        execution: f.get(first + 2)?,
        task: f.get(first + 3)?,
        kind: f.parse(first + 4, MessageKind::parse)?,
        name: f.get(first + 5)?,
        payload: f.get(first + 6)?,
    })
}

pub(crate) fn read_activity(row: &Row<'_>) -> rusqlite::Result<ActivityTask> {
    let f = Fields::new(row, "activity_tasks", &["id"]);
    Ok(ActivityTask {
        id: f.get(0)?,
        instance_id: f.get(1)?,
        execution: f.get(2)?,
        task: f.get(3)?,
        name: f.get(4)?,
        digest: f.get(5)?,
        input: f.get(6)?,
        options: f.json(7)?,
        attempt: f.get(8)?,
        visible_at: f.get(9)?,
        last_failure: f.json_nullable(10)?,
    })
}

pub(crate) fn read_timer(row: &Row<'_>) -> rusqlite::Result<TimerRecord> {
    let f = Fields::new(row, "timers", &["instance_id", "execution", "task"]);
    Ok(TimerRecord {
        instance_id: f.get("instance_id")?,
        execution: f.get("execution")?,
        task: f.get("task")?,
        fire_at: f.get("fire_at")?,
    })
}

pub(crate) fn read_actor(row: &Row<'_>) -> rusqlite::Result<ActorRecord> {
    let f = Fields::new(row, "actors", &["kind", "key"]);
    Ok(ActorRecord {
        id: ActorId {
            kind: f.get("kind")?,
            key: f.get("key")?,
        },
        state: f.get("state")?,
        updated_at: f.get("updated_at")?,
    })
}

pub(crate) fn read_lease(row: &Row<'_>) -> rusqlite::Result<Lease> {
    let f = Fields::new(row, "leases", &["name"]);
    Ok(Lease {
        name: f.get("name")?,
        owner: f.get("owner")?,
        token: f.get("token")?,
        expires_at: f.get("expires_at")?,
    })
}

/// An instance's status, execution and code, from `id, status,
/// execution, digest`.
pub(crate) fn read_instance_state(row: &Row<'_>) -> rusqlite::Result<InstanceState> {
    let f = Fields::new(row, "instances", &["id"]);
    Ok(InstanceState {
        status: f.parse("status", Status::parse)?,
        execution: f.get("execution")?,
        digest: f.get("digest")?,
    })
}

/// A column by name, or by index where rows are read on a hot path (replay
/// reads whole histories): rusqlite finds a name by comparing it with every
/// column's.
pub(crate) trait Column: RowIndex + Copy {
    /// The column's name, for an error message.
    fn name(self, row: &Row<'_>) -> String;
}

impl Column for &str {
    fn name(self, _row: &Row<'_>) -> String {
        self.to_owned()
    }
}

impl Column for usize {
    fn name(self, row: &Row<'_>) -> String {
        row.as_ref()
            .column_name(self)
            .map_or_else(|_| format!("#{self}"), str::to_owned)
    }
}

/// rusqlite's messages for a wrong type name the column by index only.
fn one_line(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::InvalidColumnType(_, _, found) => format!("unexpected {found} value"),
        rusqlite::Error::IntegralValueOutOfRange(_, value) => format!("{value} is out of range"),
        other => other.to_string(),
    }
}

/// The [`CorruptRow`] inside a rusqlite error, if that is what it carries.
fn take_corrupt(error: rusqlite::Error) -> Result<CorruptRow, rusqlite::Error> {
    match error {
        rusqlite::Error::FromSqlConversionFailure(index, ty, inner) => {
            match inner.downcast::<CorruptRow>() {
                Ok(row) => Ok(*row),
                Err(inner) => Err(rusqlite::Error::FromSqlConversionFailure(index, ty, inner)),
            }
        }
        other => Err(other),
    }
}
