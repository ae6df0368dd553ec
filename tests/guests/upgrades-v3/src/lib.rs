//! A version of the approval example that live instances cannot move to:
//! its notice is worded differently, so the activity it schedules first
//! has other arguments than the one recorded in their histories.

use reprise_sdk::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    item: String,
    amount: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Notice {
    to: String,
    text: String,
}

fn approval(ctx: &Context, request: Request) -> Result<bool> {
    ctx.set_custom_status(&"waiting for manager");
    let text = format!("approval needed: {} ({})", request.item, request.amount);
    let to = "manager".into();
    let _: () = ctx.call_activity("notify", &Notice { to, text })?;
    ctx.wait_for_event::<bool>("approval").result()
}

fn notify(notice: Notice) -> Result<()> {
    println!("to {}: {}", notice.to, notice.text);
    Ok(())
}

reprise_sdk::app! {
    orchestrations: [approval],
    activities: [notify],
}
