//! The [`Store`] contract as tests, written against the trait alone, that
//! every backend runs: a backend implements [`Backend`] (how to make an
//! empty database and open handles on it) and invokes [`conformance!`] in
//! one of its test files:
//!
//! ```ignore
//! reprise_store_tests::conformance!(MyBackend);
//! ```
//!
//! Each case becomes a `#[tokio::test]` of its own, named after it, so a
//! failure says which promise broke. The cases are in [`cases`], grouped by
//! what they cover.

use std::future::Future;
use std::sync::Arc;

use reprise_core::store::Store;

pub mod cases;
mod fixtures;

/// A backend under test.
pub trait Backend: Send + Sync + Sized + 'static {
    /// Creates an empty database, kept until this value is dropped.
    fn create() -> impl Future<Output = Self> + Send;
    /// Opens a new handle on the database, as another process would: its
    /// commits are another handle's in the change feed.
    fn connect(&self) -> impl Future<Output = Arc<dyn Store>> + Send;
}

/// Expands to one `#[tokio::test]` per conformance case, run on `$backend`.
/// The invoking crate needs `tokio` with the `macros` and `rt-multi-thread`
/// features among its dev-dependencies.
#[macro_export]
macro_rules! conformance {
    ($backend:ty) => {
        $crate::cases!(
            $backend;
            batches_queued_together_commit_each_on_its_own,
            a_batch_sees_what_batches_queued_before_it_wrote,
            inboxes_keep_arrival_order_per_instance,
            events_for_unknown_or_finished_instances_are_refused,
            a_duplicate_instance_id_is_refused_or_reported_to_its_parent,
            continue_as_new_keeps_events_and_drops_the_old_execution,
            a_fork_keeps_its_lineage_for_its_life,
            an_instance_resumes_from_its_record_current_history_and_inbox,
            finishing_drops_pending_activities_and_timers,
            an_activity_result_is_delivered_once,
            retries_become_visible_at_their_time,
            timers_come_earliest_first_and_fire_once,
            a_mailbox_is_read_in_arrival_order_and_each_operation_applied_once,
            an_actor_is_due_while_any_operation_is_due,
            an_atomic_operation_changes_every_actor_or_none,
            atomic_requests_take_their_turns_in_one_arrival_order,
            a_full_mailbox_refuses_the_batch_that_would_overfill_it,
            actor_results_are_kept_until_dropped,
            a_request_with_an_idempotency_key_takes_effect_once,
            activity_slots_hold_a_concurrency_limit_across_handles,
            activity_slots_hold_per_key_limits_and_rates,
            activity_flow_counts_tasks_and_running_slots_by_name,
            a_lease_is_refused_to_others_until_it_runs_out_and_its_token_grows,
            work_fenced_by_a_lease_that_moved_on_is_refused,
            leases_are_listed_by_name_with_holder_token_and_expiry,
            the_feed_shows_other_handles_changes_in_commit_order,
            the_feed_leaves_out_consumed_messages_and_pages,
            registrations_keep_their_order_and_compiled_code_its_engine,
            only_finished_instances_are_purged_and_then_entirely,
            instances_are_listed_by_filter_and_paged_by_cursor,
            rows_take_their_times_from_the_ops,
            an_instance_keeps_what_it_awaits_until_it_moves_on,
            outstanding_work_is_an_executions_unfinished_activities_and_timers,
            an_actor_queue_lists_its_operations_in_arrival_order,
            counts_follow_what_the_store_holds,
            a_move_to_new_code_needs_the_history_that_was_checked,
            the_next_execution_runs_the_code_continue_as_new_names,
            a_rewind_cuts_only_the_failed_history_that_was_read,
            an_instance_takes_its_history_and_events_in_the_batch_that_creates_it,
            an_archive_restores_every_row_into_an_empty_database,
            an_export_is_one_snapshot_while_others_commit,
            an_import_changes_nothing_unless_it_all_arrives_into_an_empty_database,
        );
    };
}

/// Implementation detail of [`conformance!`].
#[doc(hidden)]
#[macro_export]
macro_rules! cases {
    ($backend:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::cases::$case::<$backend>().await;
            }
        )*
    };
}
