//! `reprise backup`, `reprise export` and `reprise import`: a copy of a
//! running installation, and moving one to another database.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use reprise_sqlite::SqliteStore;

use super::GlobalArgs;
use crate::database::Database;

/// Take a consistent copy of the database while workers run. Of a SQLite
/// file, the copy is a SQLite file to run as it is (`--db FILE`); of
/// PostgreSQL, it is an archive of one snapshot, which `reprise import`
/// restores. FILE must not exist.
#[derive(Debug, clap::Args)]
pub(crate) struct BackupArgs {
    /// Where the copy goes.
    file: PathBuf,
}

impl BackupArgs {
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        refuse_existing(&self.file)?;
        match &global.db {
            Database::Sqlite(path) => {
                if !path.exists() {
                    bail!("there is no database at {}", path.display());
                }
                let store = SqliteStore::open(path)?;
                store
                    .backup_into(&self.file)
                    .await
                    .with_context(|| format!("cannot back up {}", global.db))?;
                let copy = SqliteStore::open(&self.file)?;
                let counts = reprise::store::Store::counts(&copy).await?;
                let instances: u64 = counts.instances.iter().map(|(_, n)| n).sum();
                println!(
                    "backed up {} to {}: {instances} instance(s); run it with `reprise --db {} worker`",
                    global.db,
                    self.file.display(),
                    self.file.display()
                );
            }
            Database::Postgres(_) => {
                let counts = export_to_new_file(global, &self.file).await?;
                println!(
                    "backed up {} to {}: {}; restore it with `reprise --db DATABASE import {}`",
                    global.db,
                    self.file.display(),
                    counts.summary(),
                    self.file.display()
                );
            }
        }
        Ok(())
    }
}

/// Write an archive of every component, registration, instance (with its
/// history and inbox), pending activity, timer and actor (with its
/// mailbox), from one snapshot while workers run, to standard output or a
/// new file. `reprise --db OLD export | reprise --db NEW import` moves an
/// installation: stop the old workers first, start the new ones after.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Write to this new file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl ExportArgs {
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        let counts = match &self.output {
            Some(file) => {
                refuse_existing(file)?;
                export_to_new_file(global, file).await?
            }
            None => {
                let runtime = global.runtime().await?;
                let out = BufWriter::new(std::io::stdout());
                runtime
                    .export(out)
                    .await
                    .with_context(|| format!("cannot export {}", global.db))?
            }
        };
        // Standard output may be the archive: the summary goes to stderr.
        eprintln!("exported {} from {}", counts.summary(), global.db);
        Ok(())
    }
}

/// Restore an archive (`reprise export`, or a backup of PostgreSQL) into
/// an empty database, all of it or nothing: a truncated or damaged archive,
/// a database that holds anything, or one whose worker is running, is
/// refused and left as it was.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The archive; standard input when absent or `-`.
    file: Option<PathBuf>,
}

impl ImportArgs {
    pub(crate) async fn execute(self, global: &GlobalArgs) -> anyhow::Result<()> {
        // The archive is opened before the database, so that a name that is
        // wrong creates no database file.
        let input: Box<dyn Read + Send> = match self.file.as_deref() {
            None => Box::new(std::io::stdin()),
            Some(path) if path == Path::new("-") => Box::new(std::io::stdin()),
            Some(path) => Box::new(
                File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
            ),
        };
        let new_file = match &global.db {
            Database::Sqlite(path) if !path.exists() => Some(path.clone()),
            _ => None,
        };
        let runtime = global.runtime().await?;
        let imported = runtime.import(BufReader::new(input)).await;
        drop(runtime);
        match imported {
            Ok(counts) => {
                println!("imported {} into {}", counts.summary(), global.db);
                Ok(())
            }
            Err(refused) => {
                // Nothing was imported: a SQLite file made for the import
                // goes too, so that the command leaves no trace.
                if let Some(path) = new_file {
                    remove_sqlite_files(&path);
                }
                Err(refused).with_context(|| format!("cannot import into {}", global.db))
            }
        }
    }
}

/// Removes a SQLite database and the journal files beside it.
fn remove_sqlite_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // Best effort: the import's own error is the one to report.
        let _ = std::fs::remove_file(name);
    }
}

fn refuse_existing(file: &Path) -> anyhow::Result<()> {
    if file.exists() {
        bail!("{} exists: the copy goes to a new file", file.display());
    }
    Ok(())
}

/// Exports into `file`, created new; a failed export leaves no file.
async fn export_to_new_file(
    global: &GlobalArgs,
    file: &Path,
) -> anyhow::Result<reprise::archive::Counts> {
    let runtime = global.runtime().await?;
    let out =
        File::create_new(file).with_context(|| format!("cannot create {}", file.display()))?;
    let exported = runtime.export(SyncOnFinish(BufWriter::new(out))).await;
    if exported.is_err() {
        let _ = std::fs::remove_file(file);
    }
    exported.with_context(|| format!("cannot export {}", global.db))
}

/// A file that reaches the disk when the archive is flushed at its end: a
/// backup is durable once the command says so.
struct SyncOnFinish(BufWriter<File>);

impl Write for SyncOnFinish {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()?;
        self.0.get_ref().sync_all()
    }
}
