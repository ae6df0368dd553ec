//! Backups and moves: the store's rows written as an archive
//! ([`crate::archive::file`]) and an archive restored into an empty store.
//! The store reads or writes on its side of a channel; the file's bytes are
//! written or read on a blocking thread, so neither stalls the other.

use std::io::{BufRead, Write};

use tokio::sync::mpsc;

use super::Runtime;
use crate::archive::file::{Reader, Writer};
use crate::archive::{ArchiveError, Counts, Piece};
use crate::error::Error;

/// Pieces in flight between the store and the file.
const IN_FLIGHT: usize = 4;

impl Runtime {
    /// Writes an archive of everything the store holds that work needs to
    /// resume (see [`crate::archive`]) to `out`, from one snapshot, while
    /// workers go on. Returns the rows written, by table.
    pub async fn export(&self, out: impl Write + Send + 'static) -> Result<Counts, Error> {
        let (pieces, mut incoming) = mpsc::channel(IN_FLIGHT);
        let writing = tokio::task::spawn_blocking(move || -> Result<Counts, ArchiveError> {
            let mut writer = Writer::new(out)?;
            while let Some(piece) = incoming.blocking_recv() {
                if let Piece::Rows { table, rows } = piece {
                    writer.rows(table, &rows)?;
                }
            }
            Ok(writer.finish()?)
        });
        let exported = self.shared.store.export(pieces).await;
        let written = writing.await.map_err(|e| Error::Internal(e.to_string()))?;
        // A write that failed closed the channel: its error says why.
        let written = written.map_err(archive_error)?;
        let exported = exported?;
        if written != exported {
            return Err(Error::Internal(format!(
                "the store exported {}, and {} were written",
                exported.summary(),
                written.summary()
            )));
        }
        Ok(written)
    }

    /// Restores the archive read from `input` into the store, which must
    /// be empty and unleased: all of it in one transaction, or nothing if
    /// the archive is truncated or damaged (refused with what is wrong).
    /// Start workers on the store afterwards. Returns the rows restored.
    pub async fn import(&self, input: impl BufRead + Send + 'static) -> Result<Counts, Error> {
        let (pieces, incoming) = mpsc::channel(IN_FLIGHT);
        let reading = tokio::task::spawn_blocking(move || -> Result<(), ArchiveError> {
            let mut reader = Reader::new(input)?;
            while let Some(piece) = reader.next_piece()? {
                if pieces.blocking_send(piece).is_err() {
                    // The store refused: its error says why.
                    break;
                }
            }
            Ok(())
        });
        let imported = self
            .shared
            .store
            .import(incoming, self.shared.now_ms())
            .await;
        let read = reading.await.map_err(|e| Error::Internal(e.to_string()))?;
        match (read, imported) {
            (_, Ok(counts)) => Ok(counts),
            // What the archive lacks explains why the store saw it end early.
            (Err(error), Err(_)) => Err(archive_error(error)),
            (Ok(()), Err(error)) => Err(error.into()),
        }
    }
}

fn archive_error(error: ArchiveError) -> Error {
    match error {
        ArchiveError::Io(error) => Error::Internal(format!("cannot write the archive: {error}")),
        other => Error::InvalidInput(other.to_string()),
    }
}
