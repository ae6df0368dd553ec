//! The change feed's entries: which op makes which entry, how an entry is
//! stored (a kind, a subject, a message id), and which [`Change`] it is
//! when read back. The backend stores the entries of each batch in the
//! same transaction as the batch, at positions that grow in commit order
//! (see [`reprise_core::store::feed`] for what the feed promises).

use reprise_core::store::{Change, Message, Op, Status};

/// Rows a backend keeps: a reader further behind than this gets a gap
/// and rescans.
pub const KEEP: u64 = 100_000;

/// Transactions a writer commits between prunings of the feed: pruning
/// reads the head and deletes, too much to pay at every commit.
pub const PRUNE_EVERY: u64 = 64;

/// The last position a pruning drops when the feed's newest position is
/// `head` and `keep` rows stay; `None` while there are no more than that.
pub fn prune_through(head: u64, keep: u64) -> Option<u64> {
    head.checked_sub(keep).filter(|through| *through > 0)
}

/// What a feed row says changed, as its `kind` column stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// An instance was created or its status or execution changed; the
    /// subject is its id.
    Instance,
    /// A message arrived; the subject is the addressee, the message column
    /// the message's id.
    Message,
    /// A client's actor call has its outcome; the subject is the request id.
    ActorResult,
    /// A live instance moved to new code; the subject is its id.
    Moved,
    /// Names were registered.
    Registrations,
    /// Activities were queued or rescheduled.
    Activities,
    /// Timers were set.
    Timers,
    /// Operations were queued for actors.
    Actors,
}

/// The work notices: one per batch however much of the kind it queued.
const NOTICES: [FeedKind; 4] = [
    FeedKind::Registrations,
    FeedKind::Activities,
    FeedKind::Timers,
    FeedKind::Actors,
];

impl FeedKind {
    /// The name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Instance => "instance",
            FeedKind::Message => "message",
            FeedKind::ActorResult => "actor_result",
            FeedKind::Moved => "moved",
            FeedKind::Registrations => "registrations",
            FeedKind::Activities => "activities",
            FeedKind::Timers => "timers",
            FeedKind::Actors => "actors",
        }
    }

    /// Parses [`FeedKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "instance" => FeedKind::Instance,
            "message" => FeedKind::Message,
            "actor_result" => FeedKind::ActorResult,
            "moved" => FeedKind::Moved,
            "registrations" => FeedKind::Registrations,
            "activities" => FeedKind::Activities,
            "timers" => FeedKind::Timers,
            "actors" => FeedKind::Actors,
            _ => return None,
        })
    }
}

/// One feed row to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// What changed.
    pub kind: FeedKind,
    /// Which instance or request, for the kinds that name one.
    pub subject: Option<String>,
    /// The inbox row, for [`FeedKind::Message`].
    pub message: Option<i64>,
}

/// The entries one batch makes, in the order its ops made them.
#[derive(Debug, Default)]
pub struct FeedEntries {
    entries: Vec<FeedEntry>,
    noticed: [bool; NOTICES.len()],
}

impl FeedEntries {
    /// Records the entry `op` makes now that it has taken effect. The
    /// messages an op inserts are recorded apart, with their ids (see
    /// [`FeedEntries::message`]); a `CreateInstance` whose id was taken did
    /// not take effect (the message to its parent is its entry).
    pub fn applied(&mut self, op: &Op) {
        match op {
            Op::CreateInstance { record, .. } => self.instance(&record.id),
            Op::SetStatus { instance_id, .. }
            | Op::ContinueAsNew { instance_id, .. }
            | Op::Rewind { instance_id, .. }
            | Op::Purge { instance_id } => self.instance(instance_id),
            Op::MoveInstance { instance_id, .. } => self.push(FeedEntry {
                kind: FeedKind::Moved,
                subject: Some(instance_id.clone()),
                message: None,
            }),
            Op::RegisterComponent { .. } => self.notice(FeedKind::Registrations),
            Op::ScheduleActivity(_) | Op::RetryActivity { .. } => self.notice(FeedKind::Activities),
            Op::ScheduleTimer(_) => self.notice(FeedKind::Timers),
            Op::EnqueueActor { .. } | Op::EnqueueAtomic { .. } => self.notice(FeedKind::Actors),
            Op::PutActorResult { request_id, .. } => self.push(FeedEntry {
                kind: FeedKind::ActorResult,
                subject: Some(request_id.clone()),
                message: None,
            }),
            // No entry of their own: the messages they insert have theirs,
            // and the rest is the writing host's own business (its episodes'
            // history, its leases) that no other host follows.
            Op::ExpectRunning { .. }
            | Op::CacheCompiled { .. }
            | Op::AppendHistory { .. }
            | Op::Send(_)
            | Op::Consume(_)
            | Op::SetWaiting { .. }
            | Op::SetCustomStatus { .. }
            | Op::CompleteActivity { .. }
            | Op::ConsumeActivity { .. }
            | Op::FireTimer { .. }
            | Op::ApplyActors { .. }
            | Op::DropActorResult { .. }
            | Op::RememberRequest { .. }
            | Op::ForgetRequests { .. }
            | Op::TakeActivitySlot { .. }
            | Op::ReleaseActivitySlot { .. }
            | Op::TakeLease { .. }
            | Op::ExpectLease { .. }
            | Op::ReleaseLease { .. } => {}
        }
    }

    /// Records that message `id` was inserted into `instance_id`'s inbox,
    /// whichever op inserted it.
    pub fn message(&mut self, instance_id: &str, id: i64) {
        self.push(FeedEntry {
            kind: FeedKind::Message,
            subject: Some(instance_id.to_owned()),
            message: Some(id),
        });
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[FeedEntry] {
        &self.entries
    }

    /// The entries, in order, to store.
    pub fn into_entries(self) -> Vec<FeedEntry> {
        self.entries
    }

    fn instance(&mut self, id: &str) {
        self.push(FeedEntry {
            kind: FeedKind::Instance,
            subject: Some(id.to_owned()),
            message: None,
        });
    }

    fn notice(&mut self, kind: FeedKind) {
        let Some(index) = NOTICES.iter().position(|k| *k == kind) else {
            return;
        };
        if !std::mem::replace(&mut self.noticed[index], true) {
            self.push(FeedEntry {
                kind,
                subject: None,
                message: None,
            });
        }
    }

    fn push(&mut self, entry: FeedEntry) {
        self.entries.push(entry);
    }
}

/// A feed row as read back, joined with what it names as that is now: the
/// backend reads each column only when asked, since which ones hold a
/// value depends on the kind.
pub trait FeedRow {
    /// The backend's error (a corrupt row, a failed read).
    type Error;
    /// The `kind` column.
    fn kind(&self) -> Result<String, Self::Error>;
    /// The `subject` column.
    fn subject(&self) -> Result<String, Self::Error>;
    /// The named instance's status now; `None` once it has been purged.
    fn status(&self) -> Result<Option<Status>, Self::Error>;
    /// The named message; `None` once it has been consumed.
    fn message(&self) -> Result<Option<Message>, Self::Error>;
    /// The error for a kind this store does not know.
    fn unknown_kind(&self, kind: &str) -> Self::Error;
}

/// The change `row` reports; `None` for a message consumed before it was
/// read: someone handled it.
pub fn change<R: FeedRow>(row: &R) -> Result<Option<Change>, R::Error> {
    let kind = row.kind()?;
    let Some(kind) = FeedKind::parse(&kind) else {
        return Err(row.unknown_kind(&kind));
    };
    Ok(Some(match kind {
        FeedKind::Instance => Change::Instance {
            id: row.subject()?,
            status: row.status()?,
        },
        FeedKind::Message => match row.message()? {
            Some(message) => Change::Message(message),
            None => return Ok(None),
        },
        FeedKind::ActorResult => Change::ActorResult {
            request_id: row.subject()?,
        },
        FeedKind::Moved => Change::Moved { id: row.subject()? },
        FeedKind::Registrations => Change::Registrations,
        FeedKind::Activities => Change::Activities,
        FeedKind::Timers => Change::Timers,
        FeedKind::Actors => Change::Actors,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprise_core::store::{MessageKind, TimerRecord};

    fn timer(task: u32) -> Op {
        Op::ScheduleTimer(TimerRecord {
            instance_id: "a".into(),
            execution: 0,
            task,
            fire_at: 9,
        })
    }

    #[test]
    fn ops_make_their_entries_and_work_is_noticed_once_per_batch() {
        let mut feed = FeedEntries::default();
        feed.applied(&Op::create_instance(
            "a".into(),
            "o",
            "d".into(),
            "1",
            None,
            1,
        ));
        feed.applied(&timer(1));
        feed.message("b", 7);
        feed.applied(&timer(2));
        feed.applied(&Op::PutActorResult {
            request_id: "r".into(),
            outcome: "{}".into(),
        });
        feed.applied(&Op::Consume(vec![7]));
        let kinds: Vec<_> = feed.entries().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                FeedKind::Instance,
                FeedKind::Timers,
                FeedKind::Message,
                FeedKind::ActorResult,
            ]
        );
        let entries = feed.into_entries();
        assert_eq!(entries[0].subject.as_deref(), Some("a"));
        assert_eq!(
            (entries[2].subject.as_deref(), entries[2].message),
            (Some("b"), Some(7))
        );
    }

    #[test]
    fn pruning_keeps_the_newest_rows() {
        assert_eq!(prune_through(10, 3), Some(7));
        assert_eq!(prune_through(3, 3), None);
        assert_eq!(prune_through(2, 3), None);
        assert_eq!(prune_through(KEEP + 1, KEEP), Some(1));
    }

    #[test]
    fn every_kind_survives_its_stored_name() {
        let kinds = [
            FeedKind::Instance,
            FeedKind::Message,
            FeedKind::ActorResult,
            FeedKind::Registrations,
            FeedKind::Activities,
            FeedKind::Timers,
            FeedKind::Actors,
        ];
        for kind in kinds {
            assert_eq!(FeedKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(FeedKind::parse("instances"), None);
    }

    /// A row held in memory, as a backend's would be read.
    struct Row {
        kind: &'static str,
        message: Option<Message>,
    }

    impl FeedRow for Row {
        type Error = String;
        fn kind(&self) -> Result<String, String> {
            Ok(self.kind.into())
        }
        fn subject(&self) -> Result<String, String> {
            Ok("s".into())
        }
        fn status(&self) -> Result<Option<Status>, String> {
            Ok(Some(Status::Failed))
        }
        fn message(&self) -> Result<Option<Message>, String> {
            Ok(self.message.clone())
        }
        fn unknown_kind(&self, kind: &str) -> String {
            format!("unknown change kind {kind:?}")
        }
    }

    #[test]
    fn rows_read_back_as_changes_and_consumed_messages_are_left_out() {
        let read = |kind, message| change(&Row { kind, message });
        assert_eq!(
            read("instance", None),
            Ok(Some(Change::Instance {
                id: "s".into(),
                status: Some(Status::Failed)
            }))
        );
        assert_eq!(read("message", None), Ok(None));
        let message = Message {
            id: 3,
            instance_id: "s".into(),
            execution: None,
            task: None,
            kind: MessageKind::Event,
            name: Some("go".into()),
            payload: "1".into(),
        };
        assert_eq!(
            read("message", Some(message.clone())),
            Ok(Some(Change::Message(message)))
        );
        assert_eq!(
            read("actor_result", None),
            Ok(Some(Change::ActorResult {
                request_id: "s".into()
            }))
        );
        assert_eq!(read("timers", None), Ok(Some(Change::Timers)));
        assert_eq!(
            read("gossip", None),
            Err("unknown change kind \"gossip\"".into())
        );
    }
}
