//! Feeding recorded history back to a guest, and noticing when the code asks
//! for something other than what history holds.

use crate::history::{Event, HistoryEvent, Outcome};

/// The code asked for something other than what history recorded at this position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "non-determinism in instance {instance_id} at history position {position}: \
     history holds {recorded}, the code asked for {requested}"
)]
pub struct Nondeterminism {
    /// The instance.
    pub instance_id: String,
    /// Position in the execution's history.
    pub position: u32,
    /// What history holds there.
    pub recorded: String,
    /// What the code asked for.
    pub requested: String,
}

/// An execution's history with a cursor: calls before the cursor's end are
/// answered from history; after it, the execution is live and new calls are
/// appended.
#[derive(Debug)]
pub struct Journal {
    instance_id: String,
    events: Vec<HistoryEvent>,
    cursor: usize,
}

impl Journal {
    /// `events` must start with `Started`, which the cursor skips.
    pub fn new(instance_id: &str, events: Vec<HistoryEvent>) -> Self {
        let mut journal = Self {
            instance_id: instance_id.to_owned(),
            events,
            cursor: 1,
        };
        journal.step_over_markers();
        journal
    }

    /// Moves the cursor past markers, which answer no call.
    fn step_over_markers(&mut self) {
        while self
            .events
            .get(self.cursor)
            .is_some_and(|recorded| recorded.event.is_marker())
        {
            self.cursor += 1;
        }
    }

    /// True while recorded calls remain to be replayed.
    pub fn replaying(&self) -> bool {
        self.events
            .get(self.cursor)
            .is_some_and(|recorded| recorded.event.is_call())
    }

    /// Position the next call will take.
    pub fn next_seq(&self) -> u32 {
        self.cursor as u32
    }

    /// The recorded answer to this call when replaying; `None` when live.
    pub fn replay(&mut self, requested: &Event) -> Result<Option<&HistoryEvent>, Nondeterminism> {
        if !self.replaying() {
            return Ok(None);
        }
        let recorded = &self.events[self.cursor];
        if !recorded.event.same_call(requested) {
            let requested = requested
                .signature()
                .map_or_else(|| "no call".into(), |s| s.to_string());
            return Err(self.mismatch(recorded, requested));
        }
        let answered = self.cursor;
        self.cursor += 1;
        self.step_over_markers();
        Ok(Some(&self.events[answered]))
    }

    /// Records a new call made live.
    pub fn record(&mut self, at: u64, event: Event) -> &HistoryEvent {
        debug_assert!(!self.replaying());
        let seq = self.events.len() as u32;
        self.events.push(HistoryEvent { seq, at, event });
        self.cursor = self.events.len();
        &self.events[self.cursor - 1]
    }

    /// The code finished while history still holds recorded calls it never
    /// made (or holds a final event it did not reach).
    pub fn check_finished(&self) -> Result<(), Nondeterminism> {
        if self.replaying() {
            let recorded = &self.events[self.cursor];
            let requested = "nothing more (the orchestration returned)".into();
            return Err(self.mismatch(recorded, requested));
        }
        Ok(())
    }

    /// History holds `recorded` where the code asked for `requested`.
    fn mismatch(&self, recorded: &HistoryEvent, requested: String) -> Nondeterminism {
        Nondeterminism {
            instance_id: self.instance_id.clone(),
            position: recorded.seq,
            recorded: recorded
                .event
                .signature()
                .map_or_else(|| describe_frame(&recorded.event), |s| s.to_string()),
            requested,
        }
    }

    /// The outcome held by the await event at `position` (`await-task` or
    /// `await-any`), if that is what is there.
    pub fn awaited_outcome(&self, position: usize) -> Option<&Outcome> {
        match &self.events.get(position)?.event {
            Event::TaskAwaited { outcome, .. } | Event::AnyAwaited { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    /// The events from `from` on.
    pub fn since(&self, from: usize) -> &[HistoryEvent] {
        &self.events[from.min(self.events.len())..]
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Never true: a journal holds at least its execution's start.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Time of the latest event replayed or recorded: orchestration time.
    pub fn time(&self) -> u64 {
        self.events[..self.cursor.min(self.events.len())]
            .last()
            .map_or(0, |e| e.at)
    }
}

fn describe_frame(event: &Event) -> String {
    match event {
        Event::Completed { .. } => "the orchestration's completion".into(),
        Event::Failed { .. } => "the orchestration's failure".into(),
        _ => "the execution's start".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started() -> HistoryEvent {
        HistoryEvent {
            seq: 0,
            at: 5,
            event: Event::Started {
                name: "o".into(),
                input: "null".into(),
                digest: None,
            },
        }
    }

    #[test]
    fn replay_steps_over_a_move_to_new_code() {
        let mut journal = Journal::new("i", vec![started()]);
        journal.record(7, Event::Now { ms: 7 });
        let mut events = journal.since(0).to_vec();
        events.push(HistoryEvent {
            seq: 2,
            at: 8,
            event: Event::Upgraded {
                from: "a".into(),
                to: "b".into(),
            },
        });
        events.push(HistoryEvent {
            seq: 3,
            at: 9,
            event: Event::Random { value: 1 },
        });
        let mut replay = Journal::new("i", events.clone());
        replay.replay(&Event::Now { ms: 0 }).unwrap().unwrap();
        let got = replay.replay(&Event::Random { value: 0 }).unwrap().unwrap();
        assert_eq!((got.seq, &got.event), (3, &Event::Random { value: 1 }));
        assert!(!replay.replaying());
        assert_eq!(replay.record(10, Event::Uuid { value: "u".into() }).seq, 4);
        // A move right after the start, and one at the end, are stepped over too.
        let mut moved_first = vec![started(), events[2].clone(), events[1].clone()];
        moved_first[2].seq = 2;
        let mut replay = Journal::new("i", moved_first);
        assert!(replay.replaying());
        replay.replay(&Event::Now { ms: 0 }).unwrap().unwrap();
        assert!(!replay.replaying());
        let mut ends_moved = Journal::new("i", events[..3].to_vec());
        ends_moved.replay(&Event::Now { ms: 0 }).unwrap().unwrap();
        assert!(!ends_moved.replaying());
        ends_moved.check_finished().unwrap();
    }

    #[test]
    fn replays_then_goes_live() {
        let mut journal = Journal::new("i", vec![started()]);
        assert!(!journal.replaying());
        journal.record(7, Event::Now { ms: 7 });
        let mut replay = Journal::new("i", journal.since(0).to_vec());
        assert!(replay.replaying());
        let got = replay.replay(&Event::Now { ms: 0 }).unwrap().unwrap();
        assert_eq!(got.event, Event::Now { ms: 7 });
        assert!(!replay.replaying());
        assert_eq!(replay.time(), 7);
    }

    #[test]
    fn a_different_call_is_named_in_the_error() {
        let mut journal = Journal::new("i", vec![started()]);
        journal.record(1, Event::Random { value: 1 });
        let mut replay = Journal::new("inst-1", journal.since(0).to_vec());
        let error = replay
            .replay(&Event::Uuid {
                value: String::new(),
            })
            .unwrap_err();
        assert_eq!(error.position, 1);
        let text = error.to_string();
        assert!(
            text.contains("inst-1") && text.contains("random") && text.contains("uuid"),
            "{text}"
        );
    }
}
