//! The limits every guest runs under, and how a guest that hits one is
//! told apart from one that failed by its own doing.

use std::time::Duration;

/// Resource limits for guests.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory a guest instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall time an orchestration may compute between two waits (one
    /// episode), and a guest activity per attempt when it sets no timeout.
    pub cpu_per_episode: Duration,
    /// Time limit of an activity attempt that sets none.
    pub activity_timeout: Duration,
    /// Largest JSON payload accepted anywhere: inputs, outputs, events.
    pub max_payload_bytes: usize,
    /// Guest instances that can live at once: hot orchestrations, running
    /// activity attempts and actor batches. Each has a preallocated slot
    /// (a reservation of `memory_bytes` of address space plus a guard
    /// region, committed only as the guest touches it). When all are taken,
    /// the hot orchestration that has waited longest is evicted to make room
    /// and replays from history on its next message.
    pub instance_slots: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            cpu_per_episode: Duration::from_secs(10),
            activity_timeout: Duration::from_secs(300),
            max_payload_bytes: 1 << 20,
            instance_slots: 4096,
        }
    }
}

/// Why a guest was stopped by the host rather than by its own doing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuestLimit {
    /// It computed too long without waiting.
    #[error("guest exceeded its CPU deadline of {0:?}")]
    Deadline(Duration),
    /// It tried to grow its memory past the limit.
    #[error("guest exceeded its memory limit of {0} bytes")]
    Memory(usize),
}
