//! WASI as each role sees it. Orchestrations get a deterministic world: the
//! clock reads orchestration time, randomness is seeded from the instance,
//! output becomes replay-aware log lines, and there are no files, sockets or
//! environment. Activities get the real world, limited to what they are granted.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

use super::bindings::reprise::durable::types::LogLevel;
use super::guest_log::{self, Source};
use super::trap::StderrTail;

/// A guest's WASI context, and the end of what it writes to stderr (for
/// explaining its failure).
pub(crate) struct Sandbox {
    pub(crate) wasi: WasiCtx,
    pub(crate) stderr: StderrTail,
}

/// What the orchestration's sandbox shares with the host: the logical clock
/// and whether history is being replayed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Determinism {
    /// Orchestration time, ms since the Unix epoch.
    pub(crate) clock_ms: Arc<AtomicU64>,
    pub(crate) replaying: Arc<AtomicBool>,
}

impl Determinism {
    pub(crate) fn set_time(&self, ms: u64) {
        self.clock_ms.store(ms, Ordering::Relaxed);
    }

    pub(crate) fn time(&self) -> u64 {
        self.clock_ms.load(Ordering::Relaxed)
    }

    pub(crate) fn set_replaying(&self, replaying: bool) {
        self.replaying.store(replaying, Ordering::Relaxed);
    }

    pub(crate) fn replaying(&self) -> bool {
        self.replaying.load(Ordering::Relaxed)
    }
}

/// A seed that depends only on the instance and execution.
pub(crate) fn seed(instance_id: &str, execution: u32, purpose: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(instance_id.as_bytes());
    hash.update(execution.to_le_bytes());
    hash.update(purpose.as_bytes());
    hash.finalize().into()
}

struct LogicalWallClock(Determinism);

impl HostWallClock for LogicalWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }

    fn now(&self) -> Duration {
        Duration::from_millis(self.0.time())
    }
}

struct LogicalMonotonicClock(Determinism);

impl HostMonotonicClock for LogicalMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000
    }

    fn now(&self) -> u64 {
        self.0.time().saturating_mul(1_000_000)
    }
}

/// The orchestration sandbox.
pub(crate) fn orchestration_wasi(
    instance_id: &str,
    execution: u32,
    determinism: &Determinism,
) -> Sandbox {
    let seed_bytes = seed(instance_id, execution, "wasi");
    let seed128 = u128::from_le_bytes(seed_bytes[..16].try_into().unwrap_or_default());
    let stderr = StderrTail::default();
    let source = Source::Instance {
        id: instance_id.into(),
        execution,
    };
    let mut builder = WasiCtxBuilder::new();
    builder
        .wall_clock(LogicalWallClock(determinism.clone()))
        .monotonic_clock(LogicalMonotonicClock(determinism.clone()))
        .secure_random(StdRng::from_seed(seed_bytes))
        .insecure_random(StdRng::from_seed(seed(instance_id, execution, "insecure")))
        .insecure_random_seed(seed128)
        .stdout(LogSink::new(Stream::Stdout, &source, Some(determinism)))
        .stderr(LogSink::new(
            Stream::Stderr(stderr.clone()),
            &source,
            Some(determinism),
        ))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    Sandbox {
        wasi: builder.build(),
        stderr,
    }
}

/// What an activity may reach beyond computing; nothing unless granted.
#[derive(Debug, Clone, Default)]
pub struct ActivityGrants {
    /// Outbound TCP/UDP and name lookup.
    pub network: bool,
    /// Environment variables visible to activities.
    pub env: Vec<(String, String)>,
    /// Host directories, each visible read-write at its guest path.
    pub dirs: Vec<(PathBuf, String)>,
}

/// A granted directory that cannot be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open granted directory {}: {why}", dir.display())]
pub(crate) struct GrantError {
    dir: PathBuf,
    why: String,
}

/// The activity sandbox: real clocks and randomness, plus what is granted.
pub(crate) fn activity_wasi(
    grants: &ActivityGrants,
    source: &Source,
) -> Result<Sandbox, GrantError> {
    let stderr = StderrTail::default();
    let mut builder = WasiCtxBuilder::new();
    for (host, guest) in &grants.dirs {
        builder
            .preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(|e| GrantError {
                dir: host.clone(),
                why: e.to_string(),
            })?;
    }
    builder
        .stdout(LogSink::new(Stream::Stdout, source, None))
        .stderr(LogSink::new(Stream::Stderr(stderr.clone()), source, None))
        .envs(&grants.env);
    if grants.network {
        builder.inherit_network().allow_ip_name_lookup(true);
    } else {
        builder
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
    }
    Ok(Sandbox {
        wasi: builder.build(),
        stderr,
    })
}

/// Which of a guest's output streams a [`LogSink`] takes.
#[derive(Clone)]
enum Stream {
    /// Lines at `info`.
    Stdout,
    /// Lines at `warn`, and kept in a tail: a panic message explains the
    /// trap that follows it.
    Stderr(StderrTail),
}

/// Guest stdout/stderr turned into log lines that name their [`Source`]
/// (silenced while an orchestration replays). Writes are handled inline,
/// inside the guest's call, so a panic message is in the tail before the
/// trap that follows it is explained.
#[derive(Clone)]
struct LogSink {
    stream: Stream,
    source: Source,
    determinism: Option<Determinism>,
}

impl LogSink {
    fn new(stream: Stream, source: &Source, determinism: Option<&Determinism>) -> Self {
        Self {
            stream,
            source: source.clone(),
            determinism: determinism.cloned(),
        }
    }

    fn write(&self, bytes: &[u8]) {
        // Kept even while replaying: a guest that panics during replay
        // panics with the same message.
        if let Stream::Stderr(tail) = &self.stream {
            tail.push(bytes);
        }
        if self
            .determinism
            .as_ref()
            .is_some_and(Determinism::replaying)
        {
            return;
        }
        let level = match self.stream {
            Stream::Stdout => LogLevel::Info,
            Stream::Stderr(_) => LogLevel::Warn,
        };
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            guest_log::emit(level, line, &self.source);
        }
    }
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for LogSink {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        LogSink::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for LogSink {
    async fn ready(&mut self) {}
}

impl AsyncWrite for LogSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        LogSink::write(&self, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Formats 16 random bytes as a version 4 UUID.
pub(crate) fn format_uuid(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
