//! Time as Reprise records it: milliseconds since the Unix epoch. Replay
//! never reads a clock: a replayed call takes the time history recorded.
//!
//! The runtime reads the time through a [`Clock`] it is given: the
//! [`SystemClock`] in production, a [`TestClock`] in tests that must not
//! wait a day for a day-long timer (time skipping).

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the runtime reads the time.
pub trait Clock: Debug + Send + Sync + 'static {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }
}

/// A clock that moves only when told to, for tests: timers, retries'
/// backoff and leases then run on its time, not the wall's.
#[derive(Debug)]
pub struct TestClock {
    now: AtomicU64,
}

impl TestClock {
    /// A clock standing at `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        Self {
            now: AtomicU64::new(start_ms),
        }
    }

    /// A clock standing at the wall clock's time.
    pub fn starting_now() -> Self {
        Self::new(now_ms())
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The wall clock now, in milliseconds since the Unix epoch (0 if the
/// clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_clock_moves_only_when_told() {
        let clock = TestClock::new(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        clock.advance(86_400_000);
        assert_eq!(clock.now_ms(), 86_401_000);
        assert!(SystemClock.now_ms() > 1_600_000_000_000);
    }
}
