//! Activities under flow control: one that notes when it ran, by its own
//! clock, and a fan-out of it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reprise_sdk::{Context, Result};
use serde::{Deserialize, Serialize};

/// What `stamped` is asked to do.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Stamp {
    customer: String,
    pause_ms: u64,
}

/// When `stamped` ran, by its own clock, and on which host (`REPRISE_HOST`
/// in its environment, when the worker grants it).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Stamped {
    customer: String,
    start_ms: u64,
    end_ms: u64,
    host: Option<String>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

pub(crate) fn stamped(stamp: Stamp) -> Result<Stamped> {
    let start_ms = now_ms();
    std::thread::sleep(Duration::from_millis(stamp.pause_ms));
    Ok(Stamped {
        customer: stamp.customer,
        start_ms,
        end_ms: now_ms(),
        host: std::env::var("REPRISE_HOST").ok(),
    })
}

/// Runs `stamped` `count` times at once, for `customers` customers in
/// turn, each pausing `pause_ms`; returns what each noted.
pub(crate) fn stamped_fan_out(
    ctx: &Context,
    (count, customers, pause_ms): (u32, u32, u64),
) -> Result<Vec<Stamped>> {
    let tasks = (0..count)
        .map(|n| {
            let stamp = Stamp {
                customer: format!("c{}", n % customers.max(1)),
                pause_ms,
            };
            ctx.schedule_activity::<_, Stamped>("stamped", &stamp)
        })
        .collect();
    ctx.when_all(tasks)
}
