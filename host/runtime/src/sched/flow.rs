//! Flow control for activities: per activity name, a limit on the attempts
//! running at once, on those running with the same key (taken from the
//! input), and on the attempts started per period. Limits are
//! configuration ([`ActivityLimits`], `--activity-limit`); give every
//! process of a database the same.
//!
//! An attempt of a limited activity takes a slot in the store before it
//! runs ([`Op::TakeActivitySlot`]), judged in the transaction that takes
//! it, so the limits hold across every host on one database; it releases
//! the slot when it ends, and a slot whose host died runs out when the
//! attempt's timeout would have. Attempts waiting for a slot hold none of
//! the worker's activity permits, so a limited fan-out never holds back
//! other activities. In each process they wait in line per activity and
//! key: only the first of a line asks the store, and comes back when the
//! store says a start could be allowed (a rate), when an attempt here ends,
//! or soon (an attempt on another host may have ended).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;

use super::Shared;
use super::ownership::Tenure;
use crate::store::{ActivityLimit, ActivitySlot, ActivityTask, Op, Rate, StoreError};

/// How long past an attempt's timeout its slot is kept, should its host
/// die without releasing it.
const SLOT_GRACE: Duration = Duration::from_secs(30);
/// How soon a line whose activity is at a running limit asks again when no
/// attempt here ended: one on another host may have.
const LOOK_AGAIN: Duration = Duration::from_millis(20);

/// The limits of one activity. Parsed from
/// `concurrency=10,rate=100/1s,key=/customer,per-key=2` (any of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivityLimits {
    /// Attempts running at once, on all hosts.
    pub concurrency: Option<u32>,
    /// Attempts started in any period.
    pub rate: Option<Rate>,
    /// Attempts running at once with the same key.
    pub per_key: Option<PerKey>,
}

/// A limit per key: the key is the input's value at `pointer` (a JSON
/// pointer, `/customer/id`); an input without it has no key, and no limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PerKey {
    /// Where the key is in the input.
    pub pointer: String,
    /// Attempts running at once per key.
    pub limit: u32,
}

impl ActivityLimits {
    fn store_limit(&self) -> ActivityLimit {
        ActivityLimit {
            concurrency: self.concurrency,
            per_key: self.per_key.as_ref().map(|p| p.limit),
            rate: self.rate,
        }
    }

    /// The key of an attempt with this input, for the per-key limit.
    fn key_of(&self, input: &str) -> Option<String> {
        let pointer = &self.per_key.as_ref()?.pointer;
        let input: serde_json::Value = serde_json::from_str(input).ok()?;
        match input.pointer(pointer)? {
            serde_json::Value::String(key) => Some(key.clone()),
            other => Some(other.to_string()),
        }
    }
}

impl FromStr for ActivityLimits {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, String> {
        let mut limits = ActivityLimits::default();
        let (mut pointer, mut per_key) = (None, None);
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not NAME=VALUE"))?;
            match name {
                "concurrency" => limits.concurrency = Some(positive(name, value)?),
                "per-key" => per_key = Some(positive(name, value)?),
                "key" if value.starts_with('/') => pointer = Some(value.to_owned()),
                "key" => return Err(format!("key {value:?} is not a JSON pointer (/field)")),
                "rate" => limits.rate = Some(rate(value)?),
                _ => {
                    return Err(format!(
                        "unknown limit {name:?}: use concurrency, rate, key and per-key"
                    ));
                }
            }
        }
        limits.per_key = match (pointer, per_key) {
            (Some(pointer), Some(limit)) => Some(PerKey { pointer, limit }),
            (None, None) => None,
            _ => return Err("key and per-key go together".into()),
        };
        if limits == ActivityLimits::default() {
            return Err("no limit given".into());
        }
        Ok(limits)
    }
}

fn positive(name: &str, value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{name} must be a whole number above 0, not {value:?}"
        )),
    }
}

/// `N/PERIOD`: N starts per period (`1s`, `500ms`, `1m`; `s` for a second).
fn rate(value: &str) -> Result<Rate, String> {
    let bad = || format!("rate {value:?} is not N/PERIOD (100/1s, 10/500ms, 60/1m)");
    let (count, period) = value.split_once('/').ok_or_else(bad)?;
    let count = positive("rate", count)?;
    let period = if period.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        period.to_owned()
    } else {
        format!("1{period}")
    };
    let split = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let amount: u64 = period[..split].parse().map_err(|_| bad())?;
    let unit_ms = match &period[split..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    match amount * unit_ms {
        0 => Err(bad()),
        period_ms => Ok(Rate { count, period_ms }),
    }
}

/// This process's side of the limits: the configuration, and the lines
/// its attempts wait in.
#[derive(Default)]
pub(crate) struct FlowControl {
    limits: HashMap<String, ActivityLimits>,
    /// One line per activity and key.
    lines: Mutex<HashMap<LineKey, Line>>,
    /// An attempt here released its slot.
    released: Notify,
}

/// Attempts waiting for a slot of one activity and key: the first of them
/// holds the lock while it asks the store.
type Line = Arc<tokio::sync::Mutex<()>>;

/// An activity and the key of its attempts' input (for a per-key limit).
type LineKey = (String, Option<String>);

/// A slot an attempt holds; [`Held::release`] gives it back.
pub(crate) struct Held {
    task_id: i64,
    attempt: u32,
}

impl FlowControl {
    pub(crate) fn new(limits: HashMap<String, ActivityLimits>) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Every activity's limits, by name.
    pub(crate) fn limits(&self) -> &HashMap<String, ActivityLimits> {
        &self.limits
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, HashMap<LineKey, Line>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn line(&self, key: &LineKey) -> Line {
        self.lines().entry(key.clone()).or_default().clone()
    }

    /// Forgets `line` once nobody else waits in it, so that a limit per
    /// key keeps no line for every key it ever saw.
    fn leave(&self, key: &LineKey, line: Line) {
        let mut lines = self.lines();
        // The map's and this attempt's: nobody else holds the line.
        if Arc::strong_count(&line) == 2 {
            lines.remove(key);
        }
    }

    /// Waits until `task`'s attempt may run: at once if its activity has
    /// no limits (`Some(None)`), else once it holds a slot (`Some(Some)`).
    /// `None` if this process lost the task's partition meanwhile.
    pub(crate) async fn enter(
        &self,
        shared: &Arc<Shared>,
        task: &ActivityTask,
        tenure: &Tenure,
        timeout: Duration,
    ) -> Option<Option<Held>> {
        let Some(limits) = self.limits.get(&task.name) else {
            return Some(None);
        };
        let slot = ActivitySlot {
            task_id: task.id,
            attempt: task.attempt,
            name: task.name.clone(),
            key: limits.key_of(&task.input),
        };
        let line_key = (slot.name.clone(), slot.key.clone());
        let line = self.line(&line_key);
        let first_in_line = line.lock().await;
        let taken = self
            .take(shared, slot, limits.store_limit(), tenure, timeout)
            .await;
        drop(first_in_line);
        self.leave(&line_key, line);
        taken
    }

    /// Asks the store for `slot` until it is granted, or the task's
    /// partition is lost (`None`).
    async fn take(
        &self,
        shared: &Arc<Shared>,
        slot: ActivitySlot,
        limit: ActivityLimit,
        tenure: &Tenure,
        timeout: Duration,
    ) -> Option<Option<Held>> {
        loop {
            let now = shared.now_ms();
            let until = now.saturating_add((timeout + SLOT_GRACE).as_millis() as u64);
            let take = Op::TakeActivitySlot {
                slot: slot.clone(),
                limit,
                now,
                until,
            };
            let released = self.released.notified();
            let wait = match shared.commit_as_worker(vec![take], tenure).await {
                Ok(_) => {
                    return Some(Some(Held {
                        task_id: slot.task_id,
                        attempt: slot.attempt,
                    }));
                }
                Err(StoreError::Throttled {
                    retry_after_ms: Some(ms),
                    ..
                }) => Duration::from_millis(ms),
                Err(StoreError::Throttled { .. }) => LOOK_AGAIN,
                Err(StoreError::Fenced(_)) => return None,
                Err(error) => {
                    tracing::warn!(%error, activity = %slot.name, "cannot take an activity slot");
                    Duration::from_millis(100)
                }
            };
            let _ = tokio::time::timeout(wait, released).await;
        }
    }

    /// Gives the slot back.
    pub(crate) async fn release(&self, shared: &Arc<Shared>, held: Held) {
        let release = Op::ReleaseActivitySlot {
            task_id: held.task_id,
            attempt: held.attempt,
            now: shared.now_ms(),
        };
        if let Err(error) = shared.commit(vec![release]).await {
            // It runs out on its own.
            tracing::warn!(%error, "cannot release an activity slot");
        }
        self.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_from_their_spec_and_bad_ones_say_why() {
        let limits: ActivityLimits = "concurrency=10, rate=100/1s,key=/customer/id,per-key=2"
            .parse()
            .unwrap();
        assert_eq!(limits.concurrency, Some(10));
        assert_eq!(
            limits.rate,
            Some(Rate {
                count: 100,
                period_ms: 1_000
            })
        );
        assert_eq!(
            limits.key_of(r#"{"customer": {"id": 42}}"#).as_deref(),
            Some("42")
        );
        assert_eq!(limits.key_of(r#"{"other": 1}"#), None);
        let rate = |spec: &str| spec.parse::<ActivityLimits>().map(|l| l.rate.unwrap());
        assert_eq!(rate("rate=5/s").unwrap().period_ms, 1_000);
        assert_eq!(rate("rate=5/250ms").unwrap().period_ms, 250);
        assert_eq!(rate("rate=5/2m").unwrap().period_ms, 120_000);
        for (spec, why) in [
            ("", "no limit given"),
            (
                "concurrency=0",
                "concurrency must be a whole number above 0, not \"0\"",
            ),
            (
                "rate=5",
                "rate \"5\" is not N/PERIOD (100/1s, 10/500ms, 60/1m)",
            ),
            (
                "rate=5/1d",
                "rate \"5/1d\" is not N/PERIOD (100/1s, 10/500ms, 60/1m)",
            ),
            ("per-key=2", "key and per-key go together"),
            (
                "key=customer,per-key=2",
                "key \"customer\" is not a JSON pointer (/field)",
            ),
            (
                "speed=3",
                "unknown limit \"speed\": use concurrency, rate, key and per-key",
            ),
            ("concurrency", "\"concurrency\" is not NAME=VALUE"),
        ] {
            assert_eq!(spec.parse::<ActivityLimits>().unwrap_err(), why, "{spec}");
        }
    }
}
