//! Decoding rows without guessing: a value the store cannot decode (an
//! unknown status, options that are not JSON, a NULL where a value belongs)
//! is an error that names the table, the row's key and the column, never a
//! default that silently changes what the engine does.

use std::fmt::Display;

use rusqlite::types::{FromSql, Value};
use rusqlite::{Row, RowIndex};
use serde::de::DeserializeOwned;

use reprise_core::store::StoreError;

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
        let bytes = value
            .as_bytes_or_null()
            .map_err(|e| self.corrupt(column, e))?
            .unwrap_or_default();
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
