//! The bank demo: random concurrent transfers among accounts, done three ways
//! (actor to actor, saga orchestration, atomic multi-actor operation), then a
//! check that money was conserved and no balance went negative.
//!
//! Run with: `cargo run --release -p bank-demo -- target/wasm32-wasip2/release/bank.wasm`

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use reprise::store::{InstanceQuery, Status};
use reprise::{Runtime, StartOptions};
use reprise_sqlite::SqliteStore;
use serde_json::{Value, json};

/// Random transfers among bank accounts, then a conservation check.
#[derive(Debug, Parser)]
struct Args {
    /// The bank component (examples/bank built for wasm32-wasip2).
    component: PathBuf,
    /// Accounts to open.
    #[arg(long, default_value_t = 100)]
    accounts: u64,
    /// Money each account opens with.
    #[arg(long, default_value_t = 1_000)]
    opening_balance: i64,
    /// Transfers to make, a third each way.
    #[arg(long, default_value_t = 10_000)]
    transfers: u64,
    /// Another component for the `account` actor kind (the Python one in
    /// examples/python/bank, say): registered after the bank, it handles
    /// every account operation.
    #[arg(long)]
    account_component: Option<PathBuf>,
    /// The database file; a fresh temporary one if not given.
    #[arg(long)]
    db: Option<PathBuf>,
}

/// A small deterministic generator, so every run makes the same transfers.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn account(n: u64) -> String {
    format!("acct-{n:03}")
}

/// Waits until no actor operation is queued and every instance has finished.
async fn settle(runtime: &Runtime) -> anyhow::Result<()> {
    loop {
        let running = runtime
            .list(&InstanceQuery::status(Some(Status::Running), 1))
            .await?
            .len();
        if running == 0 && runtime.actor_backlog().await? == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let temp = tempfile::tempdir()?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| temp.path().join("bank.db"));
    let store = SqliteStore::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    let runtime = Runtime::builder(Arc::new(store)).build().await?;
    let bytes = std::fs::read(&args.component)
        .with_context(|| format!("cannot read {}", args.component.display()))?;
    runtime.register(&bytes).await?;
    if let Some(path) = &args.account_component {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let info = runtime.register(&bytes).await?;
        ensure!(
            info.actors.iter().any(|kind| kind == "account"),
            "{} implements no account actor",
            path.display()
        );
        println!("accounts are handled by {}", path.display());
    }
    let _worker = runtime.start_worker(64);

    println!(
        "opening {} accounts with {} each",
        args.accounts, args.opening_balance
    );
    for n in 0..args.accounts {
        let amount = args.opening_balance.to_string();
        runtime
            .signal_actor("account", &account(n), "deposit", &amount, None)
            .await?;
    }
    settle(&runtime).await?;
    let expected_total = args.opening_balance * args.accounts as i64;

    println!(
        "making {} random transfers, concurrently, a third each way",
        args.transfers
    );
    let mut rng = Lcg(2024);
    let started = Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..args.transfers {
        let from = rng.below(args.accounts);
        let to = (from + 1 + rng.below(args.accounts - 1)) % args.accounts;
        let amount = 1 + rng.below(100) as i64;
        let runtime = runtime.clone();
        requests.spawn(async move {
            let transfer = json!({"from": account(from), "to": account(to), "amount": amount});
            match i % 3 {
                0 => {
                    let input = json!({"to": account(to), "amount": amount}).to_string();
                    runtime
                        .signal_actor("account", &account(from), "transfer_to", &input, None)
                        .await?;
                    Ok(None)
                }
                1 => runtime
                    .start(
                        "transfer_saga",
                        &transfer.to_string(),
                        StartOptions::default(),
                    )
                    .await
                    .map(Some),
                _ => runtime
                    .start(
                        "transfer_atomic",
                        &transfer.to_string(),
                        StartOptions::default(),
                    )
                    .await
                    .map(Some),
            }
        });
    }
    let mut instances = Vec::new();
    while let Some(result) = requests.join_next().await {
        if let Some(id) = result?? {
            instances.push(id);
        }
    }
    settle(&runtime).await?;
    let elapsed = started.elapsed();

    let (mut done, mut refused) = (0, 0);
    for id in &instances {
        let record = runtime.status(id).await?;
        ensure!(
            record.status == Status::Completed,
            "transfer {id} ended {:?}: {:?}",
            record.status,
            record.output
        );
        let outcome: Value = serde_json::from_str(record.output.as_deref().unwrap_or("null"))?;
        match outcome["reason"].as_str() {
            None => done += 1,
            Some(reason) if reason.contains("insufficient funds") => refused += 1,
            Some(reason) => bail!("transfer {id} failed unexpectedly: {reason}"),
        }
    }
    let accounts = runtime.actors("account", usize::MAX).await?;
    let mut total = 0;
    let mut operations = 0;
    let mut lowest = i64::MAX;
    for actor in &accounts {
        let state: Value = serde_json::from_str(&actor.state)?;
        let balance = state["balance"].as_i64().unwrap_or_default();
        total += balance;
        lowest = lowest.min(balance);
        operations += state["operations"].as_u64().unwrap_or_default();
    }
    let transfer_operations = operations - args.accounts;
    println!(
        "orchestrated transfers: {done} done, {refused} refused (insufficient funds); {} actor-to-actor transfers",
        args.transfers as usize - instances.len()
    );
    println!(
        "{transfer_operations} deposits and withdrawals committed in {:.2} s: {:.0} durable actor operations/s",
        elapsed.as_secs_f64(),
        transfer_operations as f64 / elapsed.as_secs_f64()
    );
    println!("total money: {total} (expected {expected_total}); lowest balance: {lowest}");
    if total != expected_total || lowest < 0 || accounts.len() as u64 != args.accounts {
        bail!("conservation check FAILED");
    }
    println!("conservation check passed: no money created or lost, no balance negative");
    Ok(())
}
