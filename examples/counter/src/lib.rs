//! An eternal orchestration: a counter that waits for `add` events, applies
//! each, and continues as new so its history never grows. Events that arrive
//! while it is between executions wait in the instance's inbox: none is lost.
//!
//! Build with: `cargo build -p counter --target wasm32-wasip2 --release`
//! Run with:   `reprise start counter --id c1 --input '{"until":3}'`, then
//!             `reprise raise-event c1 add 1` (three times, 1, 2, 3).

use reprise_sdk::{Context, Failure, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    /// Events applied so far.
    #[serde(default)]
    applied: u64,
    /// Sum of the values applied.
    #[serde(default)]
    total: i64,
    /// Stop after this many events; never when absent.
    #[serde(default)]
    until: Option<u64>,
    /// When set, each value must equal `applied + 1`: proves arrival order.
    #[serde(default)]
    check_order: bool,
}

fn counter(ctx: &Context, mut state: Counter) -> Result<Counter> {
    let value: i64 = ctx.wait_for_event("add").result()?;
    if state.check_order && value != state.applied as i64 + 1 {
        return Err(Failure::new(format!(
            "event out of order: got {value} after {} events",
            state.applied
        )));
    }
    state.applied += 1;
    state.total += value;
    ctx.set_custom_status(&state.total);
    if state.until.is_some_and(|until| state.applied >= until) {
        return Ok(state);
    }
    ctx.continue_as_new(&state)
}

reprise_sdk::app! {
    orchestrations: [counter],
    activities: [],
}
