//! Activities' flow control: whether an attempt may take a slot, given
//! what a backend counted among the activity's slots (`activity_slots`:
//! one row per attempt that took one, running until it is released or its
//! time runs out, its start kept while a rate's period may still see it).
//!
//! A backend takes the activity's lock (the one writer on SQLite, an
//! advisory lock per activity on PostgreSQL), forgets the rows no limit can
//! see any more ([`forget_before`]), counts ([`SlotCounts`]), asks
//! [`admit`], and inserts the slot.

use std::collections::BTreeMap;

use reprise_core::store::{ActivityFlow, ActivityLimit, ActivitySlot, StoreError};

/// What a backend counted among one activity's slots at `now`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlotCounts {
    /// Slots running at `now`.
    pub running: u64,
    /// Of those, the ones with the new slot's key.
    pub running_with_key: u64,
    /// Slots taken after [`window_start`].
    pub started_in_window: u64,
    /// The earliest of those starts (ms).
    pub oldest_start_in_window: Option<u64>,
}

/// How much longer than its period a rate looks back: an attempt starts
/// a moment after its slot was taken at `now` (the commit, the dispatch,
/// the guest's start), so a window of exactly the period would let the
/// activity's own clock, or the service it calls, see more than the rate's
/// count in one period. A fifth of the period, at most 250 ms: on two
/// hosts sharing PostgreSQL on two cores, a tenth (100 ms for a second)
/// still let the activities see 103 starts in one second now and then.
pub fn guard_ms(period_ms: u64) -> u64 {
    (period_ms / 5).min(250)
}

/// Starts after this time (ms) count for the rate; with no rate, none do.
pub fn window_start(limit: &ActivityLimit, now: u64) -> u64 {
    limit.rate.map_or(now, |rate| {
        now.saturating_sub(rate.period_ms + guard_ms(rate.period_ms))
    })
}

/// Released (or run out) slots that started by this time (ms) count for
/// nothing any more: a backend deletes them before it counts.
pub fn forget_before(limit: &ActivityLimit, now: u64) -> u64 {
    window_start(limit, now)
}

/// Whether `slot` may start at `now` under `limit`.
pub fn admit(
    slot: &ActivitySlot,
    limit: &ActivityLimit,
    counts: SlotCounts,
    now: u64,
) -> Result<(), StoreError> {
    let throttled = |limit, retry_after_ms| StoreError::Throttled {
        activity: slot.name.clone(),
        limit,
        retry_after_ms,
    };
    if limit
        .concurrency
        .is_some_and(|n| counts.running >= u64::from(n))
    {
        return Err(throttled("concurrency", None));
    }
    if slot.key.is_some()
        && limit
            .per_key
            .is_some_and(|n| counts.running_with_key >= u64::from(n))
    {
        return Err(throttled("per-key", None));
    }
    if let Some(rate) = limit.rate
        && counts.started_in_window >= u64::from(rate.count)
    {
        // The oldest start leaves the window a period (and its guard)
        // after it was made.
        let leaves = counts.oldest_start_in_window.unwrap_or(now)
            + rate.period_ms
            + guard_ms(rate.period_ms);
        return Err(throttled("rate", Some(leaves.saturating_sub(now).max(1))));
    }
    Ok(())
}

/// Each activity's flow from two counts by name: tasks scheduled, and
/// slots running.
pub fn flows(scheduled: Vec<(String, u64)>, running: Vec<(String, u64)>) -> Vec<ActivityFlow> {
    let mut by_name: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (name, count) in scheduled {
        by_name.entry(name).or_default().0 = count;
    }
    for (name, count) in running {
        by_name.entry(name).or_default().1 = count;
    }
    by_name
        .into_iter()
        .map(|(name, (scheduled, running))| ActivityFlow {
            name,
            scheduled,
            running,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprise_core::store::Rate;

    fn slot(key: Option<&str>) -> ActivitySlot {
        ActivitySlot {
            task_id: 1,
            attempt: 1,
            name: "charge".into(),
            key: key.map(str::to_owned),
        }
    }

    fn limited(store_error: Result<(), StoreError>) -> (&'static str, Option<u64>) {
        match store_error {
            Err(StoreError::Throttled {
                limit,
                retry_after_ms,
                ..
            }) => (limit, retry_after_ms),
            other => panic!("expected a limit, got {other:?}"),
        }
    }

    #[test]
    fn each_limit_refuses_at_its_bound_and_the_rate_says_when_to_come_back() {
        let limit = ActivityLimit {
            concurrency: Some(2),
            per_key: Some(1),
            rate: Some(Rate {
                count: 3,
                period_ms: 1_000,
            }),
        };
        let counts = SlotCounts::default();
        assert!(admit(&slot(Some("k")), &limit, counts, 5_000).is_ok());
        let busy = SlotCounts {
            running: 2,
            ..counts
        };
        assert_eq!(
            limited(admit(&slot(None), &limit, busy, 5_000)),
            ("concurrency", None)
        );
        let same_key = SlotCounts {
            running: 1,
            running_with_key: 1,
            ..counts
        };
        assert_eq!(
            limited(admit(&slot(Some("k")), &limit, same_key, 5_000)),
            ("per-key", None)
        );
        assert!(
            admit(&slot(None), &limit, same_key, 5_000).is_ok(),
            "no key, no per-key limit"
        );
        let fast = SlotCounts {
            started_in_window: 3,
            oldest_start_in_window: Some(4_300),
            ..counts
        };
        assert_eq!(
            limited(admit(&slot(None), &limit, fast, 5_000)),
            ("rate", Some(500))
        );
        assert_eq!(window_start(&limit, 5_000), 3_800, "a period and its guard");
        assert_eq!(window_start(&ActivityLimit::default(), 5_000), 5_000);
    }

    #[test]
    fn flows_join_the_two_counts_by_name() {
        let flows = flows(
            vec![("a".into(), 5), ("b".into(), 1)],
            vec![("a".into(), 2), ("c".into(), 1)],
        );
        let got: Vec<(&str, u64, u64)> = flows
            .iter()
            .map(|f| (f.name.as_str(), f.scheduled, f.running))
            .collect();
        assert_eq!(got, [("a", 5, 2), ("b", 1, 0), ("c", 0, 1)]);
    }
}
