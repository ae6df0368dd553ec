//! Suspending a guest: when it awaits a task that is not done, its episode
//! commits and it waits, hot, for the router to wake it with a message, an
//! activity result, a stop or an eviction.

use wasmtime::Result;

use super::state::{OrchestrationState, Unwind};
use crate::engine::GuestData;
use crate::runtime::Wake;

impl GuestData<OrchestrationState> {
    /// Commits the episode, then waits for the next message. Returns when
    /// something arrived; unwinds the guest when it must stop. `awaited`
    /// are the tasks the guest blocks on.
    pub(super) async fn wait(&mut self, awaited: &[u32]) -> Result<()> {
        let state = &mut self.state;
        if state.dry_run {
            return Err(Unwind::Stopped("history ends here".into()).into());
        }
        if state.has_writes() {
            let batch = state.take_batch_for_wait(awaited);
            let tenure = state
                .tenure
                .clone()
                .ok_or_else(|| Unwind::Stopped("no tenure".into()))?;
            state
                .shared
                .commit_as_worker(batch, &tenure)
                .await
                .map_err(|e| match e {
                    crate::store::StoreError::Conflict(why) => Unwind::Stopped(why),
                    other => Unwind::Store(other),
                })?;
        }
        let mut wakes = state
            .wakes
            .take()
            .ok_or_else(|| Unwind::Stopped("no inbox".into()))?;
        let evict_after = state.shared.evict_after;
        let router = &state.shared.router;
        router.idle(&state.instance_id, state.generation);
        let outcome = loop {
            let wake = match tokio::time::timeout(evict_after, wakes.recv()).await {
                Ok(Some(wake)) => wake,
                Ok(None) => break Err(Unwind::Stopped("the runtime is shutting down".into())),
                Err(_idle) => Wake::Evict,
            };
            match wake {
                Wake::Message(_) | Wake::Result(_) => {
                    router.busy(&state.instance_id, state.generation);
                    state.take_in(wake);
                    // Take in what else has arrived; a stop among it wins.
                    let mut stop = None;
                    while let Ok(more) = wakes.try_recv() {
                        match more {
                            Wake::Stop(why) => stop = Some(why),
                            Wake::Evict => {}
                            more => state.take_in(more),
                        }
                    }
                    break stop.map_or(Ok(()), |why| Err(Unwind::Stopped(why)));
                }
                Wake::Stop(why) => break Err(Unwind::Stopped(why)),
                Wake::Evict => {
                    if router.try_evict(&state.instance_id, state.generation, &wakes) {
                        break Err(Unwind::Evicted);
                    }
                }
            }
        };
        state.wakes = Some(wakes);
        self.budget.restart();
        Ok(outcome?)
    }
}
