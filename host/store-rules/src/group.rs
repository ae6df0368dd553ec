//! Group commit: how a backend's writer cuts its queue of batches into
//! transactions. Each transaction costs a flush to disk, so the writer
//! folds what is queued into one; but not without bounds, and lease
//! renewals never wait behind the rest.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use reprise_core::store::{Batch, CommitTicket, Committed, Op, StoreError};
use tokio::sync::oneshot;

/// Most batches folded into one transaction: bounds the latency of the first.
pub const MAX_GROUP_BATCHES: usize = 512;

/// Operations after which a group takes no further batch, however few its
/// batches (an actor batch may hold 64): each operation is a statement or
/// more, so they bound the time the transaction takes.
pub const MAX_GROUP_OPS: usize = 4_096;

/// A batch queued for the writer, and where its outcome goes.
#[derive(Debug)]
pub struct Request {
    /// The batch.
    pub batch: Batch,
    /// Where its outcome goes.
    pub reply: oneshot::Sender<Result<Committed, StoreError>>,
}

impl Request {
    /// A request for `batch`, and the ticket its outcome resolves.
    pub fn new(batch: Batch) -> (Self, CommitTicket) {
        let (reply, ticket) = oneshot::channel();
        (Self { batch, reply }, ticket)
    }

    /// Reports the batch's outcome.
    pub fn answer(self, result: Result<Committed, StoreError>) {
        // The requester may have given up waiting; a committed batch is
        // durable anyway.
        let _ = self.reply.send(result);
    }
}

/// What a writer has committed since its store was opened, for
/// measurements: more batches than transactions is group commit at work.
#[derive(Debug, Default)]
pub struct Counters {
    transactions: AtomicU64,
    batches: AtomicU64,
}

impl Counters {
    /// Counts a committed transaction of `batches` batches.
    pub fn committed(&self, batches: usize) {
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.batches.fetch_add(batches as u64, Ordering::Relaxed);
    }

    /// Transactions committed so far.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }

    /// Batches in them.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }
}

/// Whether `batch` only takes or gives up leases (see [`next_group`]).
/// An empty batch is not one: it keeps its place in the queue, so its
/// ticket still says that what its caller queued before it has committed.
pub fn is_lease_batch(batch: &Batch) -> bool {
    !batch.is_empty()
        && batch
            .iter()
            .all(|op| matches!(op, Op::TakeLease { .. } | Op::ReleaseLease { .. }))
}

/// Takes the next group from the queue: what the writer commits in one
/// transaction.
///
/// Lease batches, wherever they wait, go first and alone, in a transaction
/// of their own: a worker's lease renewals must not wait behind a backlog
/// of its own work, nor ride in a large transaction, or under load the
/// lease runs out before it is renewed and the work moves between hosts for
/// nothing. (Batches of different callers have no order to keep; a caller
/// that queues lease batches queues nothing else on that path.) Other
/// batches keep their order, in groups bounded by [`MAX_GROUP_BATCHES`] and
/// [`MAX_GROUP_OPS`].
pub fn next_group(queued: &mut VecDeque<Request>) -> Vec<Request> {
    if queued.iter().any(|r| is_lease_batch(&r.batch)) {
        let (leases, rest): (VecDeque<_>, VecDeque<_>) =
            queued.drain(..).partition(|r| is_lease_batch(&r.batch));
        *queued = rest;
        return leases.into();
    }
    let mut group = Vec::new();
    let mut ops = 0;
    while group.len() < MAX_GROUP_BATCHES && ops < MAX_GROUP_OPS {
        let Some(next) = queued.pop_front() else {
            break;
        };
        ops += next.batch.len();
        group.push(next);
    }
    group
}

/// Reports each batch's outcome once the group's transaction committed
/// (or rolled back because of the one batch that failed).
pub fn answer_all(group: Vec<Request>, results: Vec<Result<Committed, StoreError>>) {
    for (request, result) in group.into_iter().zip(results) {
        request.answer(result);
    }
}

/// Fails every batch of a group whose transaction failed: nothing of any
/// of them was written.
pub fn fail_all(group: Vec<Request>, why: &str) {
    for request in group {
        request.answer(Err(StoreError::Database(why.to_owned())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(batch: Batch) -> Request {
        Request::new(batch).0
    }

    fn renewal(name: &str) -> Batch {
        vec![Op::TakeLease {
            name: name.into(),
            owner: "me".into(),
            now: 0,
            until: 1,
        }]
    }

    fn work(n: u64) -> Batch {
        vec![Op::ExpectLease {
            name: format!("work-{n}"),
            token: n,
        }]
    }

    fn names(group: &[Request]) -> Vec<String> {
        group
            .iter()
            .map(|r| match r.batch.first() {
                Some(Op::TakeLease { name, .. } | Op::ReleaseLease { name, .. }) => name.clone(),
                Some(Op::ExpectLease { name, .. }) => name.clone(),
                Some(_) => unreachable!(),
                None => "empty".into(),
            })
            .collect()
    }

    #[test]
    fn lease_batches_jump_the_queue_alone_and_the_rest_keep_their_order() {
        let mut queued: VecDeque<Request> = (0..MAX_GROUP_BATCHES as u64 + 10)
            .map(|n| request(work(n)))
            .collect();
        queued.push_back(request(renewal("partition/1")));
        queued.push_back(request(work(9_999)));
        queued.push_back(request(vec![Op::ReleaseLease {
            name: "actors".into(),
            owner: "me".into(),
        }]));
        assert_eq!(names(&next_group(&mut queued)), ["partition/1", "actors"]);
        let first = next_group(&mut queued);
        assert_eq!(first.len(), MAX_GROUP_BATCHES);
        assert_eq!(names(&first[..1]), ["work-0"]);
        let rest = next_group(&mut queued);
        assert_eq!(names(&rest[..1]), [format!("work-{MAX_GROUP_BATCHES}")]);
        assert_eq!(names(&rest).last().unwrap(), "work-9999");
        assert_eq!(rest.len(), 11);
        assert!(queued.is_empty());
        assert!(next_group(&mut queued).is_empty());
    }

    #[test]
    fn large_batches_make_smaller_groups() {
        let mut queued: VecDeque<Request> = (0..100)
            .map(|n| request(vec![work(n).remove(0); 64]))
            .collect();
        assert_eq!(next_group(&mut queued).len(), MAX_GROUP_OPS / 64);
        // A batch larger than the bound is a group of its own.
        let mut queued: VecDeque<Request> = (0..2)
            .map(|n| request(vec![work(n).remove(0); MAX_GROUP_OPS + 1]))
            .collect();
        assert_eq!(next_group(&mut queued).len(), 1);
        assert_eq!(next_group(&mut queued).len(), 1);
    }

    #[test]
    fn a_batch_mixing_leases_with_work_or_an_empty_one_keeps_its_place() {
        let mut mixed = renewal("worker");
        mixed.extend(work(1));
        assert!(!is_lease_batch(&mixed));
        assert!(!is_lease_batch(&Vec::new()));
        let mut queued: VecDeque<Request> = [work(0), mixed, Vec::new()]
            .into_iter()
            .map(request)
            .collect();
        assert_eq!(
            names(&next_group(&mut queued)),
            ["work-0", "worker", "empty"]
        );
    }

    #[test]
    fn counters_count_transactions_and_their_batches() {
        let counters = Counters::default();
        counters.committed(3);
        counters.committed(1);
        assert_eq!((counters.transactions(), counters.batches()), (2, 4));
    }

    #[test]
    fn every_batch_of_a_group_gets_its_outcome() {
        let (first, first_ticket) = Request::new(work(0));
        let (second, second_ticket) = Request::new(work(1));
        answer_all(
            vec![first, second],
            vec![
                Ok(Committed::default()),
                Err(StoreError::Conflict("no".into())),
            ],
        );
        assert!(first_ticket.blocking_recv().unwrap().is_ok());
        assert!(matches!(
            second_ticket.blocking_recv().unwrap(),
            Err(StoreError::Conflict(_))
        ));
        let (third, third_ticket) = Request::new(work(2));
        fail_all(vec![third], "disk full");
        assert!(matches!(
            third_ticket.blocking_recv().unwrap(),
            Err(StoreError::Database(why)) if why == "disk full"
        ));
    }
}
