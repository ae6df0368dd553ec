//! Helpers for the integration tests: the guest components built by
//! `build.rs`, a host on a fresh database, and the `reprise` binary.

mod eventually;
pub mod http;
mod polyglot_bank;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use eventually::{Look, eventually};
pub use polyglot_bank::PolyglotBank;
use reprise::history::Event;
use reprise::store::{InstanceRecord, MessageKind};
use reprise::waiting::AwaitedKind;
use reprise::{Limits, Runtime, RuntimeBuilder, StartOptions, WorkerHandle};
use reprise_sqlite::SqliteStore;

/// The compiled guest components.
pub fn guest_path(file: &str) -> PathBuf {
    Path::new(env!("REPRISE_GUESTS")).join(format!("{file}.wasm"))
}

/// A guest component's bytes, e.g. `guest("hello_sequence")`.
pub fn guest(file: &str) -> Vec<u8> {
    read(&guest_path(file))
}

/// A Python guest component's bytes (built by `tests/build.rs` from
/// `tests/guests/python` with the SDK in `guest-sdk/python`).
pub fn python_guest(file: &str) -> Vec<u8> {
    read(&python_guest_path(file))
}

/// Where a Python guest component is.
pub fn python_guest_path(file: &str) -> PathBuf {
    toolchain_guest(
        env!("REPRISE_PYTHON_GUESTS"),
        "Python",
        "componentize-py",
        file,
    )
}

/// A JavaScript guest component's bytes (built by `tests/build.rs` from
/// `tests/guests/js` with the SDK in `guest-sdk/js`).
pub fn js_guest(file: &str) -> Vec<u8> {
    read(&js_guest_path(file))
}

/// Where a JavaScript guest component is.
pub fn js_guest_path(file: &str) -> PathBuf {
    toolchain_guest(
        env!("REPRISE_JS_GUESTS"),
        "JavaScript",
        "componentize-qjs",
        file,
    )
}

/// A guest built by another language's toolchain, which `build.rs` skips
/// (leaving `dir` empty) when the toolchain is not installed.
fn toolchain_guest(dir: &str, language: &str, toolchain: &str, file: &str) -> PathBuf {
    assert!(
        !dir.is_empty(),
        "the {language} guests were not built: run scripts/toolchains (it installs {toolchain}), then the tests again"
    );
    Path::new(dir).join(format!("{file}.wasm"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every component the tests use, registered on each new host.
pub const COMPONENTS: &[&str] = &[
    "hello_sequence",
    "fan_out",
    "approval",
    "counter",
    "bank",
    "misbehaving",
];

/// A host on a fresh database in a temporary directory, with a worker.
pub struct Host {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// The database file.
    pub db: PathBuf,
    /// The runtime under test.
    pub runtime: Runtime,
    worker: Option<WorkerHandle>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("db", &self.db).finish()
    }
}

impl Host {
    /// Default limits, worker running, all components registered.
    pub async fn new() -> Self {
        Self::with(|builder| builder).await
    }

    /// Like [`Host::new`], with the builder adjusted first.
    pub async fn with(adjust: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("reprise.db");
        let runtime = open(&db, adjust).await;
        for component in COMPONENTS {
            runtime.register(&guest(component)).await.expect("register");
        }
        let worker = Some(runtime.start_worker(64));
        Self {
            dir,
            db,
            runtime,
            worker,
        }
    }

    /// Starts an orchestration and waits for it to finish.
    pub async fn run(&self, name: &str, input: &str) -> InstanceRecord {
        let id = self.start(name, input).await;
        self.wait(&id).await
    }

    /// Starts an orchestration.
    pub async fn start(&self, name: &str, input: &str) -> String {
        self.runtime
            .start(name, input, StartOptions::default())
            .await
            .expect("start")
    }

    /// Waits (up to a minute) for an instance to finish.
    pub async fn wait(&self, id: &str) -> InstanceRecord {
        self.runtime
            .wait(id, Duration::from_secs(60))
            .await
            .expect("instance finishes")
    }

    /// Waits (up to five seconds) until the instance shows this custom status.
    pub async fn wait_for_custom_status(&self, id: &str, want: &str) {
        eventually(
            Duration::from_secs(5),
            format!("instance {id} shows custom status {want}"),
            async || {
                let seen = self.runtime.status(id).await.expect("status").custom_status;
                if seen.as_deref() == Some(want) {
                    Ok(())
                } else {
                    Err(seen)
                }
            },
        )
        .await;
    }

    /// Waits (up to five seconds) until the instance's last episode has
    /// ended in a wait for the named event: everything before that wait
    /// (activities included) is in its history, and nothing more happens
    /// until the event or a timer arrives.
    pub async fn wait_for_event_wait(&self, id: &str, event: &str) {
        eventually(
            Duration::from_secs(5),
            format!("instance {id} waits for event {event}"),
            async || {
                let facts = self.runtime.waiting(id).await.expect("waiting");
                let report = facts.report();
                if report.waiting.iter().any(
                    |awaited| matches!(awaited.what, AwaitedKind::Event { name } if name == event),
                ) {
                    Ok(())
                } else {
                    Err(serde_json::to_value(&report).expect("a report as JSON"))
                }
            },
        )
        .await;
    }

    /// Waits (up to ten seconds) until no instance is loaded in this host:
    /// those that wait idle have been evicted, to be replayed from history
    /// when they are woken.
    pub async fn wait_until_nothing_is_hot(&self) {
        eventually(
            Duration::from_secs(10),
            "no instance is hot in this host (the number of hot ones is shown)",
            async || match self.runtime.metrics().await.expect("metrics").hot_instances {
                0 => Ok(()),
                hot => Err(hot),
            },
        )
        .await;
    }

    /// Waits (up to ten seconds) until an activity result for the instance
    /// is in its inbox: stored, waiting for an episode to take it in.
    pub async fn wait_for_activity_result_in_inbox(&self, id: &str) {
        eventually(
            Duration::from_secs(10),
            format!("an activity result waits in the inbox of {id} (its inbox is shown)"),
            async || {
                let inbox = self.runtime.waiting(id).await.expect("waiting").inbox;
                if inbox.iter().any(|m| m.kind == MessageKind::Activity) {
                    Ok(())
                } else {
                    Err(inbox)
                }
            },
        )
        .await;
    }

    /// Waits (up to a minute) until every actor operation has been handled
    /// and no instance is running.
    pub async fn settle(&self) {
        settle(&self.runtime).await;
    }

    /// Stops the worker (the runtime can still be used as a client).
    pub fn stop_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.abort();
        }
    }
}

/// A client runtime (no worker) on a new database at `db`, with every test
/// component registered: for tests that run the worker as a process.
pub async fn registered_client(db: &Path) -> Runtime {
    let client = open(db, |builder| builder).await;
    for component in COMPONENTS {
        client.register(&guest(component)).await.expect("register");
    }
    client
}

/// A runtime on the database at `db`, without a worker.
pub async fn open(db: &Path, adjust: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder) -> Runtime {
    let store = SqliteStore::open(db).expect("open database");
    adjust(Runtime::builder(Arc::new(store)))
        .build()
        .await
        .expect("runtime")
}

/// Limits small enough for tests to hit quickly.
pub fn tight_limits() -> Limits {
    Limits {
        memory_bytes: 64 << 20,
        cpu_per_episode: Duration::from_millis(500),
        ..Limits::default()
    }
}

/// Runs `reprise --db DB ARGS…` to the end, its output kept.
pub fn reprise(db: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> std::process::Output {
    Command::new(reprise_bin())
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run reprise")
}

/// The `reprise` binary, built (once per test run) in the profile the tests use.
pub fn reprise_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("reprise")).clone()
}

/// The `bank-demo` binary, built (once per test run) like [`reprise_bin`].
pub fn bank_demo_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("bank-demo")).clone()
}

/// Builds binary `bin` in the profile the tests use.
///
/// It builds every target of the workspace's default members, as
/// `cargo test` at the top does, rather than the one package: cargo unifies
/// features over what one command builds, so `-p reprise-cli` alone would
/// give serde, wasmtime and their kin other features than the tests' own
/// build and compile them all a second time (and `-p bank-demo` a third).
fn workspace_bin(bin: &str) -> PathBuf {
    // target/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile dir");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // From the top: inside `tests/` cargo would select this package alone.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    cargo
        .current_dir(workspace)
        .args(["build", "--quiet", "--all-targets"]);
    if release {
        cargo.arg("--release");
    }
    let status = cargo
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo build for {bin}: {e}"));
    assert!(status.success(), "building {bin} failed");
    profile_dir.join(bin)
}

/// Waits (up to two minutes each) for every instance to end, and asserts
/// that each completed.
pub async fn assert_all_completed(client: &Runtime, ids: &[String]) {
    for id in ids {
        let record = client.wait(id, Duration::from_secs(120)).await.unwrap();
        assert_eq!(
            record.status,
            reprise::store::Status::Completed,
            "{id}: {:?}",
            record.output
        );
    }
}

/// Waits (up to a minute) until no actor operation is queued and no instance runs.
pub async fn settle(runtime: &Runtime) {
    eventually(
        Duration::from_secs(60),
        "the host settles: no instance runs and no actor operation is queued \
         (shown: whether one runs, the actor backlog)",
        async || {
            let running = runtime
                .list(&reprise::store::InstanceQuery::status(
                    Some(reprise::store::Status::Running),
                    1,
                ))
                .await
                .expect("list")
                .len();
            let backlog = runtime.actor_backlog().await.expect("backlog");
            if running == 0 && backlog == 0 {
                Ok(())
            } else {
                Err((running, backlog))
            }
        },
    )
    .await;
}

/// Whether every one of the instances has finished.
pub async fn all_finished(client: &Runtime, ids: &[String]) -> bool {
    for id in ids {
        if !client.status(id).await.unwrap().status.is_final() {
            return false;
        }
    }
    true
}

/// The states of several actors of one kind, as JSON, in the keys' order.
pub async fn actor_jsons(
    runtime: &Runtime,
    kind: &str,
    keys: impl IntoIterator<Item = impl AsRef<str>>,
) -> Vec<serde_json::Value> {
    let mut states = Vec::new();
    for key in keys {
        states.push(actor_json(runtime, kind, key.as_ref()).await);
    }
    states
}

/// An actor's state as JSON.
pub async fn actor_json(runtime: &Runtime, kind: &str, key: &str) -> serde_json::Value {
    let record = runtime.actor_state(kind, key).await.expect("actor exists");
    serde_json::from_str(&record.state).expect("state is JSON")
}

/// How long the worker lease of a test's worker process lasts: a killed
/// worker's successor starts at most this long after it.
pub const TEST_LEASE_MS: u64 = 2_000;

/// A `reprise worker` process on a database, killed with SIGKILL when
/// dropped, so a failing test leaves no worker behind.
#[derive(Debug)]
pub struct WorkerProcess {
    child: std::process::Child,
    log: WorkerLog,
}

/// Where a worker process's log (its stderr) goes.
#[derive(Debug)]
enum WorkerLog {
    /// Kept in memory by a thread that reads the pipe until the process
    /// ends, so the process never blocks on a full pipe.
    Kept {
        text: Arc<Mutex<String>>,
        reader: Option<std::thread::JoinHandle<()>>,
    },
    /// A file the test reads.
    File(PathBuf),
}

/// The line a worker process prints once it holds its lease and works.
const WORKER_RUNNING: &str = "reprise worker running on ";

impl WorkerProcess {
    /// Starts `reprise --db DB worker`; if a killed worker's lease has not
    /// run out yet, it waits for it (the tests' leases last two seconds).
    pub fn spawn(db: impl AsRef<std::ffi::OsStr>) -> Self {
        Self::spawn_with_args(db, &["worker", "--wait-for-lease"])
    }

    /// Starts `reprise --db DB ARGS…` (a worker command), its log kept in
    /// memory.
    pub fn spawn_with_args(db: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Self {
        let mut child = Self::command(db.as_ref(), args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start worker process");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let text = Arc::new(Mutex::new(String::new()));
        let reader = std::thread::spawn({
            let text = text.clone();
            move || {
                let mut chunk = [0; 4096];
                while let Ok(read @ 1..) = stderr.read(&mut chunk) {
                    lock(&text).push_str(&String::from_utf8_lossy(&chunk[..read]));
                }
            }
        });
        Self {
            child,
            log: WorkerLog::Kept {
                text,
                reader: Some(reader),
            },
        }
    }

    /// [`WorkerProcess::spawn`], with its log (stderr) going to `log`.
    pub fn spawn_logging(db: impl AsRef<std::ffi::OsStr>, log: &Path) -> Self {
        Self::spawn_to_file(db.as_ref(), &["worker", "--wait-for-lease"], log)
    }

    /// Starts `reprise --db DB worker --cluster`, logging at `info` to
    /// `log`: one of several workers sharing the database's work.
    pub fn spawn_cluster(db: impl AsRef<std::ffi::OsStr>, log: &Path) -> Self {
        Self::spawn_cluster_with(db, log, &[], &[])
    }

    /// Like [`WorkerProcess::spawn_cluster`], with `global` arguments
    /// before `worker` and `worker` ones after `--cluster`.
    pub fn spawn_cluster_with(
        db: impl AsRef<std::ffi::OsStr>,
        log: &Path,
        global: &[&str],
        worker: &[&str],
    ) -> Self {
        let mut args = vec!["--log-level", "warn,reprise=info"];
        args.extend(global);
        args.extend(["worker", "--cluster"]);
        args.extend(worker);
        Self::spawn_to_file(db.as_ref(), &args, log)
    }

    fn spawn_to_file(db: &std::ffi::OsStr, args: &[&str], log: &Path) -> Self {
        let file = std::fs::File::create(log).expect("create the worker's log file");
        let child = Self::command(db, args)
            .stderr(file)
            .spawn()
            .expect("start worker process");
        Self {
            child,
            log: WorkerLog::File(log.to_owned()),
        }
    }

    fn command(db: &std::ffi::OsStr, args: &[&str]) -> Command {
        let mut command = Command::new(reprise_bin());
        command
            .arg("--db")
            .arg(db)
            .args(args)
            .env("REPRISE_LEASE_MS", TEST_LEASE_MS.to_string())
            .stdout(std::process::Stdio::null());
        command
    }

    /// What the process has written to its log so far.
    pub fn log(&self) -> String {
        match &self.log {
            WorkerLog::Kept { text, .. } => lock(text).clone(),
            WorkerLog::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
        }
    }

    /// Waits (up to a minute) until the worker says it runs, which it does
    /// once it holds its lease (after a killed predecessor's has run out);
    /// panics, showing its log, if the process exits instead.
    pub async fn wait_until_running(&mut self) {
        let pid = self.child.id();
        eventually(
            Duration::from_secs(60),
            format!("worker process {pid} says it runs (its log is shown)"),
            async || {
                if let Some(status) = self.child.try_wait().expect("look at the worker") {
                    // Its last words may still be in the pipe.
                    if let WorkerLog::Kept { reader, .. } = &mut self.log
                        && let Some(reader) = reader.take()
                    {
                        let _ = reader.join();
                    }
                    panic!(
                        "worker process {pid} exited ({status}) instead of running:\n{}",
                        self.log()
                    );
                }
                let log = self.log();
                if log.lines().any(|line| line.starts_with(WORKER_RUNNING)) {
                    Ok(())
                } else {
                    Err(log)
                }
            },
        )
        .await;
    }

    /// The process id, to look at the process from outside.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap the process.
    pub fn kill(mut self) {
        self.stop();
    }

    /// SIGTERM, as `kill` and service managers stop a process, and wait for
    /// it to exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        self.child.wait().expect("wait for the worker")
    }

    /// Freezes the process (SIGSTOP), as a long GC pause or a stalled VM
    /// would; [`WorkerProcess::thaw`] lets it go on.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen process go on (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, which: &str) {
        let sent = Command::new("kill")
            .args([which, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill {which} failed");
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock(text: &Mutex<String>) -> std::sync::MutexGuard<'_, String> {
    text.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts `count` instances of the `chain` test orchestration, `chain-0`
/// onwards, each of `steps` activities that take `pause_ms`; returns their ids.
pub async fn start_chains(
    client: &Runtime,
    count: usize,
    steps: u64,
    pause_ms: u64,
) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        let options = StartOptions {
            instance_id: Some(format!("chain-{n}")),
            ..StartOptions::default()
        };
        let input = format!(r#"{{"steps":{steps},"pause_ms":{pause_ms}}}"#);
        ids.push(
            client
                .start("chain", &input, options)
                .await
                .expect("start a chain"),
        );
    }
    ids
}

/// How many activities each instance has scheduled so far.
pub async fn steps_scheduled(client: &Runtime, ids: &[String]) -> Vec<usize> {
    let mut steps = Vec::new();
    for id in ids {
        let history = client.history(id).await.expect("history");
        steps.push(
            history
                .iter()
                .filter(|e| matches!(e.event, Event::ActivityScheduled { .. }))
                .count(),
        );
    }
    steps
}

/// Each of the `chain` instances finished with the sum of its `steps`
/// steps, each step scheduled once and its history without gaps.
pub async fn assert_chains_exact(client: &Runtime, ids: &[String], steps: u64) {
    for id in ids {
        let record = client.status(id).await.expect("status");
        let sum = steps * (steps + 1) / 2;
        assert_eq!(record.output, Some(sum.to_string()), "{id}");
        let history = client.history(id).await.expect("history");
        let scheduled = history
            .iter()
            .filter(|e| matches!(e.event, Event::ActivityScheduled { .. }))
            .count();
        assert_eq!(scheduled as u64, steps, "{id}: each step scheduled once");
        assert_eq!(
            history.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (0..history.len() as u32).collect::<Vec<_>>(),
            "{id}: gapless positions"
        );
    }
}

/// A completed instance's output as JSON (panics, showing the failure, if
/// it did not complete).
pub fn completed_output(record: &InstanceRecord) -> serde_json::Value {
    assert_eq!(
        record.status,
        reprise::store::Status::Completed,
        "{:?}",
        record.output
    );
    serde_json::from_str(record.output.as_deref().expect("an output")).expect("JSON output")
}

/// A failed instance's failure, and its details as JSON (`null` without
/// any); panics, showing the output, if it did not fail.
pub fn failure_of(record: &InstanceRecord) -> (reprise::history::Failure, serde_json::Value) {
    assert_eq!(
        record.status,
        reprise::store::Status::Failed,
        "{:?}",
        record.output
    );
    let failure = record.failure().expect("a failed instance has a failure");
    let details =
        serde_json::from_str(failure.details.as_deref().unwrap_or("null")).expect("JSON details");
    (failure, details)
}

/// Replays the instance against its code and checks that it returns what it
/// returned live.
pub async fn assert_replays_identically(runtime: &Runtime, id: &str) {
    match runtime.replay_check(id, None).await.expect("replay") {
        reprise::ReplayVerdict::Returned(Ok(_)) => {}
        other => panic!("replay of {id} ended {other:?}"),
    }
}

/// The order example's components, registered on `runtime`: Rust
/// `place_order`, JavaScript pricing, Python shipping.
pub async fn register_orders(runtime: &Runtime) {
    for component in [
        guest("orders"),
        js_guest("js_pricing"),
        python_guest("py_shipping"),
    ] {
        runtime.register(&component).await.expect("register");
    }
}

/// Runs the bank demo (Rust orchestrations, 20 accounts, 600 transfers)
/// with its `account` actor from another component, and checks that every
/// cent is accounted for.
pub fn assert_bank_demo_conserves_money(account_component: &Path) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(bank_demo_bin())
        .arg(guest_path("bank"))
        .arg("--account-component")
        .arg(account_component)
        .args(["--accounts", "20", "--transfers", "600"])
        .arg("--db")
        .arg(dir.path().join("bank.db"))
        .output()
        .expect("run bank-demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("accounts are handled by"), "{stdout}");
    assert!(
        stdout.contains("total money: 20000 (expected 20000)"),
        "{stdout}"
    );
    assert!(stdout.contains("conservation check passed"), "{stdout}");
}
