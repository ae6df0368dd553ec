//! The activity dispatcher: runs activity tasks at least once, with
//! retries and backoff, and records each final result once.
//!
//! The dispatcher picks due tasks from the store; a task stays in the store
//! until its final result commits, so a crash mid-attempt means it runs
//! again after restart. A final result goes straight to its instance when
//! that is hot here, which commits it with its next episode; otherwise to
//! the instance's inbox.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::Instrument;

use super::Shared;
use super::ownership::{PARTITIONS, Tenure, Unit};
use crate::roles::activity::{self, ActivityResult};
use crate::store::{ActivityTask, Op};
use crate::wasm::guest_log;

/// Which task attempts this worker has taken on, so none runs twice at once
/// or again after it finished (its result committed or handed to its
/// instance, or its retry committed as the next attempt).
///
/// A task reaches the dispatcher two ways: handed over by the commit that
/// scheduled it, and found by a scan of the store (a retry that became due,
/// or, in the full scan at start and now and then after, any task left by a
/// crash or scheduled by another process). A scan may return a row that
/// finished while the scan was reading, or whose result its instance has not
/// yet committed (that instance's next episode does, moments later), so
/// finished tasks are remembered until a scan that started after they
/// finished has come back, and for at least ten seconds.
#[derive(Default)]
struct Claims {
    running: HashSet<Attempt>,
    /// Finished attempts → (scans started before it finished, when).
    finished: HashMap<Attempt, (u64, Instant)>,
    scans_started: u64,
}

/// A task's id and attempt number.
type Attempt = (i64, u32);

/// How long a finished task is remembered at least.
const REMEMBER_FINISHED: Duration = Duration::from_secs(10);

impl Claims {
    /// Takes the attempt on unless it runs or has finished here.
    fn claim(&mut self, attempt: Attempt) -> bool {
        !self.finished.contains_key(&attempt) && self.running.insert(attempt)
    }

    fn finish(&mut self, attempt: Attempt) {
        self.running.remove(&attempt);
        self.finished
            .insert(attempt, (self.scans_started, Instant::now()));
    }

    /// Forgets finished tasks that no scan from `scan` on can return.
    fn forget_finished_before(&mut self, scan: u64) {
        self.finished
            .retain(|_, (mark, at)| *mark >= scan || at.elapsed() < REMEMBER_FINISHED);
    }
}

/// Scans between two full scans of the activity table. The others look only
/// for retries that became due: first attempts are handed over by the
/// commit that scheduled them, so a full scan is a safety net (and, at
/// start, recovery).
const SCANS_PER_FULL_SCAN: u64 = 100;

/// Most tasks a full scan reads.
const FULL_SCAN_LIMIT: usize = 20_000;

/// Runs activity tasks, forever: those handed over by commits as they
/// arrive, and those a scan of the store finds due (every 100 ms, and when
/// woken).
pub(crate) async fn dispatch(
    shared: Arc<Shared>,
    mut handed_over: UnboundedReceiver<ActivityTask>,
    concurrency: usize,
) {
    let permits = Arc::new(Semaphore::new(concurrency));
    let claims: Arc<Mutex<Claims>> = Arc::default();
    let start = |task: ActivityTask| {
        let attempt = (task.id, task.attempt);
        // Another host's partition: its owner runs it.
        let Ok(tenure) = shared
            .sched
            .ownership
            .tenure(Unit::of_instance(&task.instance_id))
        else {
            return;
        };
        if !lock(&claims).claim(attempt) {
            return;
        }
        let (shared, permits, claims) = (shared.clone(), permits.clone(), claims.clone());
        tokio::spawn(async move {
            // A slot first, if the activity is limited: waiting for one
            // holds no permit.
            let timeout = activity::timeout_of(&task, shared.code.guests.limits());
            let flow = &shared.sched.flow;
            let Some(slot) = flow.enter(&shared, &task, &tenure, timeout).await else {
                // The partition moved on: its new owner runs the task.
                lock(&claims).running.remove(&attempt);
                return;
            };
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            run_task(&shared, task, &tenure).await;
            if let Some(slot) = slot {
                flow.release(&shared, slot).await;
            }
            lock(&claims).finish(attempt);
        });
    };
    loop {
        let wake = shared.sched.activity_wake.notified();
        let scan = {
            let mut claims = lock(&claims);
            claims.scans_started += 1;
            claims.scans_started
        };
        let full = scan % SCANS_PER_FULL_SCAN == 1
            || shared
                .sched
                .activity_full_scan
                .swap(false, Ordering::Relaxed);
        // A full scan also reads other hosts' tasks (queued or running), so
        // it reads far enough to get past them.
        // A worker that owns a share of the partitions sees the other
        // workers' retries too, so it reads proportionally further.
        let limit = if full {
            FULL_SCAN_LIMIT
        } else if shared.sched.ownership.owns_every_partition() {
            concurrency * 2
        } else {
            concurrency * 2 * PARTITIONS as usize
        };
        match shared
            .store
            .due_activities(shared.now_ms(), limit, !full)
            .await
        {
            Ok(due) => due.into_iter().for_each(&start),
            Err(error) => tracing::error!(%error, "cannot read activity tasks"),
        }
        lock(&claims).forget_finished_before(scan);
        // Retries become due by time, not by a commit: look again soon.
        let rescan = tokio::time::sleep(Duration::from_millis(100));
        tokio::pin!(rescan, wake);
        loop {
            tokio::select! {
                task = handed_over.recv() => match task {
                    Some(task) => start(task),
                    None => return,
                },
                () = &mut wake => break,
                () = &mut rescan => break,
            }
        }
    }
}

fn lock(claims: &Mutex<Claims>) -> std::sync::MutexGuard<'_, Claims> {
    claims.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs one attempt and commits its consequence: the result, or a retry.
async fn run_task(shared: &Arc<Shared>, task: ActivityTask, tenure: &Tenure) {
    let span = guest_log::activity_span(&task.instance_id, &task.name, task.attempt);
    run_task_in_span(shared, task, tenure)
        .instrument(span)
        .await;
}

async fn run_task_in_span(shared: &Arc<Shared>, task: ActivityTask, tenure: &Tenure) {
    let code = &shared.code;
    let outcome =
        activity::run_attempt(&code.activities, &code.registry, &code.guests, &task).await;
    shared.counters.activity_attempt(outcome.is_err());
    let retry_delay = match (&outcome, task.options.retry) {
        (Err(_), Some(policy)) => policy.delay_before(task.attempt + 1),
        _ => None,
    };
    let op = match (&outcome, retry_delay) {
        (Err(failure), Some(delay)) => {
            tracing::info!(error = %failure.message, delay_ms = delay, "attempt failed; will retry");
            Op::RetryActivity {
                task_id: task.id,
                attempt: task.attempt + 1,
                visible_at: shared.now_ms() + delay,
                failure: failure.clone(),
            }
        }
        _ => {
            let result = ActivityResult {
                task_id: task.id,
                instance_id: task.instance_id.clone(),
                execution: task.execution,
                task: task.task,
                outcome,
            };
            // A hot instance commits the result with its next episode.
            match shared.sched.router.deliver_result(result) {
                Ok(()) => return,
                Err(result) => result.into_inbox(),
            }
        }
    };
    if let Err(error) = shared.commit_as_worker(vec![op], tenure).await {
        tracing::error!(%error, "activity result not committed; it will run again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_claimed_once_and_a_finished_one_is_not_run_again() {
        let mut claims = Claims::default();
        assert!(claims.claim((7, 1)));
        assert!(!claims.claim((7, 1)), "already running");
        claims.finish((7, 1));
        assert!(
            !claims.claim((7, 1)),
            "a scan may still return the finished row"
        );
        assert!(claims.claim((7, 2)), "its retry is another attempt");
    }

    #[test]
    fn finished_attempts_are_remembered_while_a_scan_could_return_them() {
        let mut claims = Claims {
            scans_started: 3,
            ..Claims::default()
        };
        claims.finish((1, 1));
        // A scan that started before the attempt finished may return it.
        claims.forget_finished_before(3);
        assert!(!claims.claim((1, 1)));
        // Later scans cannot, but it is kept for a while anyway.
        claims.forget_finished_before(4);
        assert!(!claims.claim((1, 1)));
    }
}
