//! What each [`Op`] does on PostgreSQL: the rows it reads, the shared rule
//! it asks (`reprise_store_rules`), the rows it writes.
//!
//! Rows other writers may touch at the same time are locked before they are
//! judged (`FOR UPDATE`), and inserts that could collide use `ON CONFLICT`,
//! so a check and the write it allows see the same row.

use reprise_core::store::{ActivityTask, Op};
use reprise_store_rules::{cleanup, json, lease, verdict};

use crate::batch::{Ops, returned_id};
use crate::row::{self, PgError, int};

impl Ops<'_, '_> {
    /// Applies `op`, and records the feed entry it makes.
    pub(crate) async fn apply(&mut self, op: &Op) -> Result<(), PgError> {
        match op {
            Op::ExpectRunning {
                instance_id,
                execution,
                digest,
            } => {
                let found = self.lock_instance(instance_id).await?;
                verdict::expect_running(instance_id, *execution, digest.as_deref(), found)?;
            }
            Op::RegisterComponent {
                digest,
                bytes,
                names,
                at,
            } => {
                self.execute(
                    "INSERT INTO components (digest, bytes, registered_at) VALUES ($1, $2, $3)
                     ON CONFLICT (digest) DO NOTHING",
                    &[digest, bytes, &int(*at)],
                )
                .await?;
                for (role, name) in names {
                    self.execute(
                        "INSERT INTO registrations (role, name, digest) VALUES ($1, $2, $3)",
                        &[&role.as_str(), name, digest],
                    )
                    .await?;
                }
            }
            Op::CacheCompiled {
                digest,
                engine,
                bytes,
            } => {
                self.execute(
                    "INSERT INTO compiled (digest, engine, bytes) VALUES ($1, $2, $3)
                     ON CONFLICT (digest, engine) DO UPDATE SET bytes = EXCLUDED.bytes",
                    &[digest, engine, bytes],
                )
                .await?;
            }
            Op::CreateInstance { record, started } => {
                if !self.insert_instance(record).await? {
                    // No instance entry: the parent's message is this op's.
                    return self.send(&verdict::duplicate_instance(record)?).await;
                }
                self.append_history(&record.id, record.execution, std::slice::from_ref(started))
                    .await?;
            }
            Op::AppendHistory {
                instance_id,
                execution,
                events,
            } => self.append_history(instance_id, *execution, events).await?,
            Op::ScheduleActivity(task) => {
                let row = self
                    .query_opt(
                        "INSERT INTO activity_tasks
                             (instance_id, execution, task, name, digest, input, options, attempt, visible_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                        &[
                            &task.instance_id,
                            &i64::from(task.execution),
                            &i64::from(task.task),
                            &task.name,
                            &task.digest,
                            &task.input,
                            &json(&task.options)?,
                            &i64::from(task.attempt),
                            &int(task.visible_at),
                        ],
                    )
                    .await?;
                self.out.committed.activities.push(ActivityTask {
                    id: returned_id(row)?,
                    ..task.clone()
                });
            }
            Op::ScheduleTimer(timer) => {
                self.execute(
                    "INSERT INTO timers (instance_id, execution, task, fire_at) VALUES ($1, $2, $3, $4)",
                    &[
                        &timer.instance_id,
                        &i64::from(timer.execution),
                        &i64::from(timer.task),
                        &int(timer.fire_at),
                    ],
                )
                .await?;
            }
            Op::Send(message) => {
                if verdict::checks_addressee(message) {
                    // Locked: a terminate committing beside it waits, or wins.
                    let addressee = self.lock_instance(&message.instance_id).await?;
                    verdict::accept_event(&message.instance_id, addressee)?;
                }
                self.send(message).await?;
            }
            Op::Consume(ids) => {
                self.execute("DELETE FROM inbox WHERE id = ANY($1)", &[ids])
                    .await?;
            }
            Op::SetWaiting {
                instance_id,
                waiting,
            } => {
                // The episode's commit is the instance's latest sign of life.
                self.execute(
                    "UPDATE instances SET waiting = $3, updated_at = $4
                     WHERE id = $1 AND execution = $2",
                    &[
                        instance_id,
                        &i64::from(waiting.execution),
                        &json(waiting)?,
                        &int(waiting.since),
                    ],
                )
                .await?;
            }
            Op::SetCustomStatus {
                instance_id,
                status,
                at,
            } => {
                self.execute(
                    "UPDATE instances SET custom_status = $2, updated_at = $3 WHERE id = $1",
                    &[instance_id, status, &int(*at)],
                )
                .await?;
            }
            Op::SetStatus {
                instance_id,
                status,
                output,
                at,
            } => {
                let change = cleanup::status_change(*status);
                let changed = self
                    .execute(
                        "UPDATE instances SET status = $2, output = $3, updated_at = $4,
                             waiting = CASE WHEN $5 THEN NULL ELSE waiting END
                         WHERE id = $1",
                        &[
                            instance_id,
                            &status.as_str(),
                            output,
                            &int(*at),
                            &change.clears_waiting,
                        ],
                    )
                    .await?;
                if changed == 0 {
                    return Err(verdict::no_instance(instance_id).into());
                }
                for owned in change.drops {
                    self.delete_owned(*owned, instance_id, None).await?;
                }
            }
            Op::ContinueAsNew {
                instance_id,
                execution,
                input,
                digest,
                started,
            } => {
                let next = execution + 1;
                self.execute(
                    "UPDATE instances SET execution = $2, input = $3, updated_at = $4, waiting = NULL,
                         digest = $5
                     WHERE id = $1",
                    &[instance_id, &i64::from(next), input, &int(started.at), digest],
                )
                .await?;
                for owned in cleanup::DROPPED_BY_CONTINUE_AS_NEW {
                    self.delete_owned(*owned, instance_id, Some(*execution))
                        .await?;
                }
                self.append_history(instance_id, next, std::slice::from_ref(started))
                    .await?;
            }
            Op::MoveInstance {
                instance_id,
                execution,
                from,
                to,
                events,
                at,
            } => {
                // Locked first: no episode of the old code commits between
                // the count and the move.
                let found = self.lock_instance(instance_id).await?;
                let recorded = self.history_len(instance_id, *execution).await?;
                let checked = verdict::Move {
                    execution: *execution,
                    from,
                    to,
                    events: *events,
                    at: *at,
                };
                let moved = verdict::move_instance(instance_id, checked, found, recorded)?;
                self.append_history(instance_id, *execution, std::slice::from_ref(&moved))
                    .await?;
                self.execute(
                    "UPDATE instances SET digest = $2, updated_at = $3 WHERE id = $1",
                    &[instance_id, to, &int(*at)],
                )
                .await?;
            }
            Op::Rewind {
                instance_id,
                execution,
                events,
                marker,
                at,
            } => {
                // Locked first, as for a move: the count is the history cut.
                let found = self.lock_instance(instance_id).await?;
                let execution_key = i64::from(*execution);
                let recorded = self.history_len(instance_id, *execution).await?;
                let cut_at = marker.seq;
                verdict::rewind(instance_id, *execution, *events, cut_at, found, recorded)?;
                let cut_key = i64::from(cut_at);
                self.execute(
                    "DELETE FROM history WHERE instance_id = $1 AND execution = $2 AND seq >= $3",
                    &[instance_id, &execution_key, &cut_key],
                )
                .await?;
                self.append_history(instance_id, *execution, std::slice::from_ref(marker))
                    .await?;
                self.execute(
                    "DELETE FROM inbox WHERE instance_id = $1 AND execution = $2 AND task >= $3",
                    &[instance_id, &execution_key, &cut_key],
                )
                .await?;
                self.execute(
                    "UPDATE instances SET status = 'running', output = NULL, waiting = NULL,
                         updated_at = $2
                     WHERE id = $1",
                    &[instance_id, &int(*at)],
                )
                .await?;
            }
            Op::CompleteActivity { task_id, message } => {
                if verdict::delivers(self.remove_activity(*task_id).await?) {
                    self.send(message).await?;
                }
            }
            Op::ConsumeActivity { task_id } => {
                self.remove_activity(*task_id).await?;
            }
            Op::RetryActivity {
                task_id,
                attempt,
                visible_at,
                failure,
            } => {
                self.execute(
                    "UPDATE activity_tasks SET attempt = $2, visible_at = $3, last_failure = $4
                     WHERE id = $1",
                    &[
                        task_id,
                        &i64::from(*attempt),
                        &int(*visible_at),
                        &json(failure)?,
                    ],
                )
                .await?;
            }
            Op::FireTimer { timer, message } => {
                let removed = self
                    .execute(
                        "DELETE FROM timers WHERE instance_id = $1 AND execution = $2 AND task = $3",
                        &[
                            &timer.instance_id,
                            &i64::from(timer.execution),
                            &i64::from(timer.task),
                        ],
                    )
                    .await?;
                if verdict::delivers(removed) {
                    self.send(message).await?;
                }
            }
            Op::TakeActivitySlot {
                slot,
                limit,
                now,
                until,
            } => self.take_slot(slot, limit, *now, *until).await?,
            Op::ReleaseActivitySlot {
                task_id,
                attempt,
                now,
            } => self.release_slot(*task_id, *attempt, *now).await?,
            Op::EnqueueActor {
                operation,
                reply,
                visible_at,
                capacity,
            } => {
                self.enqueue(operation, reply, *visible_at, *capacity)
                    .await?
            }
            Op::EnqueueAtomic {
                operations,
                reply,
                capacity,
            } => self.enqueue_atomic(operations, reply, *capacity).await?,
            Op::ApplyActors {
                dequeued,
                atomic,
                states,
                at,
            } => self.apply_actors(dequeued, *atomic, states, *at).await?,
            Op::PutActorResult {
                request_id,
                outcome,
            } => {
                self.execute(
                    "INSERT INTO actor_results (request_id, outcome) VALUES ($1, $2)
                     ON CONFLICT (request_id) DO UPDATE SET outcome = EXCLUDED.outcome",
                    &[request_id, outcome],
                )
                .await?;
            }
            Op::RememberRequest {
                request,
                forget_before,
            } => {
                let remembered = self
                    .execute(
                        "INSERT INTO idempotency (key, fingerprint, answer, call_request, created_at)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (key) DO UPDATE SET fingerprint = $2, answer = $3,
                             call_request = $4, created_at = $5
                         WHERE idempotency.created_at < $6",
                        &[
                            &request.key,
                            &request.fingerprint,
                            &request.answer,
                            &request.call,
                            &int(request.at),
                            &int(*forget_before),
                        ],
                    )
                    .await?;
                verdict::remembered_once(&request.key, remembered)?;
            }
            Op::ForgetRequests { before } => {
                self.execute(
                    "DELETE FROM actor_results WHERE request_id IN
                         (SELECT call_request FROM idempotency WHERE created_at < $1)",
                    &[&int(*before)],
                )
                .await?;
                self.execute(
                    "DELETE FROM idempotency WHERE created_at < $1",
                    &[&int(*before)],
                )
                .await?;
            }
            Op::DropActorResult { request_id } => {
                self.execute(
                    "DELETE FROM actor_results WHERE request_id = $1",
                    &[request_id],
                )
                .await?;
            }
            Op::TakeLease {
                name,
                owner,
                now,
                until,
            } => {
                let current = self.lock_lease(name).await?;
                let token = lease::take_lease(name, owner, *now, Some(&current))?;
                self.execute(
                    "UPDATE leases SET owner = $2, token = $3, expires_at = $4 WHERE name = $1",
                    &[name, owner, &int(token), &int(*until)],
                )
                .await?;
                self.out.committed.lease = Some(token);
            }
            Op::ExpectLease { name, token } => {
                // Shared: the lease cannot change hands before this commits.
                let row = self
                    .query_opt(
                        "SELECT name, owner, token, expires_at FROM leases WHERE name = $1
                         FOR SHARE",
                        &[name],
                    )
                    .await?;
                let current = row.map(|row| row::lease(&row)).transpose()?;
                lease::expect_lease(name, *token, current.as_ref())?;
            }
            Op::ReleaseLease { name, owner } => {
                // Expired rather than deleted: the token must keep growing.
                self.execute(
                    "UPDATE leases SET expires_at = 0 WHERE name = $1 AND owner = $2",
                    &[name, owner],
                )
                .await?;
            }
            Op::Purge { instance_id } => {
                let found = self.lock_instance(instance_id).await?;
                verdict::purge(instance_id, found)?;
                for owned in cleanup::PURGED {
                    self.delete_owned(*owned, instance_id, None).await?;
                }
                self.execute("DELETE FROM instances WHERE id = $1", &[instance_id])
                    .await?;
            }
        }
        self.out.feed.applied(op);
        Ok(())
    }
}
