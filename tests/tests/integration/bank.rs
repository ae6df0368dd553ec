//! The bank: transfers three ways, atomicity, the eternal-orchestration
//! account, and exactly-once under SIGKILL.

use std::time::Duration;

use reprise::StartOptions;
use reprise::store::Status;
use reprise_tests::{
    Host, WorkerProcess, actor_json, actor_jsons, all_finished, assert_all_completed, eventually,
    registered_client, settle,
};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

async fn open_accounts(runtime: &reprise::Runtime, keys: &[&str], balance: i64) {
    for key in keys {
        runtime
            .call_actor("account", key, "deposit", &balance.to_string(), WAIT)
            .await
            .unwrap();
    }
}

/// Accounts `a`, `b` and `closed` with 100 each; `closed` refuses deposits.
async fn open_bank(runtime: &reprise::Runtime) {
    open_accounts(runtime, &["a", "b", "closed"], 100).await;
    runtime
        .call_actor("account", "closed", "close", "null", WAIT)
        .await
        .unwrap();
}

async fn balance(runtime: &reprise::Runtime, key: &str) -> i64 {
    actor_json(runtime, "account", key).await["balance"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_leg_leaves_every_account_unchanged() {
    let host = Host::new().await;
    open_bank(&host.runtime).await;
    let before = actor_jsons(&host.runtime, "account", ["a", "b", "closed"]).await;

    // The second leg fails: the first leg's withdrawal must not stick.
    let record = host
        .run(
            "transfer_atomic",
            r#"{"from":"a","to":"closed","amount":30}"#,
        )
        .await;
    let outcome: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert_eq!(outcome["done"], false);
    assert!(
        outcome["reason"]
            .as_str()
            .unwrap()
            .contains("account is closed"),
        "{outcome}"
    );
    // The first leg fails.
    let record = host
        .run("transfer_atomic", r#"{"from":"b","to":"a","amount":1000}"#)
        .await;
    let outcome: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert!(
        outcome["reason"]
            .as_str()
            .unwrap()
            .contains("insufficient funds"),
        "{outcome}"
    );

    let after = actor_jsons(&host.runtime, "account", ["a", "b", "closed"]).await;
    assert_eq!(before, after);

    let record = host
        .run("transfer_atomic", r#"{"from":"a","to":"b","amount":30}"#)
        .await;
    assert!(record.output.unwrap().contains(r#""done":true"#));
    assert_eq!(
        (
            balance(&host.runtime, "a").await,
            balance(&host.runtime, "b").await
        ),
        (70, 130)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_saga_compensates_and_actor_to_actor_transfers_arrive() {
    let host = Host::new().await;
    open_bank(&host.runtime).await;
    let record = host
        .run("transfer_saga", r#"{"from":"a","to":"closed","amount":40}"#)
        .await;
    assert!(record.output.unwrap().contains("account is closed"));
    assert_eq!(
        balance(&host.runtime, "a").await,
        100,
        "the withdrawal was compensated"
    );

    host.runtime
        .signal_actor(
            "account",
            "a",
            "transfer_to",
            r#"{"to":"b","amount":25}"#,
            None,
        )
        .await
        .unwrap();
    host.settle().await;
    assert_eq!(
        (
            balance(&host.runtime, "a").await,
            balance(&host.runtime, "b").await
        ),
        (75, 125)
    );
    let error = host
        .runtime
        .call_actor("account", "a", "withdraw", "1000", WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, reprise::Error::ActorFailed { failure, .. }
            if failure.message.starts_with("insufficient funds")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_eternal_orchestration_account_loses_none_of_a_thousand_messages() {
    let host = Host::new().await;
    let id = host.start("eternal_account", r#"{"until":1000}"#).await;
    let mut expected = (0i64, 0u64, 0u64);
    for n in 0..1000 {
        let amount: i64 = if n % 4 == 3 { -7 } else { 3 };
        if expected.0 + amount < 0 {
            expected.2 += 1;
        } else {
            expected.0 += amount;
            expected.1 += 1;
        }
        host.runtime
            .raise_event(&id, "transaction", &amount.to_string())
            .await
            .unwrap();
    }
    let record = host.wait(&id).await;
    assert_eq!(record.status, Status::Completed, "{:?}", record.output);
    let state: Value = serde_json::from_str(record.output.as_deref().unwrap()).unwrap();
    assert_eq!(state["balance"], expected.0);
    assert_eq!(state["applied"], expected.1);
    assert_eq!(state["refused"], expected.2);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_during_a_storm_of_transfers_conserves_money_and_applies_each_operation_once() {
    let dir = tempfile::tempdir().unwrap();
    const ROUNDS: u64 = 5;
    let db = dir.path().join("storm.db");
    let client = registered_client(&db).await;
    let accounts: Vec<String> = (0..10).map(|n| format!("acct-{n}")).collect();
    for key in &accounts {
        client
            .signal_actor("account", key, "deposit", "1000", None)
            .await
            .unwrap();
    }

    let mut tally_sum = 0i64;
    let mut tally_count = 0u64;
    let mut orchestrations = Vec::new();
    let mut interrupted = 0;
    for round in 0..ROUNDS {
        // Queue a round of work while no worker runs...
        for i in 0..120u64 {
            let n = round * 120 + i;
            let (from, to) = (
                &accounts[(n % 10) as usize],
                &accounts[((n * 7 + 3) % 10) as usize],
            );
            let transfer = json!({"from": from, "to": to, "amount": 1 + n % 50});
            match n % 4 {
                0 => {
                    let input = json!({"to": to, "amount": 1 + n % 50}).to_string();
                    client
                        .signal_actor("account", from, "transfer_to", &input, None)
                        .await
                        .unwrap();
                }
                1 => orchestrations.push(
                    client
                        .start(
                            "transfer_atomic",
                            &transfer.to_string(),
                            StartOptions::default(),
                        )
                        .await
                        .unwrap(),
                ),
                2 => orchestrations.push(
                    client
                        .start(
                            "transfer_saga",
                            &transfer.to_string(),
                            StartOptions::default(),
                        )
                        .await
                        .unwrap(),
                ),
                _ => {}
            }
            // Every step also adds to a tally: the count proves exactly-once.
            let tally = format!("t{}", n % 3);
            client
                .signal_actor("tally", &tally, "add", &n.to_string(), None)
                .await
                .unwrap();
            tally_sum += n as i64;
            tally_count += 1;
        }
        // ...then kill the worker once it has worked through part of the
        // backlog, a larger part each round. Waiting for progress rather than
        // for a fixed time keeps the kills inside the work however fast the
        // worker is.
        let queued = client.actor_backlog().await.unwrap();
        let left = queued * (ROUNDS - round) / (ROUNDS + 1);
        let worker = WorkerProcess::spawn(&db);
        eventually(
            WAIT,
            format!("the worker works the actor backlog down to {left} (the backlog is shown)"),
            async || match client.actor_backlog().await.unwrap() {
                backlog if backlog <= left => Ok(()),
                backlog => Err(backlog),
            },
        )
        .await;
        worker.kill();
        if !all_finished(&client, &orchestrations).await
            || client.actor_backlog().await.unwrap() > 0
        {
            interrupted += 1;
        }
    }
    assert!(
        interrupted > ROUNDS / 2,
        "only {interrupted} of {ROUNDS} kills hit work in progress"
    );
    let worker = WorkerProcess::spawn(&db);
    assert_all_completed(&client, &orchestrations).await;
    settle(&client).await;
    worker.kill();

    let balances = actor_jsons(&client, "account", &accounts).await;
    let balances: Vec<i64> = balances
        .iter()
        .map(|a| a["balance"].as_i64().unwrap())
        .collect();
    assert_eq!(balances.iter().sum::<i64>(), 10_000, "money is conserved");
    assert!(balances.iter().all(|b| *b >= 0));
    let tallies = actor_jsons(&client, "tally", (0..3).map(|t| format!("t{t}"))).await;
    let count: u64 = tallies.iter().map(|t| t["count"].as_u64().unwrap()).sum();
    let sum: i64 = tallies.iter().map(|t| t["sum"].as_i64().unwrap()).sum();
    assert_eq!(
        (count, sum),
        (tally_count, tally_sum),
        "every operation applied exactly once"
    );
}
