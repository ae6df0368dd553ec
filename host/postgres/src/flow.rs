//! Activities' slots on PostgreSQL (`reprise_store_rules::flow`). Writers
//! on several hosts take slots of one activity at once, so a take first
//! holds the activity's advisory lock until its transaction ends: the
//! counts it judges are then the ones committed by every take before it
//! (READ COMMITTED reads each statement afresh).

use tokio_postgres::GenericClient;

use crate::batch::Ops;
use crate::row::{PgError, int};
use reprise_core::store::{ActivityFlow, ActivityLimit, ActivitySlot, StoreError};
use reprise_store_rules::flow::{self, SlotCounts};

/// The advisory locks of activities' slots, apart from the others'.
const SLOT_LOCKS: i32 = 0x5350_4c54;

fn count(row: &tokio_postgres::Row, column: usize) -> u64 {
    row.get::<_, i64>(column).max(0) as u64
}

impl Ops<'_, '_> {
    pub(crate) async fn take_slot(
        &mut self,
        slot: &ActivitySlot,
        limit: &ActivityLimit,
        now: u64,
        until: u64,
    ) -> Result<(), PgError> {
        self.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&SLOT_LOCKS, &slot.name],
        )
        .await?;
        let attempt = i64::from(slot.attempt);
        let renewed = self
            .execute(
                "UPDATE activity_slots SET running_until = $3 WHERE task_id = $1 AND attempt = $2",
                &[&slot.task_id, &attempt, &int(until)],
            )
            .await?;
        if renewed > 0 {
            return Ok(());
        }
        self.execute(
            "DELETE FROM activity_slots
             WHERE name = $1 AND running_until <= $2 AND started_at <= $3",
            &[&slot.name, &int(now), &int(flow::forget_before(limit, now))],
        )
        .await?;
        let row = self
            .query(
                "SELECT count(*) FILTER (WHERE running_until > $2),
                        count(*) FILTER (WHERE running_until > $2 AND key = $3),
                        count(*) FILTER (WHERE started_at > $4),
                        min(started_at) FILTER (WHERE started_at > $4)
                 FROM activity_slots WHERE name = $1",
                &[
                    &slot.name,
                    &int(now),
                    &slot.key,
                    &int(flow::window_start(limit, now)),
                ],
            )
            .await?;
        let row = row
            .first()
            .ok_or_else(|| StoreError::Database("an aggregate gave no row".into()))?;
        let counts = SlotCounts {
            running: count(row, 0),
            running_with_key: count(row, 1),
            started_in_window: count(row, 2),
            oldest_start_in_window: row.get::<_, Option<i64>>(3).map(|t| t.max(0) as u64),
        };
        flow::admit(slot, limit, counts, now)?;
        self.execute(
            "INSERT INTO activity_slots (task_id, attempt, name, key, started_at, running_until)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &slot.task_id,
                &attempt,
                &slot.name,
                &slot.key,
                &int(now),
                &int(until),
            ],
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn release_slot(
        &mut self,
        task_id: i64,
        attempt: u32,
        now: u64,
    ) -> Result<(), PgError> {
        self.execute(
            "UPDATE activity_slots SET running_until = $3
             WHERE task_id = $1 AND attempt = $2 AND running_until > $3",
            &[&task_id, &i64::from(attempt), &int(now)],
        )
        .await?;
        Ok(())
    }
}

pub(crate) async fn activity_flow(
    client: &impl GenericClient,
    now: u64,
) -> Result<Vec<ActivityFlow>, PgError> {
    let by_name = |rows: Vec<tokio_postgres::Row>| -> Vec<(String, u64)> {
        rows.iter().map(|r| (r.get(0), count(r, 1))).collect()
    };
    let scheduled = client
        .query(
            "SELECT name, count(*) FROM activity_tasks GROUP BY name",
            &[],
        )
        .await?;
    let running = client
        .query(
            "SELECT name, count(*) FROM activity_slots WHERE running_until > $1 GROUP BY name",
            &[&int(now)],
        )
        .await?;
    Ok(flow::flows(by_name(scheduled), by_name(running)))
}
