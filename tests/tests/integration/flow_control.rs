//! Flow control for activities: a fan-out of 1,000 attempts under a limit
//! of 10 at once, 3 at once per customer and 100 starts a second, judged
//! by the activities' own clocks, on one host and on two sharing
//! PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use reprise::store::Status;
use reprise::{ActivityLimits, Runtime, StartOptions};
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;
use reprise_tests::{COMPONENTS, Host, WorkerProcess, completed_output, eventually, guest};
use serde::Deserialize;
use serde_json::json;

const LIMITS: &str = "concurrency=10,rate=100/1s,key=/customer,per-key=3";
const ATTEMPTS: u32 = 1_000;
const CUSTOMERS: u32 = 4;
/// Each attempt's pause: long enough that, without the concurrency
/// limit, a burst the rate allows would run more than 10 at once.
const PAUSE_MS: u64 = 50;

#[derive(Debug, Deserialize)]
struct Stamped {
    customer: String,
    start_ms: u64,
    end_ms: u64,
    host: Option<String>,
}

/// The most attempts running at once, by their own clocks (one that ends
/// in the millisecond another starts is over).
fn most_at_once<'a>(runs: impl Iterator<Item = &'a Stamped>) -> usize {
    let mut edges: Vec<(u64, i32)> = runs
        .flat_map(|r| [(r.start_ms, 1), (r.end_ms, -1)])
        .collect();
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as usize
}

/// The most starts within any `window_ms`.
fn most_started_within(runs: &[Stamped], window_ms: u64) -> usize {
    let mut starts: Vec<u64> = runs.iter().map(|r| r.start_ms).collect();
    starts.sort_unstable();
    let mut first = 0;
    let mut most = 0;
    for (last, &start) in starts.iter().enumerate() {
        while start - starts[first] >= window_ms {
            first += 1;
        }
        most = most.max(last + 1 - first);
    }
    most
}

/// Every limit held, and the limits are what held the work back. The
/// starts are the activities' own clocks, read a moment after their slots
/// were taken: the rate's guard (a fifth of its period) keeps them within
/// it too.
fn assert_within_limits(runs: &[Stamped]) {
    eprintln!(
        "most started within 1 s: {}, within 1.2 s: {}",
        most_started_within(runs, 1_000),
        most_started_within(runs, 1_200)
    );
    assert_eq!(runs.len(), ATTEMPTS as usize, "every attempt ran once");
    let at_once = most_at_once(runs.iter());
    assert_eq!(at_once, 10, "at most 10 at once, and as many as that");
    let by_customer: BTreeMap<&str, Vec<&Stamped>> =
        runs.iter().fold(BTreeMap::new(), |mut by, run| {
            by.entry(run.customer.as_str()).or_default().push(run);
            by
        });
    assert_eq!(by_customer.len(), CUSTOMERS as usize);
    for (customer, runs) in &by_customer {
        let at_once = most_at_once(runs.iter().copied());
        assert!(at_once <= 3, "{customer}: {at_once} at once");
    }
    let burst = most_started_within(runs, 1_000);
    assert!(burst <= 100, "{burst} started within a second");
    let first = runs.iter().map(|r| r.start_ms).min().unwrap();
    let last = runs.iter().map(|r| r.start_ms).max().unwrap();
    assert!(
        last - first >= 9_000,
        "1,000 starts at 100 a second take 9 s from the first to the last, not {} ms",
        last - first
    );
}

fn stamped(output: &serde_json::Value) -> Vec<Stamped> {
    serde_json::from_value(output.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_of_a_thousand_activities_keeps_its_limits_on_one_host() {
    let limits: ActivityLimits = LIMITS.parse().unwrap();
    let host = Host::with(|b| b.activity_limits("stamped", limits)).await;
    let id = host
        .start(
            "stamped_fan_out",
            &json!([ATTEMPTS, CUSTOMERS, PAUSE_MS]).to_string(),
        )
        .await;
    let done = host.wait(&id).await;
    assert_eq!(done.status, Status::Completed, "{:?}", done.output);
    assert_within_limits(&stamped(&completed_output(&done)));

    let load = host.runtime.activity_load().await.unwrap();
    let stamped = load.iter().find(|l| l.name == "stamped").unwrap();
    assert_eq!((stamped.waiting, stamped.running), (0, 0), "{stamped:?}");
    assert_eq!(stamped.limits.as_ref().unwrap().concurrency, Some(10));
}

/// Two worker processes share the partitions of one PostgreSQL database,
/// and with them twenty fan-outs of fifty: the limits hold for all of the
/// attempts together, whichever host ran each (both ran some).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_of_a_thousand_activities_keeps_its_limits_across_two_hosts_on_postgres() {
    let db = TestDatabase::create().await;
    let store = PostgresStore::connect(&db.url()).await.unwrap();
    let client = Runtime::builder(std::sync::Arc::new(store))
        .build()
        .await
        .unwrap();
    for component in COMPONENTS {
        client.register(&guest(component)).await.unwrap();
    }
    let logs = tempfile::tempdir().unwrap();
    let limit = format!("stamped:{LIMITS}");
    let workers: Vec<WorkerProcess> = ["one", "two"]
        .into_iter()
        .map(|name| {
            let env = format!("REPRISE_HOST={name}");
            WorkerProcess::spawn_cluster_with(
                db.url(),
                &logs.path().join(format!("{name}.log")),
                &["--activity-limit", &limit],
                &["--env", &env],
            )
        })
        .collect();
    eventually(
        Duration::from_secs(60),
        "both workers hold partitions (shown: units by holder)",
        async || {
            let held = client.unit_holders().await.unwrap();
            if held.len() == 2 { Ok(()) } else { Err(held) }
        },
    )
    .await;

    let fan_outs = 20;
    let mut ids = Vec::new();
    for _ in 0..fan_outs {
        let input = json!([ATTEMPTS / fan_outs, CUSTOMERS, PAUSE_MS]).to_string();
        let id = client
            .start("stamped_fan_out", &input, StartOptions::default())
            .await
            .unwrap();
        ids.push(id);
    }
    let mut runs = Vec::new();
    for id in &ids {
        let done = client.wait(id, Duration::from_secs(300)).await.unwrap();
        assert_eq!(done.status, Status::Completed, "{:?}", done.output);
        runs.extend(stamped(&completed_output(&done)));
    }
    assert_within_limits(&runs);
    for host in ["one", "two"] {
        assert!(
            runs.iter().any(|r| r.host.as_deref() == Some(host)),
            "host {host} ran none of the attempts"
        );
    }
    drop(workers);
}
