//! Export and import ([`reprise_core::archive`]) on connections of their
//! own: the export in one repeatable-read snapshot, read through a portal
//! a few rows at a time; the import in one transaction that locks the
//! archived tables, with each piece sent by binary `COPY`.

use std::pin::pin;

use tokio::sync::mpsc;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{IsolationLevel, Row};

use reprise_core::archive::{
    Column, Counts, Kind, PIECE_BYTES, PIECE_ROWS, Piece, TABLES, Value, row_size,
};
use reprise_core::store::StoreError;
use reprise_store_rules::archive::{
    Received, ended_early, refuse_held_leases, refuse_unless_empty,
};

use crate::Connector;
use crate::row::{self, PgError};

/// Rows fetched from a portal at a time: components are large, so a
/// piece is cut by bytes as well.
const FETCH: i32 = 256;

/// Sends every archived row to `out`, table by table, from one snapshot
/// (`REPEATABLE READ`): other handles go on committing meanwhile.
pub(crate) async fn export(
    connect: &Connector,
    out: mpsc::Sender<Piece>,
) -> Result<Counts, PgError> {
    let mut client = connect().await?;
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    // The snapshot may wait on a slow reader of the archive: it holds no
    // row locks, so the idle limit that frees locks does not apply.
    tx.batch_execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        .await?;
    let mut counts = Counts::default();
    for (index, table) in TABLES.iter().enumerate() {
        let select = tx
            .prepare(&format!(
                "SELECT {} FROM {} ORDER BY {}",
                table.column_list(),
                table.name,
                table.order_by
            ))
            .await?;
        let portal = tx.bind(&select, &[]).await?;
        let mut piece = Vec::new();
        let mut size = 0;
        loop {
            let rows = tx.query_portal(&portal, FETCH).await?;
            let fetched = rows.len();
            for row in rows {
                let values = table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(at, column)| value(&row, at, column, table.name))
                    .collect::<Result<Vec<_>, _>>()?;
                size += row_size(&values);
                piece.push(values);
                counts.add(index, 1);
                if piece.len() >= PIECE_ROWS || size >= PIECE_BYTES {
                    send(&out, index, std::mem::take(&mut piece)).await?;
                    size = 0;
                }
            }
            if fetched < FETCH as usize {
                break;
            }
        }
        if !piece.is_empty() {
            send(&out, index, piece).await?;
        }
    }
    tx.commit().await?;
    Ok(counts)
}

async fn send(
    out: &mpsc::Sender<Piece>,
    table: usize,
    rows: Vec<Vec<Value>>,
) -> Result<(), PgError> {
    out.send(Piece::Rows { table, rows })
        .await
        .map_err(|_| PgError::Store(StoreError::Closed))
}

fn value(row: &Row, at: usize, column: &Column, table: &'static str) -> Result<Value, PgError> {
    let corrupt = |why: String| {
        PgError::Store(StoreError::Corrupt {
            table,
            key: "?".into(),
            why: format!("column {}: {why}", column.name),
        })
    };
    let value = match column.kind {
        Kind::Int => row.try_get::<_, Option<i64>>(at).map(|v| v.map(Value::Int)),
        Kind::Bool => row
            .try_get::<_, Option<bool>>(at)
            .map(|v| v.map(Value::Bool)),
        Kind::Text => row
            .try_get::<_, Option<String>>(at)
            .map(|v| v.map(Value::Text)),
        Kind::Bytes => row
            .try_get::<_, Option<Vec<u8>>>(at)
            .map(|v| v.map(Value::Bytes)),
    }
    .map_err(|e| corrupt(row::describe(&e)))?;
    match value {
        Some(value) => Ok(value),
        None if column.nullable => Ok(Value::Null),
        None => Err(corrupt("NULL in a column that holds a value".into())),
    }
}

/// Restores what arrives on `input`, in one transaction on a connection of
/// its own that first locks every archived table and the leases against
/// other writers (readers go on), then checks that they are empty and
/// unleased.
pub(crate) async fn import(
    connect: &Connector,
    mut input: mpsc::Receiver<Piece>,
    now: u64,
) -> Result<Counts, PgError> {
    let mut client = connect().await?;
    let tx = client.transaction().await?;
    let tables: Vec<&str> = TABLES.iter().map(|table| table.name).collect();
    // The archive may arrive slowly (a pipe from another export): the
    // locks are meant to be held that long.
    tx.batch_execute(&format!(
        "SET LOCAL idle_in_transaction_session_timeout = 0;
         LOCK TABLE {}, leases IN EXCLUSIVE MODE",
        tables.join(", ")
    ))
    .await?;
    let mut held = Counts::default();
    for (index, table) in TABLES.iter().enumerate() {
        let count: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])
            .await?
            .get(0);
        held.0[index] = count as u64;
    }
    refuse_unless_empty(&held)?;
    let leases = tx
        .query("SELECT name, owner, token, expires_at FROM leases", &[])
        .await?;
    refuse_held_leases(&row::all(&leases, row::lease)?, now)?;

    let mut received = Received::default();
    while let Some(piece) = input.recv().await {
        match piece {
            Piece::Rows { table, rows } => {
                received.rows(table, rows.len())?;
                copy(&tx, table, &rows).await?;
            }
            Piece::End(declared) => {
                let counts = received.end(&declared)?;
                // Serial columns go on after the restored rows.
                for table in TABLES {
                    if let Some(serial) = table.serial {
                        tx.execute(
                            &format!(
                                "SELECT setval(pg_get_serial_sequence('{0}', '{1}'), \
                                 COALESCE(max({1}), 0) + 1, false) FROM {0}",
                                table.name, serial
                            ),
                            &[],
                        )
                        .await?;
                    }
                }
                tx.commit().await?;
                return Ok(counts);
            }
        }
    }
    Err(PgError::Store(ended_early()))
}

/// One piece of rows into its table by binary `COPY`.
async fn copy(
    tx: &tokio_postgres::Transaction<'_>,
    table: usize,
    rows: &[Vec<Value>],
) -> Result<(), PgError> {
    let table = &TABLES[table];
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({}) FROM STDIN BINARY",
            table.name,
            table.column_list()
        ))
        .await?;
    let types: Vec<Type> = table.columns.iter().map(|c| sql_type(c.kind)).collect();
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
    for row in rows {
        let params: Vec<&(dyn ToSql + Sync)> = table
            .columns
            .iter()
            .zip(row)
            .map(|(column, value)| param(column.kind, value))
            .collect();
        writer.as_mut().write(&params).await?;
    }
    writer.finish().await?;
    Ok(())
}

fn sql_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Bool => Type::BOOL,
        Kind::Text => Type::TEXT,
        Kind::Bytes => Type::BYTEA,
    }
}

/// A value as a parameter of its column's type (a NULL typed too).
fn param(kind: Kind, value: &Value) -> &(dyn ToSql + Sync) {
    const NO_INT: Option<i64> = None;
    const NO_BOOL: Option<bool> = None;
    const NO_TEXT: Option<String> = None;
    const NO_BYTES: Option<Vec<u8>> = None;
    match (value, kind) {
        (Value::Int(int), _) => int,
        (Value::Bool(flag), _) => flag,
        (Value::Text(text), _) => text,
        (Value::Bytes(bytes), _) => bytes,
        (Value::Null, Kind::Int) => &NO_INT,
        (Value::Null, Kind::Bool) => &NO_BOOL,
        (Value::Null, Kind::Text) => &NO_TEXT,
        (Value::Null, Kind::Bytes) => &NO_BYTES,
    }
}
