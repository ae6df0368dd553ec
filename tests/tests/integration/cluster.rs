//! Several `reprise worker --cluster` processes sharing one PostgreSQL
//! database (the server `scripts/test` starts): they divide the partitions
//! and the actors among them, take over the share of a worker killed with
//! SIGKILL, and refuse everything a worker frozen past its leases commits
//! once it wakes. Money is conserved, each actor operation is applied once
//! and each orchestration step is scheduled once, whatever happens to the
//! hosts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reprise::history::Event;
use reprise::store::{Status, Store};
use reprise::{Runtime, StartOptions};
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;
use reprise_tests::{
    COMPONENTS, WorkerProcess, actor_jsons, all_finished, assert_all_completed,
    assert_chains_exact, eventually, guest, settle, start_chains, steps_scheduled,
};
use serde_json::json;

/// A client runtime on the database, every test component registered.
async fn client(db: &TestDatabase) -> Runtime {
    let store = PostgresStore::connect(&db.url()).await.expect("connect");
    let runtime = Runtime::builder(Arc::new(store))
        .build()
        .await
        .expect("runtime");
    for component in COMPONENTS {
        runtime.register(&guest(component)).await.expect("register");
    }
    runtime
}

/// Waits (up to a minute) until the units are held as `want` says.
async fn until_held(
    client: &Runtime,
    what: &str,
    want: impl Fn(&BTreeMap<String, usize>) -> bool,
) -> BTreeMap<String, usize> {
    eventually(
        MINUTE,
        format!("{what} (shown: units by holder)"),
        async || {
            let held = client.unit_holders().await.unwrap();
            if want(&held) { Ok(held) } else { Err(held) }
        },
    )
    .await
}

const UNITS: usize = reprise::PARTITIONS as usize + 1;
const MINUTE: Duration = Duration::from_secs(60);

fn spawn(db: &TestDatabase, logs: &Path, name: &str) -> WorkerProcess {
    WorkerProcess::spawn_cluster(db.url(), &logs.join(format!("{name}.log")))
}

/// Work not yet done: instances running and actor operations queued.
async fn work_left(store: &PostgresStore) -> u64 {
    let counts = store.counts().await.unwrap();
    let running = counts
        .instances
        .iter()
        .find(|(status, _)| *status == Status::Running)
        .map_or(0, |&(_, n)| n);
    running + counts.actor_mailbox + counts.atomic_requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_share_a_bank_storm_and_one_killed_again_and_again_loses_nothing() {
    const ITEMS: u64 = 480;
    const KILLS: usize = 3;
    let db = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let client = client(&db).await;
    let store = PostgresStore::connect(&db.url()).await.expect("connect");
    let accounts: Vec<String> = (0..10).map(|n| format!("acct-{n}")).collect();
    for key in &accounts {
        client
            .signal_actor("account", key, "deposit", "1000", None)
            .await
            .unwrap();
    }
    let mut orchestrations = Vec::new();
    let mut tally = (0u64, 0i64);
    for n in 0..ITEMS {
        let (from, to) = (
            &accounts[(n % 10) as usize],
            &accounts[((n * 7 + 3) % 10) as usize],
        );
        let transfer = json!({"from": from, "to": to, "amount": 1 + n % 50}).to_string();
        match n % 3 {
            0 => {
                let input = json!({"to": to, "amount": 1 + n % 50}).to_string();
                client
                    .signal_actor("account", from, "transfer_to", &input, None)
                    .await
                    .unwrap();
            }
            1 => orchestrations.push(
                client
                    .start("transfer_atomic", &transfer, StartOptions::default())
                    .await
                    .unwrap(),
            ),
            _ => orchestrations.push(
                client
                    .start("transfer_saga", &transfer, StartOptions::default())
                    .await
                    .unwrap(),
            ),
        }
        // The tally counts and sums every item: each applied exactly once.
        let key = format!("t{}", n % 3);
        client
            .signal_actor("tally", &key, "add", &n.to_string(), None)
            .await
            .unwrap();
        tally = (tally.0 + 1, tally.1 + n as i64);
    }

    // The storm is queued; three hosts share it.
    let queued = work_left(&store).await;
    let mut hosts: Vec<WorkerProcess> = (0..3)
        .map(|n| spawn(&db, logs.path(), &format!("host-{n}")))
        .collect();
    until_held(&client, "three hosts share the units fairly", |held| {
        held.len() == 3 && held.values().sum::<usize>() == UNITS && held.values().all(|&n| n >= 5)
    })
    .await;

    // The same host is killed three times as the work goes down, and
    // restarted at once; its units wait for its leases to run out, then
    // the others (or its successor) take them.
    let mut interrupted = 0;
    for kill in 0..KILLS {
        let mark = queued * (KILLS - kill) as u64 / (KILLS + 1) as u64;
        eventually(
            MINUTE,
            format!("the hosts work the queue down to {mark} (shown: work left)"),
            async || match work_left(&store).await {
                left if left <= mark => Ok(()),
                left => Err(left),
            },
        )
        .await;
        hosts.remove(0).kill();
        if work_left(&store).await > 0 {
            interrupted += 1;
        }
        hosts.insert(0, spawn(&db, logs.path(), &format!("host-0-{kill}")));
    }
    assert!(
        interrupted >= 2,
        "only {interrupted} of {KILLS} kills hit work in progress"
    );
    assert_all_completed(&client, &orchestrations).await;
    settle(&client).await;

    let balances: Vec<i64> = actor_jsons(&client, "account", &accounts)
        .await
        .iter()
        .map(|a| a["balance"].as_i64().unwrap())
        .collect();
    assert_eq!(balances.iter().sum::<i64>(), 10_000, "money is conserved");
    assert!(balances.iter().all(|b| *b >= 0), "{balances:?}");
    let tallies = actor_jsons(&client, "tally", (0..3).map(|t| format!("t{t}"))).await;
    let counted: u64 = tallies.iter().map(|t| t["count"].as_u64().unwrap()).sum();
    let summed: i64 = tallies.iter().map(|t| t["sum"].as_i64().unwrap()).sum();
    assert_eq!((counted, summed), tally, "each operation applied once");
    until_held(&client, "the last successor takes its share", |held| {
        held.len() == 3 && held.values().sum::<usize>() == UNITS
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_frozen_past_its_leases_applies_nothing_after_it_wakes() {
    const STEPS: u64 = 5;
    let db = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let client = client(&db).await;
    let frozen = spawn(&db, logs.path(), "frozen");
    let alone = until_held(&client, "the first host takes every unit", |held| {
        held.values().sum::<usize>() == UNITS
    })
    .await;
    let frozen_owner = alone.keys().next().unwrap().clone();

    // Chains whose activities sleep 1.5 s: whenever the host freezes, each
    // has an activity in flight whose result it will try to commit.
    let chains = start_chains(&client, 4, STEPS, 1_500).await;
    let signal = async |n: u64| {
        client
            .signal_actor("tally", "audit", "add", &n.to_string(), None)
            .await
            .unwrap();
    };
    for n in 1..=20 {
        signal(n).await;
    }
    eventually(
        MINUTE,
        "every chain schedules its first step (shown: steps by chain)",
        async || {
            let steps = steps_scheduled(&client, &chains).await;
            if steps.iter().all(|&s| s >= 1) {
                Ok(())
            } else {
                Err(steps)
            }
        },
    )
    .await;
    frozen.freeze();

    let successor = spawn(&db, logs.path(), "successor");
    let taken = until_held(&client, "the successor takes every unit", |held| {
        held.values().sum::<usize>() == UNITS && !held.contains_key(&frozen_owner)
    })
    .await;
    assert_eq!(taken.len(), 1, "{taken:?}");
    for n in 21..=40 {
        signal(n).await;
    }
    let before: usize = steps_scheduled(&client, &chains).await.iter().sum();
    eventually(
        MINUTE,
        format!("the successor schedules more than {before} steps (shown: steps)"),
        async || {
            let steps: usize = steps_scheduled(&client, &chains).await.iter().sum();
            if steps > before { Ok(()) } else { Err(steps) }
        },
    )
    .await;

    // It wakes believing it holds everything: its in-flight episodes,
    // activity results and lease renewals are all refused.
    frozen.thaw();
    assert_all_completed(&client, &chains).await;
    settle(&client).await;
    assert_chains_exact(&client, &chains, STEPS).await;
    let audit = &actor_jsons(&client, "tally", ["audit"]).await[0];
    assert_eq!(
        (&audit["count"], &audit["sum"]),
        (&json!(40), &json!(40 * 41 / 2)),
        "each operation applied once"
    );
    // The two share the work again.
    until_held(&client, "the woken host rejoins", |held| held.len() == 2).await;
    drop((frozen, successor));
    let log = std::fs::read_to_string(logs.path().join("frozen.log")).unwrap();
    assert!(
        log.contains("has moved on"),
        "the store refused the woken host's late work:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_joins_and_another_leaves_under_load_and_nothing_is_stranded() {
    const STEPS: u64 = 24;
    let db = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let client = client(&db).await;
    let first = spawn(&db, logs.path(), "first");
    let alone = until_held(&client, "the first host takes every unit", |held| {
        held.values().sum::<usize>() == UNITS
    })
    .await;
    let first_owner = alone.keys().next().unwrap().clone();
    let chains = start_chains(&client, 12, STEPS, 40).await;
    let progress = async || {
        steps_scheduled(&client, &chains)
            .await
            .iter()
            .sum::<usize>()
    };
    let mark = progress().await + 24;
    eventually(
        MINUTE,
        format!("one host schedules {mark} steps (shown: steps)"),
        async || match progress().await {
            steps if steps >= mark => Ok(()),
            steps => Err(steps),
        },
    )
    .await;

    let second = spawn(&db, logs.path(), "second");
    let shared = until_held(&client, "the second host takes its share", |held| {
        held.len() == 2 && held.values().all(|&n| n >= UNITS / 2)
    })
    .await;
    assert!(shared.contains_key(&first_owner));
    let mark = progress().await + 24;
    eventually(
        MINUTE,
        format!("two hosts schedule {mark} steps (shown: steps)"),
        async || match progress().await {
            steps if steps >= mark => Ok(()),
            steps => Err(steps),
        },
    )
    .await;

    // SIGTERM: the first gives its leases up, and the second takes them at
    // once rather than when they would have run out.
    assert!(first.terminate().success());
    until_held(&client, "the second host takes every unit", |held| {
        held.len() == 1 && !held.contains_key(&first_owner) && held.values().sum::<usize>() == UNITS
    })
    .await;
    assert!(
        !all_finished(&client, &chains).await,
        "the hand-over happened under load"
    );
    assert_all_completed(&client, &chains).await;
    assert_chains_exact(&client, &chains, STEPS).await;
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_host_fires_the_timers_of_its_own_partitions() {
    let db = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let client = client(&db).await;
    let _hosts = [
        spawn(&db, logs.path(), "one"),
        spawn(&db, logs.path(), "two"),
    ];
    until_held(&client, "two hosts share the units", |held| {
        held.len() == 2 && held.values().sum::<usize>() == UNITS
    })
    .await;
    // Nobody answers: each waits out two one-second timers.
    let mut ids = Vec::new();
    for n in 0..12 {
        let options = StartOptions {
            instance_id: Some(format!("approval-{n}")),
            ..StartOptions::default()
        };
        let input = r#"{"item":"desk","amount":300,"timeout_secs":1}"#;
        ids.push(client.start("approval", input, options).await.unwrap());
    }
    assert_all_completed(&client, &ids).await;
    for id in &ids {
        let history = client.history(id).await.unwrap();
        let timers_won = history
            .iter()
            .filter(|e| matches!(e.event, Event::AnyAwaited { winner: 1, .. }))
            .count();
        assert_eq!(timers_won, 2, "{id}");
        // Fired by the owner when due, not by the other host as overdue
        // (which waits five seconds past each).
        let elapsed = history.last().unwrap().at - history[0].at;
        assert!(
            (2_000..9_000).contains(&elapsed),
            "{id}: two one-second timers took {elapsed} ms"
        );
    }
}
