//! Which instances to list: filters, and a cursor to page through them.
//!
//! Instances are listed newest first (`created_at` descending, then `id`
//! ascending among those created in the same millisecond). A page ends
//! with a [`InstanceCursor`]: asking again with it as `after` continues
//! exactly after that record, however many instances were created since
//! (keyset paging: no offsets, no page slips).

use super::{InstanceRecord, Status};

/// A position in the listing order: just after this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceCursor {
    /// The record's `created_at`.
    pub created_at: u64,
    /// The record's id.
    pub id: String,
}

impl InstanceCursor {
    /// The position just after `record`.
    pub fn after(record: &InstanceRecord) -> Self {
        Self {
            created_at: record.created_at,
            id: record.id.clone(),
        }
    }

    /// As text for a caller to hand back: `created_at.id`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    /// Reads [`Self::encode`]'s text; `None` if it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        let (created_at, id) = text.split_once('.')?;
        Some(Self {
            created_at: created_at.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// Which instances to list, newest first. The default lists all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceQuery {
    /// Only those with this status.
    pub status: Option<Status>,
    /// Only those of this orchestration.
    pub name: Option<String>,
    /// Only those created at or after this time (ms since the Unix epoch).
    pub created_from: Option<u64>,
    /// Only those created before this time (ms since the Unix epoch).
    pub created_before: Option<u64>,
    /// Only those after this position (the previous page's last record).
    pub after: Option<InstanceCursor>,
    /// At most this many.
    pub limit: usize,
}

impl Default for InstanceQuery {
    fn default() -> Self {
        Self {
            status: None,
            name: None,
            created_from: None,
            created_before: None,
            after: None,
            limit: usize::MAX,
        }
    }
}

impl InstanceQuery {
    /// At most `limit` instances with `status` (any status for `None`).
    pub fn status(status: Option<Status>, limit: usize) -> Self {
        Self {
            status,
            limit,
            ..Self::default()
        }
    }

    /// Whether `record` passes the filters and comes after the cursor: the
    /// query's meaning, for backends that filter in memory and for tests.
    pub fn matches(&self, record: &InstanceRecord) -> bool {
        self.status.is_none_or(|s| s == record.status)
            && self.name.as_ref().is_none_or(|n| *n == record.name)
            && self.created_from.is_none_or(|t| record.created_at >= t)
            && self.created_before.is_none_or(|t| record.created_at < t)
            && self.after.as_ref().is_none_or(|c| {
                record.created_at < c.created_at
                    || (record.created_at == c.created_at && record.id > c.id)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_its_text_and_ids_with_dots() {
        let cursor = InstanceCursor {
            created_at: 1_700_000_000_123,
            id: "order.7.b".into(),
        };
        assert_eq!(InstanceCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(InstanceCursor::decode("soon.x"), None);
        assert_eq!(InstanceCursor::decode("12"), None);
    }
}
