//! Human interaction: ask a manager for approval and wait for their answer
//! (an external event) or a deadline (a durable timer), whichever comes
//! first. On the first deadline the request is escalated; on the second it
//! is rejected. The instance may sleep for days; nothing is held in memory.
//!
//! Build with: `cargo build -p approval --target wasm32-wasip2 --release`
//! Run with:   `reprise start approval --id req-1 --input '{"item":"laptop","amount":1800,"timeout_secs":60}'`
//! Approve:    `reprise raise-event req-1 approval '{"approved":true,"by":"dana"}'`

use std::time::Duration;

use reprise_sdk::{Context, LogLevel, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Request {
    item: String,
    amount: u64,
    /// How long each approver has, in seconds.
    timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Decision {
    approved: bool,
    by: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Notice {
    to: String,
    text: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Outcome {
    approved: bool,
    by: String,
    escalated: bool,
}

/// Waits for the `approval` event or the timeout, whichever comes first.
fn ask(ctx: &Context, approver: &str, request: &Request) -> Result<Option<Decision>> {
    ctx.set_custom_status(&format!("waiting for {approver}"));
    let text = format!("please approve {} for {}", request.item, request.amount);
    let _: () = ctx.call_activity(
        "notify",
        &Notice {
            to: approver.into(),
            text,
        },
    )?;
    let answer = ctx.wait_for_event::<Decision>("approval");
    let deadline = ctx.timer(Duration::from_secs(request.timeout_secs));
    let first = ctx.when_any(&[answer.id(), deadline.id()]);
    if first.index == 0 {
        Ok(Some(first.result()?))
    } else {
        ctx.log(
            LogLevel::Warn,
            &format!("{approver} did not answer in time"),
        );
        Ok(None)
    }
}

fn approval(ctx: &Context, request: Request) -> Result<Outcome> {
    if let Some(decision) = ask(ctx, "manager", &request)? {
        return decided(ctx, decision, false);
    }
    match ask(ctx, "director", &request)? {
        Some(decision) => decided(ctx, decision, true),
        None => decided(
            ctx,
            Decision {
                approved: false,
                by: "deadline".into(),
            },
            true,
        ),
    }
}

fn decided(ctx: &Context, decision: Decision, escalated: bool) -> Result<Outcome> {
    ctx.set_custom_status(&if decision.approved {
        "approved"
    } else {
        "rejected"
    });
    let text = format!(
        "request {} by {}",
        if decision.approved {
            "approved"
        } else {
            "rejected"
        },
        decision.by
    );
    let _: () = ctx.call_activity(
        "notify",
        &Notice {
            to: "requester".into(),
            text,
        },
    )?;
    Ok(Outcome {
        approved: decision.approved,
        by: decision.by,
        escalated,
    })
}

/// Stands in for e-mail or chat: prints the notice (the host logs it).
fn notify(notice: Notice) -> Result<()> {
    println!("to {}: {}", notice.to, notice.text);
    Ok(())
}

reprise_sdk::app! {
    orchestrations: [approval],
    activities: [notify],
}
