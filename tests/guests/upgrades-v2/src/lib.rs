//! The next version of two orchestrations, as a team might ship it while
//! instances of the first are live:
//!
//! - `approval` makes the same calls as the example's up to every wait, so
//!   the histories of live approvals replay against it without a
//!   difference; what it returns says it is version 2.
//! - `eternal_account` reports its balance with the version that applied
//!   the last transaction, so a test sees which code each execution ran.

use std::time::Duration;

use reprise_sdk::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    item: String,
    amount: u64,
    timeout_secs: u64,
}

#[derive(Debug, Serialize, Deserialize)]
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
    version: u32,
}

/// The example's first round (manager only): the same calls, in order.
fn approval(ctx: &Context, request: Request) -> Result<Outcome> {
    ctx.set_custom_status(&"waiting for manager");
    let text = format!("please approve {} for {}", request.item, request.amount);
    let to = "manager".into();
    let _: () = ctx.call_activity("notify", &Notice { to, text })?;
    let answer = ctx.wait_for_event::<Decision>("approval");
    let deadline = ctx.timer(Duration::from_secs(request.timeout_secs));
    let first = ctx.when_any(&[answer.id(), deadline.id()]);
    let decision = if first.index == 0 {
        first.result()?
    } else {
        Decision {
            approved: false,
            by: "deadline".into(),
        }
    };
    Ok(Outcome {
        approved: decision.approved,
        by: decision.by,
        escalated: false,
        version: 2,
    })
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct EternalAccount {
    balance: i64,
    applied: u64,
    refused: u64,
    until: Option<u64>,
}

#[derive(Debug, Serialize)]
struct Report {
    balance: i64,
    version: u32,
}

/// The bank example's eternal account, reporting its version.
fn eternal_account(ctx: &Context, mut account: EternalAccount) -> Result<EternalAccount> {
    let amount: i64 = ctx.wait_for_event("transaction").result()?;
    if account.balance + amount < 0 {
        account.refused += 1;
    } else {
        account.balance += amount;
        account.applied += 1;
    }
    ctx.set_custom_status(&Report {
        balance: account.balance,
        version: 2,
    });
    if account
        .until
        .is_some_and(|until| account.applied + account.refused >= until)
    {
        return Ok(account);
    }
    ctx.continue_as_new(&account)
}

fn notify(notice: Notice) -> Result<()> {
    println!("to {}: {}", notice.to, notice.text);
    Ok(())
}

reprise_sdk::app! {
    orchestrations: [approval, eternal_account],
    activities: [notify],
}
