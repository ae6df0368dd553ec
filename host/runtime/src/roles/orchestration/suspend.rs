//! Suspending a guest: when it awaits a task that is not done, its episode
//! commits and it waits, hot, for its driver to wake it with a message, an
//! activity result, a stop or an eviction.

use wasmtime::Result;

use super::Wake;
use super::state::{OrchestrationState, Unwind};
use crate::store::StoreError;
use crate::wasm::GuestData;

impl GuestData<OrchestrationState> {
    /// Commits the episode, then waits for the next message. Returns when
    /// something arrived; unwinds the guest when it must stop. `awaited`
    /// are the tasks the guest blocks on.
    pub(super) async fn wait(&mut self, awaited: &[u32]) -> Result<()> {
        let state = &mut self.state;
        let Some(driver) = state.driver.clone() else {
            return Err(Unwind::Stopped("history ends here".into()).into());
        };
        if state.has_writes() {
            let batch = state.take_batch_for_wait(awaited);
            driver.commit(batch).await.map_err(|e| match e {
                StoreError::Conflict(why) => Unwind::Reload(why),
                other => Unwind::Store(other),
            })?;
        }
        let mut wakes = state
            .wakes
            .take()
            .ok_or_else(|| Unwind::Stopped("no inbox".into()))?;
        let evict_after = driver.evict_after();
        driver.idle();
        let outcome = loop {
            let wake = match tokio::time::timeout(evict_after, wakes.recv()).await {
                Ok(Some(wake)) => wake,
                Ok(None) => break Err(Unwind::Stopped("the runtime is shutting down".into())),
                Err(_idle) => Wake::Evict,
            };
            match wake {
                Wake::Message(_) | Wake::Result(_) => {
                    driver.busy();
                    state.take_in(wake);
                    // Take in what else has arrived; a stop or a move
                    // among it wins.
                    let mut stop = None;
                    while let Ok(more) = wakes.try_recv() {
                        match more {
                            Wake::Stop(why) => stop = Some(Unwind::Stopped(why)),
                            Wake::Reload => stop = Some(Unwind::Reload("moved".into())),
                            Wake::Evict => {}
                            more => state.take_in(more),
                        }
                    }
                    break stop.map_or(Ok(()), Err);
                }
                Wake::Stop(why) => break Err(Unwind::Stopped(why)),
                Wake::Reload => break Err(Unwind::Reload("moved to new code".into())),
                Wake::Evict => {
                    if driver.try_evict(&wakes) {
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
