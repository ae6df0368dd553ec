//! Orchestrations and activities that test the sandbox, the limits and the
//! retry machinery.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reprise_sdk::{
    Actor, ActorContext, ActorOp, Context, Failure, Result, RetryPolicy, Task, activity,
};
use serde::{Deserialize, Serialize};

mod flow;
mod mailboxes;
use flow::{stamped, stamped_fan_out};
use mailboxes::{Journal, flood_tally, journal_reads, journal_rounds};

/// What an orchestration sees when it reaches for the outside world.
#[derive(Debug, Serialize, Deserialize)]
struct Probe {
    clock_ms: u64,
    file: std::result::Result<String, String>,
    dir_listing: bool,
    env: Vec<String>,
    tcp: bool,
    random_hash: u64,
    now_ms: u64,
}

fn probe_sandbox(ctx: &Context, _: ()) -> Result<Probe> {
    let clock_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    Ok(Probe {
        clock_ms,
        file: std::fs::read_to_string("/etc/hostname").map_err(|e| e.to_string()),
        dir_listing: std::fs::read_dir(".").is_ok() || std::fs::read_dir("/").is_ok(),
        env: std::env::vars().map(|(k, _)| k).collect(),
        tcp: std::net::TcpStream::connect("127.0.0.1:80").is_ok(),
        // RandomState is seeded from WASI randomness.
        random_hash: RandomState::new().hash_one(42u64),
        now_ms: ctx
            .now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default(),
    })
}

/// Computes forever without waiting.
fn spin(_: &Context, _: ()) -> Result<u64> {
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Allocates until something stops it.
fn eat_memory(_: &Context, _: ()) -> Result<usize> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![1u8; 1 << 20]);
        std::hint::black_box(&hoard);
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Chain {
    steps: u64,
    /// How long each step's activity takes, so the chain takes a known time.
    pause_ms: u64,
}

/// A chain of activities, for crash tests: output is the sum of the step
/// numbers each activity echoed back.
fn chain(ctx: &Context, chain: Chain) -> Result<u64> {
    let mut sum = 0;
    for step in 1..=chain.steps {
        sum += ctx.call_activity::<_, u64>("echo_after", &(step, chain.pause_ms))?;
    }
    Ok(sum)
}

/// Schedules `count` `echo_after` activities at once, the first the slowest,
/// and awaits them in order: later results arrive first and wait their turn.
/// Output is the sum of 1..=count.
fn scatter(ctx: &Context, count: u64) -> Result<u64> {
    let tasks = (1..=count)
        .map(|n| ctx.schedule_activity::<_, u64>("echo_after", &(n, (count + 1 - n) * 20)))
        .collect();
    Ok(ctx.when_all(tasks)?.iter().sum())
}

/// Schedules `notify` (registered by the host) and takes its result only
/// after the `go` event: the result arrives while the instance waits for
/// something else.
fn notify_then_wait(ctx: &Context, _: ()) -> Result<String> {
    let notified = ctx.schedule_activity::<_, ()>("notify", "ping");
    let go: String = ctx.wait_for_event("go").result()?;
    notified.result()?;
    Ok(go)
}

/// Calls `flaky` with retries; returns the attempt that succeeded.
fn retrying(ctx: &Context, failures: u32) -> Result<u32> {
    ctx.activity("flaky", &failures)
        .retry(RetryPolicy::exponential(
            failures + 1,
            Duration::from_millis(10),
        ))
        .call()
}

/// Calls `flaky` with an hour between attempts: after the first failure it
/// waits out the backoff, which a test can watch.
fn retrying_later(ctx: &Context, failures: u32) -> Result<u32> {
    ctx.activity("flaky", &failures)
        .retry(RetryPolicy::exponential(
            failures + 1,
            Duration::from_secs(3600),
        ))
        .call()
}

/// Runs `logs_around_a_wait` as a child (waiting for its `go`) and returns
/// what it returned.
fn awaits_child(ctx: &Context, id: String) -> Result<()> {
    ctx.schedule_orchestration_with_id::<_, ()>("logs_around_a_wait", &id, &())
        .result()
}

/// Calls `sleepy` with a short timeout and no retries.
fn timing_out(ctx: &Context, _: ()) -> Result<()> {
    ctx.activity("sleepy", &())
        .timeout(Duration::from_millis(200))
        .call()
}

/// Schedules an activity nobody registered.
fn calls_unknown(ctx: &Context, _: ()) -> Result<()> {
    ctx.call_activity("no_such_activity", &())
}

fn echo_after((n, pause_ms): (u64, u64)) -> Result<u64> {
    std::thread::sleep(Duration::from_millis(pause_ms));
    Ok(n)
}

/// Fails until attempt `failures + 1`.
fn flaky(failures: u32) -> Result<u32> {
    let attempt = activity::attempt();
    if attempt <= failures {
        return Err(Failure::new(format!("attempt {attempt} fails on purpose")));
    }
    Ok(attempt)
}

fn sleepy(_: ()) -> Result<()> {
    let start = std::time::Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        std::hint::black_box(start);
    }
    Ok(())
}

/// Counts what it is given: proves each operation applied exactly once.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Tally {
    count: u64,
    sum: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TallyOp {
    Add(i64),
    Get,
    /// Adds, then fails: the add must not stick.
    AddThenFail(i64),
    /// Adds, then computes forever: stopped by the deadline, the add must not stick.
    AddThenSpin(i64),
    /// Adds, then panics: the add must not stick, the panic must be told.
    AddThenPanic(i64),
    /// Forwards an add to another tally, one-way.
    Forward {
        to: String,
        amount: i64,
    },
    /// Adds `count` to itself, then signals `count` adds of 1 to tally `to`.
    Flood {
        to: String,
        count: u64,
    },
}

impl Actor for Tally {
    const KIND: &'static str = "tally";
    type Operation = TallyOp;

    fn handle(&mut self, ctx: &ActorContext, operation: TallyOp) -> Result<serde_json::Value> {
        match operation {
            TallyOp::Add(n) => {
                self.count += 1;
                self.sum += n;
            }
            TallyOp::Get => {}
            TallyOp::AddThenFail(n) => {
                self.sum += n;
                return Err(Failure::new("failing on purpose"));
            }
            TallyOp::AddThenSpin(n) => {
                self.sum += n;
                let mut x: u64 = 1;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(3));
                }
            }
            TallyOp::AddThenPanic(n) => {
                self.sum += n;
                panic!("tally gave up after adding {n}");
            }
            TallyOp::Forward { to, amount } => ctx.signal::<Tally>(&to, TallyOp::Add(amount)),
            TallyOp::Flood { to, count } => {
                self.sum += count as i64;
                for _ in 0..count {
                    ctx.signal::<Tally>(&to, TallyOp::Add(1));
                }
            }
        }
        Ok(serde_json::json!({"count": self.count, "sum": self.sum}))
    }
}

/// Adds to two tallies atomically, then calls a third: the orchestration side
/// of the actor API in one place.
fn tally_pair(ctx: &Context, (a, b, amount): (String, String, i64)) -> Result<serde_json::Value> {
    ctx.call_actors_atomically(&[
        ActorOp::new::<Tally>(&a, TallyOp::Add(amount)),
        ActorOp::new::<Tally>(&b, TallyOp::Add(amount)),
    ])?;
    ctx.actor::<Tally>("audit").signal(TallyOp::Add(1));
    ctx.actor::<Tally>(&a).call(TallyOp::Get)
}

/// Logs a line, then panics: the failure must carry the panic message.
fn panics(ctx: &Context, _: ()) -> Result<()> {
    ctx.log(reprise_sdk::LogLevel::Info, "about to panic");
    explode("boom from the guest")
}

#[inline(never)]
fn explode(message: &str) -> ! {
    panic!("{message}")
}

/// Recurses `depth` calls deep: deep enough, and the stack runs out.
fn overflows_stack(_: &Context, depth: u64) -> Result<u64> {
    Ok(recurse(0, depth))
}

#[inline(never)]
fn recurse(n: u64, depth: u64) -> u64 {
    if n == depth {
        return n;
    }
    let frame = std::hint::black_box([n; 64]);
    recurse(n + 1, depth).wrapping_add(frame[n as usize % 64])
}

/// An activity that panics.
fn panicking_activity(_: ()) -> Result<()> {
    panic!("the activity gave up")
}

/// Calls the panicking activity.
fn calls_panicking_activity(ctx: &Context, _: ()) -> Result<()> {
    ctx.call_activity("panicking_activity", &())
}

/// Races a task of `kind` (activity, timer, event, actor) against an hour
/// long timer, then, after the `continue` event (by which time the test may
/// have had the instance evicted, so it replays), awaits the winner again.
/// Returns both results, which must be equal.
fn await_winner_again(ctx: &Context, kind: String) -> Result<serde_json::Value> {
    match kind.as_str() {
        "activity" => race_twice(
            ctx,
            ctx.schedule_activity::<_, u64>("echo_after", &(7u64, 0u64)),
        ),
        "timer" => race_twice(ctx, ctx.timer(Duration::from_millis(10))),
        "event" => race_twice(ctx, ctx.wait_for_event::<u64>("ping")),
        "actor" => race_twice(
            ctx,
            ctx.actor::<Tally>("winner")
                .schedule_call::<serde_json::Value>(TallyOp::Add(5)),
        ),
        other => Err(Failure::new(format!("unknown kind {other}"))),
    }
}

fn race_twice<T: serde::de::DeserializeOwned + Serialize>(
    ctx: &Context,
    task: Task<T>,
) -> Result<serde_json::Value> {
    let deadline = ctx.timer(Duration::from_secs(3600));
    let first = ctx.when_any(&[task.id(), deadline.id()]);
    if first.index != 0 {
        return Err(Failure::new("the hour-long timer won"));
    }
    let first: T = first.result()?;
    ctx.set_custom_status("raced");
    let _: serde_json::Value = ctx.wait_for_event("continue").result()?;
    let again: T = task.result()?;
    Ok(serde_json::json!([first, again]))
}

/// Awaits any of no tasks at all: a bug the host must name.
fn awaits_nothing(ctx: &Context, _: ()) -> Result<()> {
    ctx.when_any(&[]).result()
}

/// A quote whose rate is not a number: JSON cannot carry it, and the
/// failure must say where it is rather than send `null`.
#[derive(Debug, Serialize)]
struct Quote {
    rates: Vec<f64>,
}

fn returns_nan(_: &Context, _: ()) -> Result<Quote> {
    Ok(Quote {
        rates: vec![1.0, f64::NAN],
    })
}

/// Exits with the status it is given, as a program would.
fn exits(_: &Context, status: i32) -> Result<()> {
    std::process::exit(status)
}

/// Computes for a while (so the clock moves on from the start event), then
/// waits for an hour-long timer, so the test can compare its fire times.
fn long_timer(ctx: &Context, spins: u64) -> Result<()> {
    let mut x: u64 = 1;
    for _ in 0..spins {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    ctx.sleep(Duration::from_secs(3600));
    Ok(())
}

/// Logs, waits for `go`, logs again: each line must be logged once, even
/// when the second half runs on another host that replays the first.
fn logs_around_a_wait(ctx: &Context, _: ()) -> Result<()> {
    ctx.log(reprise_sdk::LogLevel::Info, "before the wait");
    println!("printed before the wait");
    let _: serde_json::Value = ctx.wait_for_event("go").result()?;
    ctx.log(reprise_sdk::LogLevel::Info, "after the wait");
    Ok(())
}

reprise_sdk::app! {
    orchestrations: [probe_sandbox, spin, eat_memory, chain, scatter, notify_then_wait, retrying, timing_out, calls_unknown, tally_pair, panics, overflows_stack, calls_panicking_activity, await_winner_again, awaits_nothing, long_timer, logs_around_a_wait, retrying_later, awaits_child, journal_rounds, journal_reads, flood_tally, stamped_fan_out, returns_nan, exits],
    activities: [echo_after, flaky, sleepy, panicking_activity, stamped],
    actors: [Tally, Journal],
}
