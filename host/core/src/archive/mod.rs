//! A backend-neutral archive of a store: what a backup holds and what moves
//! an installation from one database to another (SQLite to PostgreSQL).
//!
//! An archive holds, table by table ([`TABLES`]), every row that work needs
//! to resume: components and their registrations, instances with their
//! histories and inboxes, pending activities and timers, actors with their
//! mailboxes, multi-actor operations and the outcomes clients still wait
//! for. It leaves out what belongs to one database or one process: compiled
//! code (an engine compiles afresh, once), leases (the target's workers take
//! their own) and the change feed (a worker that starts reads the work
//! itself, not the feed).
//!
//! Rows are plain [`Value`]s in each table's column order, so a backend
//! reads and writes them with one generic statement per table; the stored
//! encodings inside them (a history event's binary codec, JSON text) are
//! the same on every backend. [`file`] is the archive's form on disk: JSON
//! lines with a header that names the tables and columns, and an end line
//! that counts the rows and carries a checksum, so a truncated or damaged
//! archive is refused before anything is committed.

pub mod file;
mod tables;

pub use tables::{Column, Kind, TABLES, Table};

/// One column's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL (only in a nullable column).
    Null,
    /// An integer (times in ms, ids, executions, tasks, attempts).
    Int(i64),
    /// A flag.
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes (a component, an encoded history event).
    Bytes(Vec<u8>),
}

/// One row: its values in the order of its table's columns.
pub type Row = Vec<Value>;

/// What a restore receives, in order: the rows of each table (tables in the
/// order of [`TABLES`], a table's rows possibly in several pieces), then
/// [`Piece::End`] once the whole archive has been read and checked. A
/// restore commits only after `End`, and only if its counts match.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Rows of the table at this index of [`TABLES`].
    Rows {
        /// Index into [`TABLES`].
        table: usize,
        /// The rows.
        rows: Vec<Row>,
    },
    /// The archive was read to its end and its checksum holds: how many
    /// rows of each table it holds.
    End(Counts),
}

/// How many rows of each table, in the order of [`TABLES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub Vec<u64>);

impl Default for Counts {
    fn default() -> Self {
        Counts(vec![0; TABLES.len()])
    }
}

impl Counts {
    /// Counts `rows` more rows of the table at `table`.
    pub fn add(&mut self, table: usize, rows: usize) {
        self.0[table] += rows as u64;
    }

    /// The count of the table named `name`.
    pub fn of(&self, name: &str) -> u64 {
        TABLES
            .iter()
            .position(|table| table.name == name)
            .map_or(0, |index| self.0[index])
    }

    /// Every table with its count, for people: `3 components, 12 instances, …`
    /// (tables without rows left out).
    pub fn summary(&self) -> String {
        let parts: Vec<String> = TABLES
            .iter()
            .zip(&self.0)
            .filter(|(_, count)| **count > 0)
            .map(|(table, count)| format!("{count} {}", table.label))
            .collect();
        if parts.is_empty() {
            "nothing".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// Why an archive cannot be read, or a store refuses to restore one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The input is not a Reprise archive this version can read.
    #[error("not a Reprise archive: {0}")]
    NotAnArchive(String),
    /// The input ends before the archive's end line.
    #[error("the archive is truncated: it ends {0} before its end line")]
    Truncated(String),
    /// A line does not say what the archive's header and format promise,
    /// or the checksum or counts at its end do not hold.
    #[error("the archive is damaged: {0}")]
    Damaged(String),
    /// Reading or writing the bytes failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Rows per piece a backend sends or a reader yields, and the bytes a
/// piece may hold before it is sent anyway (components are large).
pub const PIECE_ROWS: usize = 512;
/// See [`PIECE_ROWS`].
pub const PIECE_BYTES: usize = 4 << 20;

/// The size a row adds to a piece (its texts and bytes).
pub fn row_size(row: &Row) -> usize {
    row.iter()
        .map(|value| match value {
            Value::Text(text) => text.len(),
            Value::Bytes(bytes) => bytes.len(),
            _ => 8,
        })
        .sum()
}
