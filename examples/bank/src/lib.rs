//! Bank accounts as actors, and a transfer done three ways:
//!
//! 1. actor to actor: `transfer_to` withdraws, then signals the deposit. The
//!    signal commits with the withdrawal, so money in flight is never lost;
//! 2. an orchestration (`transfer_saga`) that withdraws, deposits, and puts
//!    the money back if the deposit fails;
//! 3. an atomic multi-actor operation (`transfer_atomic`): both legs commit,
//!    or neither does.
//!
//! Plus `eternal_account`, an account written as an eternal orchestration
//! (wait for an event, apply it, continue as new): the pattern Durable
//! Functions users had to use before entities, which must lose nothing.
//!
//! Build with: `cargo build -p bank --target wasm32-wasip2 --release`

use reprise_sdk::{Actor, ActorContext, ActorOp, Context, Failure, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An account's state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Account {
    balance: i64,
    /// Deposits and withdrawals applied: lets tests prove exactly-once.
    operations: u64,
    closed: bool,
}

/// What an account can be asked to do.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountOp {
    Deposit(i64),
    /// Refuses to overdraw.
    Withdraw(i64),
    Balance,
    /// Withdraws here and signals the deposit to account `to`.
    TransferTo {
        to: String,
        amount: i64,
    },
    /// Refuses deposits from now on.
    Close,
}

impl Account {
    fn withdraw(&mut self, amount: i64) -> Result<()> {
        if amount <= 0 {
            return Err(Failure::new(format!("cannot withdraw {amount}")));
        }
        if amount > self.balance {
            return Err(Failure::new(format!(
                "insufficient funds: balance {} < {amount}",
                self.balance
            )));
        }
        self.balance -= amount;
        self.operations += 1;
        Ok(())
    }

    fn deposit(&mut self, amount: i64) -> Result<()> {
        if amount <= 0 {
            return Err(Failure::new(format!("cannot deposit {amount}")));
        }
        if self.closed {
            return Err(Failure::new("account is closed"));
        }
        self.balance += amount;
        self.operations += 1;
        Ok(())
    }
}

impl Actor for Account {
    const KIND: &'static str = "account";
    type Operation = AccountOp;
    const READ_ONLY: &'static [&'static str] = &["balance"];

    fn handle(&mut self, ctx: &ActorContext, operation: AccountOp) -> Result<Value> {
        match operation {
            AccountOp::Deposit(amount) => self.deposit(amount)?,
            AccountOp::Withdraw(amount) => self.withdraw(amount)?,
            AccountOp::Balance => {}
            AccountOp::TransferTo { to, amount } => {
                if to == ctx.key() {
                    return Err(Failure::new("cannot transfer to the same account"));
                }
                self.withdraw(amount)?;
                ctx.signal::<Account>(&to, AccountOp::Deposit(amount));
            }
            AccountOp::Close => self.closed = true,
        }
        Ok(self.balance.into())
    }
}

/// A transfer request.
#[derive(Debug, Serialize, Deserialize)]
pub struct Transfer {
    from: String,
    to: String,
    amount: i64,
}

/// How a transfer ended.
#[derive(Debug, Serialize, Deserialize)]
pub struct TransferOutcome {
    done: bool,
    reason: Option<String>,
}

fn refused(reason: Failure) -> TransferOutcome {
    TransferOutcome {
        done: false,
        reason: Some(reason.message),
    }
}

/// Withdraw, then deposit; if the deposit fails, compensate.
fn transfer_saga(ctx: &Context, t: Transfer) -> Result<TransferOutcome> {
    let from = ctx.actor::<Account>(&t.from);
    if let Err(reason) = from.call::<i64>(AccountOp::Withdraw(t.amount)) {
        return Ok(refused(reason));
    }
    match ctx
        .actor::<Account>(&t.to)
        .call::<i64>(AccountOp::Deposit(t.amount))
    {
        Ok(_) => Ok(TransferOutcome {
            done: true,
            reason: None,
        }),
        Err(reason) => {
            // Give the money back; a deposit to the source cannot be refused
            // unless it was closed meanwhile, and then the failure is reported.
            from.call::<i64>(AccountOp::Deposit(t.amount))?;
            Ok(refused(reason))
        }
    }
}

/// Both legs in one atomic multi-actor operation.
fn transfer_atomic(ctx: &Context, t: Transfer) -> Result<TransferOutcome> {
    let legs = [
        ActorOp::new::<Account>(&t.from, AccountOp::Withdraw(t.amount)),
        ActorOp::new::<Account>(&t.to, AccountOp::Deposit(t.amount)),
    ];
    Ok(match ctx.call_actors_atomically(&legs) {
        Ok(_) => TransferOutcome {
            done: true,
            reason: None,
        },
        Err(reason) => refused(reason),
    })
}

/// The state an eternal account carries from one execution to the next.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EternalAccount {
    balance: i64,
    applied: u64,
    refused: u64,
    /// Stop after this many events; never when absent.
    until: Option<u64>,
}

/// An account as an eternal orchestration: one event, one execution.
fn eternal_account(ctx: &Context, mut account: EternalAccount) -> Result<EternalAccount> {
    let amount: i64 = ctx.wait_for_event("transaction").result()?;
    if account.balance + amount < 0 {
        account.refused += 1;
    } else {
        account.balance += amount;
        account.applied += 1;
    }
    ctx.set_custom_status(&account.balance);
    if account
        .until
        .is_some_and(|until| account.applied + account.refused >= until)
    {
        return Ok(account);
    }
    ctx.continue_as_new(&account)
}

reprise_sdk::app! {
    orchestrations: [transfer_saga, transfer_atomic, eternal_account],
    activities: [],
    actors: [Account],
}
