//! Reader threads: each owns a connection and runs the reads queued to it,
//! so SQLite's blocking calls never run on the async caller's thread.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::row::SqliteError;
use crate::schema::{self, Durability};
use reprise_core::store::StoreError;

/// A read: runs on a reader thread with that thread's connection.
type Job = Box<dyn FnOnce(&Connection) + Send>;

/// A pool of reader threads. They stop when it is dropped.
#[derive(Debug)]
pub(crate) struct Readers {
    jobs: mpsc::Sender<Job>,
}

impl Readers {
    /// Opens `count` connections to the database at `path`, each on a thread
    /// of its own.
    pub(crate) fn open(
        path: &Path,
        durability: Durability,
        count: usize,
    ) -> Result<Self, SqliteError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..count {
            let conn = Connection::open(path)?;
            schema::configure(&conn, durability)?;
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("reprise-sqlite-reader-{index}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A read that panics drops its reply (its caller
                            // gets `Closed`); the thread goes on serving.
                            Ok(job) => {
                                let run = std::panic::AssertUnwindSafe(|| job(&conn));
                                let _ = std::panic::catch_unwind(run);
                            }
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })
                .map_err(|e| SqliteError::Store(StoreError::Database(e.to_string())))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `read` on a reader thread and waits for its result.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(read(conn));
        });
        self.jobs.send(job).map_err(|_| StoreError::Closed)?;
        match result.await {
            Ok(result) => result.map_err(|e| SqliteError::from(e).into()),
            // The reader thread panicked mid-read.
            Err(_) => Err(StoreError::Closed),
        }
    }
}
