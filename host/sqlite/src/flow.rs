//! Activities' slots on SQLite (`reprise_store_rules::flow`): the one
//! writer holds the write lock for the whole transaction, so what a take
//! counts cannot change before it inserts.

use rusqlite::{Connection, Transaction, params};

use crate::row::SqliteError;
use reprise_core::store::{ActivityFlow, ActivityLimit, ActivitySlot};
use reprise_store_rules::flow::{self, SlotCounts};
use reprise_store_rules::sql_int;

pub(crate) fn take_slot(
    tx: &Transaction<'_>,
    slot: &ActivitySlot,
    limit: &ActivityLimit,
    now: u64,
    until: u64,
) -> Result<(), SqliteError> {
    let renewed = tx
        .prepare_cached(
            "UPDATE activity_slots SET running_until = ?3 WHERE task_id = ?1 AND attempt = ?2",
        )?
        .execute(params![slot.task_id, slot.attempt, sql_int(until)])?;
    if renewed > 0 {
        return Ok(());
    }
    let now_sql = sql_int(now);
    tx.prepare_cached(
        "DELETE FROM activity_slots WHERE name = ?1 AND running_until <= ?2 AND started_at <= ?3",
    )?
    .execute(params![
        slot.name,
        now_sql,
        sql_int(flow::forget_before(limit, now))
    ])?;
    let counts = tx
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE running_until > ?2),
                    count(*) FILTER (WHERE running_until > ?2 AND key = ?3),
                    count(*) FILTER (WHERE started_at > ?4),
                    min(started_at) FILTER (WHERE started_at > ?4)
             FROM activity_slots WHERE name = ?1",
        )?
        .query_row(
            params![
                slot.name,
                now_sql,
                slot.key,
                sql_int(flow::window_start(limit, now))
            ],
            |row| {
                Ok(SlotCounts {
                    running: row.get::<_, i64>(0)?.max(0) as u64,
                    running_with_key: row.get::<_, i64>(1)?.max(0) as u64,
                    started_in_window: row.get::<_, i64>(2)?.max(0) as u64,
                    oldest_start_in_window: row.get::<_, Option<i64>>(3)?.map(|t| t.max(0) as u64),
                })
            },
        )?;
    flow::admit(slot, limit, counts, now)?;
    tx.prepare_cached(
        "INSERT INTO activity_slots (task_id, attempt, name, key, started_at, running_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        slot.task_id,
        slot.attempt,
        slot.name,
        slot.key,
        now_sql,
        sql_int(until)
    ])?;
    Ok(())
}

pub(crate) fn release_slot(
    tx: &Transaction<'_>,
    task_id: i64,
    attempt: u32,
    now: u64,
) -> Result<(), SqliteError> {
    tx.prepare_cached(
        "UPDATE activity_slots SET running_until = ?3
         WHERE task_id = ?1 AND attempt = ?2 AND running_until > ?3",
    )?
    .execute(params![task_id, attempt, sql_int(now)])?;
    Ok(())
}

pub(crate) fn activity_flow(conn: &Connection, now: u64) -> rusqlite::Result<Vec<ActivityFlow>> {
    let counts =
        |sql: &str, args: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<Vec<(String, u64)>> {
            let mut statement = conn.prepare_cached(sql)?;
            let rows = statement.query_map(args, |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?.max(0) as u64,
                ))
            })?;
            rows.collect()
        };
    let scheduled = counts(
        "SELECT name, count(*) FROM activity_tasks GROUP BY name",
        &[],
    )?;
    let running = counts(
        "SELECT name, count(*) FROM activity_slots WHERE running_until > ?1 GROUP BY name",
        &[&sql_int(now)],
    )?;
    Ok(flow::flows(scheduled, running))
}
