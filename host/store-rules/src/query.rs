//! The SQL of an instance listing ([`InstanceQuery`]): its filters, its
//! order and its cursor, for a backend's placeholder style.
//!
//! Each filter adds a condition that is a range of one of the listing
//! indexes (by status, by name, by creation time, each ending in
//! `created_at`), read in listing order, so every page costs what it
//! returns however many instances there are.

use reprise_core::store::InstanceQuery;

use crate::sql_int;

/// The columns a backend reads an instance record from, in this order.
pub const INSTANCE_COLUMNS: &str = "id, name, digest, execution, input, status, output, \
    custom_status, parent_id, parent_execution, parent_task, created_at, updated_at, waiting, \
    pinned, forked_from_id, forked_from_execution, forked_from_event";

/// How a backend's SQL numbers its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `?1`, `?2`, … (SQLite).
    Question,
    /// `$1`, `$2`, … (PostgreSQL).
    Dollar,
}

impl Placeholders {
    /// The placeholder of parameter `n` (from 1).
    pub fn nth(self, n: usize) -> String {
        match self {
            Placeholders::Question => format!("?{n}"),
            Placeholders::Dollar => format!("${n}"),
        }
    }
}

/// A parameter's value, for the backend to hand its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// Text.
    Text(String),
    /// An integer.
    Integer(i64),
}

/// A statement and its parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// The parameters.
    pub values: Vec<SqlValue>,
}

/// The SELECT of [`INSTANCE_COLUMNS`] for `query`: newest first, then by
/// id, after the cursor, at most `query.limit` rows.
pub fn instances_sql(query: &InstanceQuery, style: Placeholders) -> Statement {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<SqlValue> = Vec::new();
    // Binds `value` as a new parameter; returns its placeholder.
    let mut bind = |value: SqlValue| {
        values.push(value);
        style.nth(values.len())
    };
    if let Some(status) = query.status {
        let p = bind(SqlValue::Text(status.as_str().into()));
        conditions.push(format!("status = {p}"));
    }
    if let Some(name) = &query.name {
        let p = bind(SqlValue::Text(name.clone()));
        conditions.push(format!("name = {p}"));
    }
    if let Some(from) = query.created_from {
        let p = bind(SqlValue::Integer(sql_int(from)));
        conditions.push(format!("created_at >= {p}"));
    }
    if let Some(before) = query.created_before {
        let p = bind(SqlValue::Integer(sql_int(before)));
        conditions.push(format!("created_at < {p}"));
    }
    if let Some(after) = &query.after {
        // After (t, id) in the order `created_at DESC, id`. The first
        // condition alone is the index range; the second trims its start.
        let time = bind(SqlValue::Integer(sql_int(after.created_at)));
        let id = bind(SqlValue::Text(after.id.clone()));
        conditions.push(format!("created_at <= {time}"));
        conditions.push(format!("(created_at < {time} OR id > {id})"));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let limit = bind(SqlValue::Integer(sql_int(
        u64::try_from(query.limit).unwrap_or(u64::MAX),
    )));
    Statement {
        sql: format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances{filter} \
             ORDER BY created_at DESC, id LIMIT {limit}"
        ),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reprise_core::store::{InstanceCursor, Status};

    fn every_filter() -> InstanceQuery {
        InstanceQuery {
            status: Some(Status::Running),
            name: Some("hello".into()),
            created_from: Some(10),
            created_before: Some(u64::MAX),
            after: Some(InstanceCursor {
                created_at: 50,
                id: "x".into(),
            }),
            limit: 20,
        }
    }

    fn select(rest: &str) -> String {
        format!("SELECT {INSTANCE_COLUMNS} FROM instances{rest}")
    }

    #[test]
    fn every_filter_in_either_placeholder_style() {
        let values = vec![
            SqlValue::Text("running".into()),
            SqlValue::Text("hello".into()),
            SqlValue::Integer(10),
            SqlValue::Integer(i64::MAX),
            SqlValue::Integer(50),
            SqlValue::Text("x".into()),
            SqlValue::Integer(20),
        ];
        assert_eq!(
            instances_sql(&every_filter(), Placeholders::Question),
            Statement {
                sql: select(
                    " WHERE status = ?1 AND name = ?2 AND created_at >= ?3 AND created_at < ?4 \
                     AND created_at <= ?5 AND (created_at < ?5 OR id > ?6) \
                     ORDER BY created_at DESC, id LIMIT ?7"
                ),
                values: values.clone(),
            }
        );
        assert_eq!(
            instances_sql(&every_filter(), Placeholders::Dollar),
            Statement {
                sql: select(
                    " WHERE status = $1 AND name = $2 AND created_at >= $3 AND created_at < $4 \
                     AND created_at <= $5 AND (created_at < $5 OR id > $6) \
                     ORDER BY created_at DESC, id LIMIT $7"
                ),
                values,
            }
        );
    }

    #[test]
    fn no_filter_lists_everything_with_no_limit_to_speak_of() {
        for (style, limit) in [(Placeholders::Question, "?1"), (Placeholders::Dollar, "$1")] {
            assert_eq!(
                instances_sql(&InstanceQuery::default(), style),
                Statement {
                    sql: select(&format!(" ORDER BY created_at DESC, id LIMIT {limit}")),
                    values: vec![SqlValue::Integer(i64::MAX)],
                }
            );
        }
    }

    #[test]
    fn a_cursor_alone_numbers_its_two_parameters() {
        let query = InstanceQuery {
            after: every_filter().after,
            ..InstanceQuery::status(None, 5)
        };
        let statement = instances_sql(&query, Placeholders::Dollar);
        assert_eq!(
            statement.sql,
            select(
                " WHERE created_at <= $1 AND (created_at < $1 OR id > $2) \
                 ORDER BY created_at DESC, id LIMIT $3"
            )
        );
        assert_eq!(
            statement.values,
            [
                SqlValue::Integer(50),
                SqlValue::Text("x".into()),
                SqlValue::Integer(5)
            ]
        );
    }
}
