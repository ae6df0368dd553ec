//! Measures the core engine: latency and SQLite transactions of one
//! hello-sequence (three activities), and cold replay of a 1,000-event history.
//!
//! Run with: `cargo run --release -p reprise-tests --bin measure-core [DIR]`
//! The database goes in a temporary directory inside DIR (default: the
//! system's temporary directory); put it on the disk you want to measure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reprise::store::Status;
use reprise::{Runtime, StartOptions};
use reprise_sqlite::SqliteStore;
use reprise_tests::guest;

const RUNS: usize = 21;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() {
    let parent = std::env::args()
        .nth(1)
        .map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(parent).expect("temporary directory");
    let store = Arc::new(SqliteStore::open(dir.path().join("measure.db")).expect("open database"));
    let runtime = Runtime::builder(store.clone())
        .build()
        .await
        .expect("runtime");
    for component in ["hello_sequence", "misbehaving"] {
        runtime.register(&guest(component)).await.expect("register");
    }
    let _worker = runtime.start_worker(64);
    let run = |name: &'static str, input: &'static str| {
        let runtime = runtime.clone();
        async move {
            let id = runtime
                .start(name, input, StartOptions::default())
                .await
                .expect("start");
            let record = runtime
                .wait(&id, Duration::from_secs(60))
                .await
                .expect("finish");
            assert_eq!(record.status, Status::Completed, "{:?}", record.output);
            id
        }
    };
    // The first run compiles the component; measure the ones after.
    run("hello_sequence", r#"["a","b","c"]"#).await;

    let mut latencies = Vec::new();
    let mut transactions = Vec::new();
    for _ in 0..RUNS {
        let before = store.commit_stats().transactions;
        let start = Instant::now();
        run("hello_sequence", r#"["Tokyo","Seattle","London"]"#).await;
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
        transactions.push((store.commit_stats().transactions - before) as f64);
        // Let the idle loops settle so runs do not overlap. Pacing between
        // measured runs, not a condition: their rescans show nowhere.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "hello-sequence (3 activities), start to done: median {:.1} ms over {RUNS} runs, \
         {} SQLite transactions (median), fsync at every commit",
        median(latencies),
        median(transactions)
    );

    let id = run("chain", r#"{"steps":500,"pause_ms":0}"#).await;
    let events = runtime.history(&id).await.expect("history").len();
    let mut replays = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        runtime.replay_check(&id, None).await.expect("replay");
        replays.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let replay_ms = median(replays);
    println!(
        "cold replay of a {events}-event history (read from SQLite, fresh instance, replayed to the end): \
         median {replay_ms:.2} ms over {RUNS} runs = {:.0} events/s",
        events as f64 / (replay_ms / 1e3)
    );
}
