//! What a runtime counts while it works, for monitoring: plain atomics
//! bumped where the work is committed, read as a [`Metrics`] snapshot
//! (which adds the store's depths: instances by status, queued work).
//! Formatting them (Prometheus text, JSON) is the caller's business.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::store::{Op, Status, StoreCounts};

/// Upper bounds of the commit latency buckets, in seconds: from one fsync
/// of a fast disk to a store that is falling behind.
pub const COMMIT_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5,
];

/// A histogram of durations with fixed buckets.
#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or below each bound of [`COMMIT_BUCKETS`] (not
    /// cumulative; the snapshot adds them up).
    buckets: [AtomicU64; COMMIT_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(bucket) = COMMIT_BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let buckets = COMMIT_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(&bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (bound, cumulative)
            })
            .collect();
        HistogramSnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// The counters of one runtime (one process), since it started.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    instances_started: AtomicU64,
    /// By final status: completed, failed, terminated.
    instances_finished: [AtomicU64; 3],
    episodes: AtomicU64,
    activity_attempts: AtomicU64,
    activity_failures: AtomicU64,
    actor_operations: AtomicU64,
    atomic_requests: AtomicU64,
    commits: AtomicU64,
    commit_failures: AtomicU64,
    commit_latency: Histogram,
}

fn finished_index(status: Status) -> Option<usize> {
    match status {
        Status::Completed => Some(0),
        Status::Failed => Some(1),
        Status::Terminated => Some(2),
        Status::Running | Status::Suspended => None,
    }
}

/// What one batch will have done once it is durable, counted before it is
/// handed to the store (which takes it).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    episodes: u64,
    instances_started: u64,
    instances_finished: [u64; 3],
    actor_operations: u64,
    atomic_requests: u64,
}

impl Tally {
    /// Counts one op of the batch; the caller's own pass over the batch
    /// calls it, so counting costs no second pass.
    pub(crate) fn count(&mut self, op: &Op) {
        match op {
            // Every episode's batch, and only an episode's, has one.
            Op::ExpectRunning { .. } => self.episodes += 1,
            Op::CreateInstance { .. } => self.instances_started += 1,
            Op::SetStatus { status, .. } => {
                if let Some(index) = finished_index(*status) {
                    self.instances_finished[index] += 1;
                }
            }
            Op::ApplyActors {
                dequeued, atomic, ..
            } => {
                self.actor_operations += dequeued.len() as u64;
                self.atomic_requests += u64::from(atomic.is_some());
            }
            _ => {}
        }
    }
}

impl Counters {
    /// Counts what a batch did once it is durable, and how long it took.
    pub(crate) fn committed(&self, tally: &Tally, took: Duration) {
        let add = |counter: &AtomicU64, n: u64| {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.commits, 1);
        self.commit_latency.observe(took);
        add(&self.episodes, tally.episodes);
        add(&self.instances_started, tally.instances_started);
        for (counter, n) in self.instances_finished.iter().zip(tally.instances_finished) {
            add(counter, n);
        }
        add(&self.actor_operations, tally.actor_operations);
        add(&self.atomic_requests, tally.atomic_requests);
    }

    /// Counts a batch the store refused or could not write.
    pub(crate) fn commit_failed(&self) {
        self.commit_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one attempt of an activity, and whether it failed.
    pub(crate) fn activity_attempt(&self, failed: bool) {
        self.activity_attempts.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.activity_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(
        &self,
        store: StoreCounts,
        hot_instances: u64,
        activities: Vec<ActivityLoad>,
    ) -> Metrics {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Metrics {
            instances_started: load(&self.instances_started),
            instances_finished: [Status::Completed, Status::Failed, Status::Terminated]
                .into_iter()
                .zip(&self.instances_finished)
                .map(|(status, count)| (status, load(count)))
                .collect(),
            episodes: load(&self.episodes),
            activity_attempts: load(&self.activity_attempts),
            activity_failures: load(&self.activity_failures),
            actor_operations: load(&self.actor_operations),
            atomic_requests: load(&self.atomic_requests),
            commits: load(&self.commits),
            commit_failures: load(&self.commit_failures),
            commit_latency: self.commit_latency.snapshot(),
            hot_instances,
            store,
            activities,
        }
    }
}

/// Cumulative bucket counts of a histogram, Prometheus-style.
#[derive(Debug, Clone, Serialize)]
pub struct HistogramSnapshot {
    /// (upper bound in seconds, observations at or below it).
    pub buckets: Vec<(f64, u64)>,
    /// Observations in all.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
}

/// What a runtime has counted since it started (the counters are this
/// process's), and the store's current depths (shared by every process).
#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    /// Instances created through this runtime (started by clients and as
    /// sub-orchestrations).
    pub instances_started: u64,
    /// Instances this runtime finished, by final status.
    pub instances_finished: Vec<(Status, u64)>,
    /// Orchestration episodes committed (each run of a guest up to a wait).
    pub episodes: u64,
    /// Activity attempts run, retries included.
    pub activity_attempts: u64,
    /// Attempts that failed (each may be retried).
    pub activity_failures: u64,
    /// Actor mailbox operations applied.
    pub actor_operations: u64,
    /// Multi-actor requests applied, all or nothing.
    pub atomic_requests: u64,
    /// Batches committed.
    pub commits: u64,
    /// Batches refused or failed.
    pub commit_failures: u64,
    /// From queuing a batch to its being durable.
    pub commit_latency: HistogramSnapshot,
    /// Instances loaded in this process (running, or waiting hot).
    pub hot_instances: u64,
    /// The store's depths now.
    pub store: StoreCounts,
    /// Each activity with tasks scheduled, or with limits.
    pub activities: Vec<ActivityLoad>,
}

/// How one activity's tasks stand, on every host, with its limits here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityLoad {
    /// The activity.
    pub name: String,
    /// Tasks scheduled and not running in a slot: queued behind a limit,
    /// waiting for a retry, or (unlimited) running.
    pub waiting: u64,
    /// Attempts running in a slot (limited activities only).
    pub running: u64,
    /// Its limits in this process, if any.
    pub limits: Option<crate::ActivityLimits>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_the_sum_adds_up() {
        let histogram = Histogram::default();
        for ms in [0, 3, 3, 40, 10_000] {
            histogram.observe(Duration::from_millis(ms));
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 5);
        assert!((snapshot.sum_seconds - 10.046).abs() < 1e-9);
        let at = |bound: f64| {
            snapshot
                .buckets
                .iter()
                .find(|(b, _)| *b == bound)
                .map(|(_, n)| *n)
        };
        assert_eq!(at(0.0005), Some(1));
        assert_eq!(at(0.002), Some(1));
        assert_eq!(at(0.005), Some(3));
        assert_eq!(at(0.05), Some(4));
        assert_eq!(at(2.5), Some(4), "ten seconds is beyond every bucket");
    }

    #[test]
    fn a_batch_counts_its_episode_start_finish_and_actor_operations() {
        let counters = Counters::default();
        let batch = [
            Op::ExpectRunning {
                instance_id: "a".into(),
                execution: 0,
                digest: None,
            },
            Op::create_instance("child".into(), "o", "d".into(), "null", None, 1),
            Op::SetStatus {
                instance_id: "a".into(),
                status: Status::Failed,
                output: None,
                at: 1,
            },
            Op::ApplyActors {
                dequeued: vec![1, 2, 3],
                atomic: Some(4),
                states: vec![],
                at: 1,
            },
        ];
        let mut tally = Tally::default();
        batch.iter().for_each(|op| tally.count(op));
        counters.committed(&tally, Duration::from_millis(1));
        counters.activity_attempt(true);
        counters.activity_attempt(false);
        let metrics = counters.snapshot(StoreCounts::default(), 2, Vec::new());
        assert_eq!(
            (metrics.episodes, metrics.instances_started),
            (1, 1),
            "{metrics:?}"
        );
        assert_eq!(
            metrics.instances_finished,
            [
                (Status::Completed, 0),
                (Status::Failed, 1),
                (Status::Terminated, 0)
            ]
        );
        assert_eq!((metrics.actor_operations, metrics.atomic_requests), (3, 1));
        assert_eq!(
            (metrics.activity_attempts, metrics.activity_failures),
            (2, 1)
        );
        assert_eq!(metrics.commits, 1);
    }
}
