//! The tables an archive holds, with their columns: the logical schema both
//! backends share, and the order they are written and restored in (a
//! component before the registrations that name it).

/// A column's kind, as every backend can store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer.
    Int,
    /// A flag (SQLite: 0 or 1; PostgreSQL: BOOLEAN).
    Bool,
    /// UTF-8 text.
    Text,
    /// Bytes (SQLite: BLOB, or TEXT in rows written before binary
    /// encodings; PostgreSQL: BYTEA).
    Bytes,
}

/// A column of an archived table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Its name, in both schemas.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// An archived table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Its name, in both schemas.
    pub name: &'static str,
    /// What its rows are, for people (plural).
    pub label: &'static str,
    /// Its columns, in archive order.
    pub columns: &'static [Column],
    /// Its key, the order rows are written in.
    pub order_by: &'static str,
    /// The column a backend numbers new rows by, whose counter a restore
    /// moves past the restored rows.
    pub serial: Option<&'static str>,
}

impl Table {
    /// Its columns' names, comma-separated, for SQL.
    pub fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|column| column.name).collect();
        names.join(", ")
    }
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn nullable(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

use Kind::{Bool, Bytes, Int, Text};

/// Every archived table, in the order they are written and restored.
pub const TABLES: &[Table] = &[
    Table {
        name: "components",
        label: "components",
        columns: &[
            col("digest", Text),
            col("bytes", Bytes),
            col("registered_at", Int),
        ],
        order_by: "digest",
        serial: None,
    },
    Table {
        name: "registrations",
        label: "registrations",
        columns: &[
            col("seq", Int),
            col("role", Text),
            col("name", Text),
            col("digest", Text),
        ],
        order_by: "seq",
        serial: Some("seq"),
    },
    Table {
        name: "instances",
        label: "instances",
        columns: &[
            col("id", Text),
            col("name", Text),
            col("digest", Text),
            col("pinned", Bool),
            col("execution", Int),
            col("input", Text),
            col("status", Text),
            nullable("output", Text),
            nullable("custom_status", Text),
            nullable("parent_id", Text),
            nullable("parent_execution", Int),
            nullable("parent_task", Int),
            col("created_at", Int),
            col("updated_at", Int),
            nullable("waiting", Text),
            nullable("forked_from_id", Text),
            nullable("forked_from_execution", Int),
            nullable("forked_from_event", Int),
        ],
        order_by: "id",
        serial: None,
    },
    Table {
        name: "history",
        label: "history events",
        columns: &[
            col("instance_id", Text),
            col("execution", Int),
            col("seq", Int),
            col("at", Int),
            col("event", Bytes),
        ],
        order_by: "instance_id, execution, seq",
        serial: None,
    },
    Table {
        name: "inbox",
        label: "inbox messages",
        columns: &[
            col("id", Int),
            col("instance_id", Text),
            nullable("execution", Int),
            nullable("task", Int),
            col("kind", Text),
            nullable("name", Text),
            col("payload", Text),
        ],
        order_by: "id",
        serial: Some("id"),
    },
    Table {
        name: "activity_tasks",
        label: "pending activities",
        columns: &[
            col("id", Int),
            col("instance_id", Text),
            col("execution", Int),
            col("task", Int),
            col("name", Text),
            col("digest", Text),
            col("input", Text),
            col("options", Text),
            col("attempt", Int),
            col("visible_at", Int),
            nullable("last_failure", Text),
        ],
        order_by: "id",
        serial: Some("id"),
    },
    Table {
        name: "timers",
        label: "timers",
        columns: &[
            col("instance_id", Text),
            col("execution", Int),
            col("task", Int),
            col("fire_at", Int),
        ],
        order_by: "instance_id, execution, task",
        serial: None,
    },
    Table {
        name: "actors",
        label: "actors",
        columns: &[
            col("kind", Text),
            col("key", Text),
            col("state", Text),
            col("updated_at", Int),
        ],
        order_by: "kind, key",
        serial: None,
    },
    Table {
        name: "actor_mailbox",
        label: "mailbox operations",
        columns: &[
            col("id", Int),
            col("kind", Text),
            col("key", Text),
            col("operation", Text),
            col("input", Text),
            col("reply", Text),
            col("visible_at", Int),
            nullable("atomic", Int),
        ],
        order_by: "id",
        serial: Some("id"),
    },
    Table {
        name: "actor_queues",
        label: "actor queues",
        columns: &[
            col("kind", Text),
            col("key", Text),
            col("depth", Int),
            col("next_due", Int),
        ],
        order_by: "kind, key",
        serial: None,
    },
    Table {
        name: "actor_atomic",
        label: "multi-actor operations",
        columns: &[col("id", Int), col("operations", Text), col("reply", Text)],
        order_by: "id",
        serial: Some("id"),
    },
    Table {
        name: "idempotency",
        label: "remembered requests",
        columns: &[
            col("key", Text),
            col("fingerprint", Text),
            col("answer", Text),
            nullable("call_request", Text),
            col("created_at", Int),
        ],
        order_by: "key",
        serial: None,
    },
    Table {
        name: "actor_results",
        label: "actor call outcomes",
        columns: &[col("request_id", Text), col("outcome", Text)],
        order_by: "request_id",
        serial: None,
    },
];
