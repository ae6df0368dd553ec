//! Export and import ([`reprise_core::archive`]) with one generic statement
//! per table, and the online backup (`VACUUM INTO`).

use std::path::Path;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, TransactionBehavior};
use tokio::sync::mpsc;

use reprise_core::archive::{
    Column, Counts, Kind, PIECE_BYTES, PIECE_ROWS, Piece, TABLES, Value, row_size,
};
use reprise_core::store::StoreError;
use reprise_store_rules::archive::{
    Received, ended_early, refuse_held_leases, refuse_unless_empty,
};

use crate::row::{SqliteError, read_lease};
use crate::schema::{self, Durability};

/// Sends every archived row to `out`, table by table, inside one read
/// transaction: WAL keeps its snapshot while the writer goes on.
pub(crate) fn export(conn: &Connection, out: &mpsc::Sender<Piece>) -> Result<Counts, SqliteError> {
    let tx = conn.unchecked_transaction()?;
    let mut counts = Counts::default();
    for (index, table) in TABLES.iter().enumerate() {
        let mut stmt = tx.prepare(&format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.column_list(),
            table.name,
            table.order_by
        ))?;
        let mut rows = stmt.query([])?;
        let mut piece = Vec::new();
        let mut size = 0;
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(table.columns.len());
            for (at, column) in table.columns.iter().enumerate() {
                values.push(value(
                    row.get_ref(at)?,
                    column,
                    table.name,
                    counts.0[index],
                )?);
            }
            size += row_size(&values);
            piece.push(values);
            counts.add(index, 1);
            if piece.len() >= PIECE_ROWS || size >= PIECE_BYTES {
                send(out, index, std::mem::take(&mut piece))?;
                size = 0;
            }
        }
        if !piece.is_empty() {
            send(out, index, piece)?;
        }
    }
    tx.finish()?;
    Ok(counts)
}

fn send(out: &mpsc::Sender<Piece>, table: usize, rows: Vec<Vec<Value>>) -> Result<(), SqliteError> {
    // A reader thread, not the async runtime's: blocking here is its job.
    out.blocking_send(Piece::Rows { table, rows })
        .map_err(|_| SqliteError::Store(StoreError::Closed))
}

/// A stored value as its column's kind. Bytes may be TEXT: history events
/// written as JSON before the binary codec.
fn value(
    raw: ValueRef<'_>,
    column: &Column,
    table: &'static str,
    row: u64,
) -> Result<Value, SqliteError> {
    let value = match (column.kind, raw) {
        (_, ValueRef::Null) if column.nullable => Some(Value::Null),
        (Kind::Int, ValueRef::Integer(int)) => Some(Value::Int(int)),
        (Kind::Bool, ValueRef::Integer(int)) => Some(Value::Bool(int != 0)),
        (Kind::Text, ValueRef::Text(text)) => {
            String::from_utf8(text.to_vec()).ok().map(Value::Text)
        }
        (Kind::Bytes, ValueRef::Blob(bytes) | ValueRef::Text(bytes)) => {
            Some(Value::Bytes(bytes.to_vec()))
        }
        _ => None,
    };
    value.ok_or_else(|| {
        SqliteError::Store(StoreError::Corrupt {
            table,
            key: format!("row {}", row + 1),
            why: format!(
                "column {} holds a value of another type ({:?})",
                column.name,
                raw.data_type()
            ),
        })
    })
}

/// Restores what arrives on `input` into the database at `path`, on a
/// connection of its own, in one immediate transaction: checked empty and
/// unleased first, committed only at the archive's end.
pub(crate) fn import(
    path: &Path,
    mut input: mpsc::Receiver<Piece>,
    now: u64,
) -> Result<Counts, SqliteError> {
    let mut conn = Connection::open(path)?;
    schema::configure(&conn, Durability::Full)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut held = Counts::default();
    for (index, table) in TABLES.iter().enumerate() {
        let count: i64 =
            tx.query_row(&format!("SELECT count(*) FROM {}", table.name), [], |row| {
                row.get(0)
            })?;
        held.0[index] = count as u64;
    }
    refuse_unless_empty(&held)?;
    let leases = tx
        .prepare("SELECT name, owner, token, expires_at FROM leases")?
        .query_map([], read_lease)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    refuse_held_leases(&leases, now)?;

    let mut received = Received::default();
    // Blocking receives: this is the import's own thread.
    while let Some(piece) = input.blocking_recv() {
        match piece {
            Piece::Rows { table, rows } => {
                received.rows(table, rows.len())?;
                let table = &TABLES[table];
                let placeholders: Vec<String> =
                    (1..=table.columns.len()).map(|n| format!("?{n}")).collect();
                let mut insert = tx.prepare_cached(&format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    table.column_list(),
                    placeholders.join(", ")
                ))?;
                for row in &rows {
                    insert.execute(rusqlite::params_from_iter(row.iter().map(Sql)))?;
                }
            }
            Piece::End(declared) => {
                // AUTOINCREMENT keeps its counter past the highest id
                // inserted, so new rows are numbered after these.
                let counts = received.end(&declared)?;
                tx.commit()?;
                return Ok(counts);
            }
        }
    }
    Err(ended_early().into())
}

/// A value as an SQL parameter.
struct Sql<'a>(&'a Value);

impl ToSql for Sql<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(int) => ValueRef::Integer(*int),
            Value::Bool(flag) => ValueRef::Integer(i64::from(*flag)),
            Value::Text(text) => ValueRef::Text(text.as_bytes()),
            Value::Bytes(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

/// Writes a consistent copy of the whole database to a new file at `to`
/// while the writer goes on: a database that opens as it is.
pub(crate) fn backup(conn: &Connection, to: &Path) -> Result<(), SqliteError> {
    if to.exists() {
        return Err(SqliteError::Store(StoreError::Conflict(format!(
            "{} exists: a backup goes to a new file",
            to.display()
        ))));
    }
    let to = to.to_str().ok_or_else(|| {
        SqliteError::Store(StoreError::Conflict(format!(
            "{} is not a UTF-8 path",
            to.display()
        )))
    })?;
    conn.execute("VACUUM INTO ?1", [to])?;
    Ok(())
}
