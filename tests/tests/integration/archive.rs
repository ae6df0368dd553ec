//! Backups and moves through the `reprise` command: a copy taken while a
//! worker runs resumes every instance, actor and timer elsewhere — a SQLite
//! backup as it is, an archive imported into PostgreSQL — and a bad archive
//! or target is refused with one line and changes nothing.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use reprise::{Runtime, StartOptions};
use reprise_postgres::PostgresStore;
use reprise_postgres::testing::TestDatabase;
use reprise_tests::{
    PolyglotBank, WorkerProcess, assert_all_completed, completed_output, open, registered_client,
    reprise, settle,
};

/// The command's stdout, once it succeeded.
fn succeeded(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// The command failed with one line on stderr; that line.
fn refused(output: Output) -> String {
    assert!(!output.status.success(), "expected a refusal");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_owned()
}

fn text(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// The approval waits for its event behind an hour's timer: live work in
/// any copy, however far the worker got.
const APPROVAL: &str = r#"{"item":"desk","amount":300,"timeout_secs":3600}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_and_an_export_taken_under_load_resume_on_sqlite_and_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let client = registered_client(&db).await;
    let bank = PolyglotBank::start(&client).await;
    let options = StartOptions {
        instance_id: Some("approval".into()),
        ..StartOptions::default()
    };
    let approval = client.start("approval", APPROVAL, options).await.unwrap();

    let mut worker = WorkerProcess::spawn(&db);
    worker.wait_until_running().await;
    // Copies taken while the worker commits: one snapshot each.
    let backup = dir.path().join("backup.db");
    let archive = dir.path().join("live.archive");
    let said = succeeded(reprise(text(&db), &["backup", text(&backup)]));
    assert!(said.starts_with("backed up "), "{said}");
    succeeded(reprise(text(&db), &["export", "-o", text(&archive)]));
    worker.kill();

    // The SQLite backup runs as it is.
    let copy = open(&backup, |builder| builder).await;
    resume(&copy, WorkerProcess::spawn(&backup), &bank, &approval).await;

    // The archive moves the installation to PostgreSQL.
    let postgres = TestDatabase::create().await;
    let said = succeeded(reprise(postgres.url(), &["import", text(&archive)]));
    assert!(said.starts_with("imported "), "{said}");
    let moved = Runtime::builder(Arc::new(
        PostgresStore::connect(&postgres.url()).await.unwrap(),
    ))
    .build()
    .await
    .unwrap();
    resume(
        &moved,
        WorkerProcess::spawn(postgres.url()),
        &bank,
        &approval,
    )
    .await;
}

/// Runs a copy to the end with its own worker: every instance completes,
/// the approval takes the event raised on the copy, and the bank's audit
/// holds.
async fn resume(copy: &Runtime, worker: WorkerProcess, bank: &PolyglotBank, approval: &str) {
    let waiting = copy.status(approval).await.unwrap();
    assert!(!waiting.status.is_final(), "{waiting:?}");
    copy.raise_event(approval, "approval", r#"{"approved":true,"by":"dana"}"#)
        .await
        .unwrap();
    let mut ids = bank.ids();
    ids.push(approval.to_owned());
    assert_all_completed(copy, &ids).await;
    settle(copy).await;
    worker.kill();
    bank.audit(copy).await;
    let decided = completed_output(&copy.status(approval).await.unwrap());
    assert_eq!(decided["by"], "dana", "{decided}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_archives_and_targets_are_refused_with_one_line_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| text(&dir.path().join(name)).to_owned();
    let source = path("source.db");
    let client = registered_client(Path::new(&source)).await;
    client
        .start("approval", APPROVAL, StartOptions::default())
        .await
        .unwrap();
    let archive = path("good.archive");
    succeeded(reprise(&source, &["export", "-o", &archive]));
    let good = std::fs::read(&archive).unwrap();
    // An archive is one snapshot in a fixed order: equal databases export
    // the same bytes.
    let export = |db: &str| succeeded(reprise(db, &["export"]));
    let nothing = export(&path("empty.db"));

    // A target that holds anything.
    let before = export(&source);
    let why = refused(reprise(&source, &["import", &archive]));
    assert!(why.contains("is not empty"), "{why}");
    assert_eq!(export(&source), before, "the target is as it was");

    // Archives that are cut short, altered, or not archives at all.
    let mut altered = good.clone();
    altered[find(&good, b"desk")] = b'b';
    let bad = [
        (
            "cut.archive",
            good[..good.len() / 2].to_vec(),
            "is truncated",
        ),
        ("no-end.archive", without_last_line(&good), "is truncated"),
        ("altered.archive", altered, "is damaged"),
        ("text.archive", b"hello\n".to_vec(), "not a Reprise archive"),
    ];
    let target = path("target.db");
    assert_eq!(export(&target), nothing);
    for (name, bytes, want) in bad {
        std::fs::write(path(name), bytes).unwrap();
        let why = refused(reprise(&target, &["import", &path(name)]));
        assert!(why.contains(want), "{name}: {why}");
        assert_eq!(export(&target), nothing, "{name} left something");
        // Into a file that was not there, a refused import leaves none.
        let new_file = path(&format!("{name}.db"));
        let why = refused(reprise(&new_file, &["import", &path(name)]));
        assert!(why.contains(want), "{name}: {why}");
        assert!(!Path::new(&new_file).exists(), "{name} left {new_file}");
    }
    // Nor does an archive that is not there.
    let why = refused(reprise(path("new.db"), &["import", &path("gone.archive")]));
    assert!(why.contains("cannot read"), "{why}");
    assert!(!Path::new(&path("new.db")).exists());
    // Still empty: the good archive goes in whole.
    succeeded(reprise(&target, &["import", &archive]));
    assert_eq!(export(&target), before);

    // A copy never overwrites a file.
    for args in [["backup", &archive].as_slice(), &["export", "-o", &archive]] {
        let why = refused(reprise(&source, args));
        assert!(why.contains("exists"), "{why}");
        assert_eq!(
            std::fs::read(&archive).unwrap(),
            good,
            "the file is as it was"
        );
    }
    // Nor does a backup of a database that is not there leave one.
    let why = refused(reprise(path("missing.db"), &["backup", &path("copy.db")]));
    assert!(why.contains("no database"), "{why}");
    assert!(!Path::new(&path("copy.db")).exists());
    assert!(!Path::new(&path("missing.db")).exists());
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the archive holds the instance's input")
}

fn without_last_line(archive: &[u8]) -> Vec<u8> {
    let body = &archive[..archive.len() - 1];
    let end = body.iter().rposition(|&b| b == b'\n').unwrap();
    archive[..=end].to_vec()
}
