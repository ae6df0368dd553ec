//! An archive on disk: JSON lines.
//!
//! ```text
//! {"archive":"reprise","version":2,"tables":[["components",["digest","bytes","registered_at"]],…]}
//! ["components","3f2a…","AGFzbQ0AAQA…",1767225600000]
//! ["instances","order-1","place_order",…]
//! {"end":{"rows":[["components",2],["registrations",5],…],"sha256":"9c1e…"}}
//! ```
//!
//! The header names the format, its version and every table with its
//! columns; a reader refuses an archive whose tables are not its own. Each
//! row is an array: its table, then its values (bytes in base64). The end
//! line counts the rows of each table and carries the SHA-256 of every byte
//! before it, so an archive cut short has no end line, and one with a byte
//! changed fails its checksum: either is refused before a restore commits.

use std::io::{BufRead, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::ser::{SerializeSeq, Serializer};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::{ArchiveError, Counts, Kind, PIECE_BYTES, PIECE_ROWS, Piece, Row, TABLES, Value};

/// The format's name in the header.
const FORMAT: &str = "reprise";
/// The format's version. A reader refuses other versions: add a new one
/// when the tables change. Version 2 gave atomic requests their turns in
/// the mailboxes (`actor_mailbox.atomic`, `actor_queues`).
pub const VERSION: u64 = 2;

/// Writes an archive: the header at once, then rows, then the end line.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: Hashing<W>,
    counts: Counts,
}

impl<W: Write> Writer<W> {
    /// Starts an archive on `out` (buffer it: rows are written one by one).
    pub fn new(out: W) -> std::io::Result<Self> {
        let mut out = Hashing::new(out);
        let header = json!({"archive": FORMAT, "version": VERSION, "tables": tables_json()});
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        Ok(Self {
            out,
            counts: Counts::default(),
        })
    }

    /// Writes rows of the table at `table` (an index into [`TABLES`]).
    pub fn rows(&mut self, table: usize, rows: &[Row]) -> std::io::Result<()> {
        for row in rows {
            serde_json::to_writer(&mut self.out, &RowLine { table, row })?;
            self.out.write_all(b"\n")?;
        }
        self.counts.add(table, rows.len());
        Ok(())
    }

    /// Writes the end line and flushes: the archive is complete. Returns
    /// the rows written, table by table.
    pub fn finish(mut self) -> std::io::Result<Counts> {
        let digest = hex::encode(self.out.hash.clone().finalize());
        let rows: Vec<Json> = TABLES
            .iter()
            .zip(&self.counts.0)
            .map(|(table, count)| json!([table.name, count]))
            .collect();
        let end = json!({"end": {"rows": rows, "sha256": digest}});
        serde_json::to_writer(&mut self.out, &end)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(self.counts)
    }
}

/// A row as its line: `[table, value, …]`, without copying its values.
struct RowLine<'a> {
    table: usize,
    row: &'a Row,
}

impl serde::Serialize for RowLine<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.row.len() + 1))?;
        seq.serialize_element(TABLES[self.table].name)?;
        for value in self.row {
            match value {
                Value::Null => seq.serialize_element(&())?,
                Value::Int(int) => seq.serialize_element(int)?,
                Value::Bool(flag) => seq.serialize_element(flag)?,
                Value::Text(text) => seq.serialize_element(text)?,
                Value::Bytes(bytes) => seq.serialize_element(&BASE64.encode(bytes))?,
            }
        }
        seq.end()
    }
}

/// Reads an archive piece by piece, checking each line as it goes and the
/// end line's counts and checksum at the end.
#[derive(Debug)]
pub struct Reader<R: BufRead> {
    input: R,
    /// Of every byte read before the end line.
    hash: Sha256,
    /// Lines read so far (the header is line 1).
    line: usize,
    /// The table whose rows came last: tables come in order.
    table: usize,
    counts: Counts,
    /// A line read ahead: the first of the next piece.
    lookahead: Option<Line>,
    ended: bool,
}

/// A line after the header.
#[derive(Debug)]
enum Line {
    Row(usize, Row),
    End(Counts),
}

impl<R: BufRead> Reader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Self, ArchiveError> {
        let not_a_header =
            || ArchiveError::NotAnArchive("its first line is no archive header".into());
        let mut line = Vec::new();
        input.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(ArchiveError::NotAnArchive("the input is empty".into()));
        }
        let header: Json = serde_json::from_slice(&line).map_err(|_| not_a_header())?;
        if header["archive"] != FORMAT {
            return Err(not_a_header());
        }
        if header["version"] != VERSION {
            return Err(ArchiveError::NotAnArchive(format!(
                "it is of version {}, and this Reprise reads version {VERSION}",
                header["version"]
            )));
        }
        if header["tables"] != tables_json() {
            return Err(ArchiveError::NotAnArchive(
                "its tables and columns are not those of this version".into(),
            ));
        }
        let mut hash = Sha256::new();
        hash.update(&line);
        Ok(Self {
            input,
            hash,
            line: 1,
            table: 0,
            counts: Counts::default(),
            lookahead: None,
            ended: false,
        })
    }

    /// The next piece: rows of one table (up to [`PIECE_ROWS`] rows or
    /// [`PIECE_BYTES`] bytes), then [`Piece::End`] once the end line checks
    /// out, then `None`.
    pub fn next_piece(&mut self) -> Result<Option<Piece>, ArchiveError> {
        let first = match self.lookahead.take() {
            Some(line) => line,
            None if self.ended => return Ok(None),
            None => self.next_line()?,
        };
        let (table, row) = match first {
            Line::End(counts) => {
                self.ended = true;
                self.expect_nothing_more()?;
                return Ok(Some(Piece::End(counts)));
            }
            Line::Row(table, row) => (table, row),
        };
        let mut size = super::row_size(&row);
        let mut rows = vec![row];
        while rows.len() < PIECE_ROWS && size < PIECE_BYTES {
            match self.next_line()? {
                Line::Row(next, row) if next == table => {
                    size += super::row_size(&row);
                    rows.push(row);
                }
                other => {
                    self.lookahead = Some(other);
                    break;
                }
            }
        }
        Ok(Some(Piece::Rows { table, rows }))
    }

    fn next_line(&mut self) -> Result<Line, ArchiveError> {
        let mut line = Vec::new();
        self.input.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(ArchiveError::Truncated(format!("after line {}", self.line)));
        }
        self.line += 1;
        if line.last() != Some(&b'\n') {
            return Err(ArchiveError::Truncated(format!(
                "in the middle of line {}",
                self.line
            )));
        }
        if line.first() == Some(&b'{') {
            return self.end_line(&line).map(Line::End);
        }
        self.hash.update(&line);
        let damaged = |why: String| ArchiveError::Damaged(format!("line {}: {why}", self.line));
        let Ok(Json::Array(values)) = serde_json::from_slice::<Json>(&line) else {
            return Err(damaged("it is neither a row nor the end line".into()));
        };
        let mut values = values.into_iter();
        let name = values.next();
        let Some(table) = TABLES
            .iter()
            .position(|table| Some(table.name) == name.as_ref().and_then(Json::as_str))
        else {
            return Err(damaged(format!(
                "no table is named {}",
                name.unwrap_or(Json::Null)
            )));
        };
        if table < self.table {
            return Err(damaged(format!(
                "a row of {} after rows of {}",
                TABLES[table].name, TABLES[self.table].name
            )));
        }
        self.table = table;
        let columns = TABLES[table].columns;
        if values.len() != columns.len() {
            return Err(damaged(format!(
                "a row of {} has {} values, not {}",
                TABLES[table].name,
                values.len(),
                columns.len()
            )));
        }
        let mut row = Vec::with_capacity(columns.len());
        for (column, json) in columns.iter().zip(values) {
            let value = match (column.kind, json) {
                (_, Json::Null) if column.nullable => Some(Value::Null),
                (Kind::Int, Json::Number(number)) => number.as_i64().map(Value::Int),
                (Kind::Bool, Json::Bool(flag)) => Some(Value::Bool(flag)),
                (Kind::Text, Json::String(text)) => Some(Value::Text(text)),
                (Kind::Bytes, Json::String(text)) => BASE64.decode(text).ok().map(Value::Bytes),
                _ => None,
            };
            let Some(value) = value else {
                return Err(damaged(format!(
                    "column {} of {} holds no {}",
                    column.name,
                    TABLES[table].name,
                    kind_name(column.kind, column.nullable)
                )));
            };
            row.push(value);
        }
        self.counts.add(table, 1);
        Ok(Line::Row(table, row))
    }

    /// Checks the end line against what was read: the checksum first (a
    /// changed byte anywhere), then the counts (rows left out whole).
    fn end_line(&mut self, line: &[u8]) -> Result<Counts, ArchiveError> {
        let damaged = |why: &str| ArchiveError::Damaged(format!("line {}: {why}", self.line));
        let end: Json =
            serde_json::from_slice(line).map_err(|_| damaged("a malformed end line"))?;
        let end = &end["end"];
        let digest = hex::encode(self.hash.clone().finalize());
        if end["sha256"] != digest.as_str() {
            return Err(ArchiveError::Damaged(
                "its checksum does not match its contents".into(),
            ));
        }
        let mut counts = Counts::default();
        for (index, table) in TABLES.iter().enumerate() {
            let pair = &end["rows"][index];
            if pair[0] != table.name || !pair[1].is_u64() {
                return Err(damaged("a malformed end line"));
            }
            counts.0[index] = pair[1].as_u64().unwrap_or_default();
        }
        for (index, table) in TABLES.iter().enumerate() {
            if counts.0[index] != self.counts.0[index] {
                return Err(ArchiveError::Damaged(format!(
                    "its end line counts {} {}, and it holds {}",
                    counts.0[index], table.label, self.counts.0[index]
                )));
            }
        }
        Ok(counts)
    }

    fn expect_nothing_more(&mut self) -> Result<(), ArchiveError> {
        if self.input.fill_buf()?.is_empty() {
            Ok(())
        } else {
            Err(ArchiveError::Damaged(format!(
                "line {} follows the end line",
                self.line + 1
            )))
        }
    }
}

/// The header's list of tables with their columns.
fn tables_json() -> Json {
    TABLES
        .iter()
        .map(|table| {
            let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            json!([table.name, columns])
        })
        .collect()
}

fn kind_name(kind: Kind, nullable: bool) -> &'static str {
    match (kind, nullable) {
        (Kind::Int, false) => "integer",
        (Kind::Int, true) => "integer or null",
        (Kind::Bool, _) => "flag",
        (Kind::Text, false) => "text",
        (Kind::Text, true) => "text or null",
        (Kind::Bytes, _) => "base64 bytes",
    }
}

/// A writer that hashes what passes through it.
#[derive(Debug)]
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hash: Sha256::new(),
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hash.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests;
