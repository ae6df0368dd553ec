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

use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

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
) -> WasiCtx {
    let seed_bytes = seed(instance_id, execution, "wasi");
    let seed128 = u128::from_le_bytes(seed_bytes[..16].try_into().unwrap_or_default());
    let mut builder = WasiCtxBuilder::new();
    builder
        .wall_clock(LogicalWallClock(determinism.clone()))
        .monotonic_clock(LogicalMonotonicClock(determinism.clone()))
        .secure_random(StdRng::from_seed(seed_bytes))
        .insecure_random(StdRng::from_seed(seed(instance_id, execution, "insecure")))
        .insecure_random_seed(seed128)
        .stdout(LogSink::new(
            instance_id,
            "stdout",
            Some(determinism.clone()),
        ))
        .stderr(LogSink::new(
            instance_id,
            "stderr",
            Some(determinism.clone()),
        ))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    builder.build()
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

/// The activity sandbox: real clocks and randomness, plus what is granted.
pub(crate) fn activity_wasi(instance_id: &str, grants: &ActivityGrants) -> Result<WasiCtx, String> {
    let mut builder = WasiCtxBuilder::new();
    for (host, guest) in &grants.dirs {
        builder
            .preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(|e| format!("cannot open granted directory {}: {e}", host.display()))?;
    }
    builder
        .stdout(LogSink::new(instance_id, "stdout", None))
        .stderr(LogSink::new(instance_id, "stderr", None))
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
    Ok(builder.build())
}

/// Guest stdout/stderr turned into log lines, silenced during replay.
#[derive(Clone)]
struct LogSink {
    instance_id: Arc<str>,
    stream: &'static str,
    determinism: Option<Determinism>,
}

impl LogSink {
    fn new(instance_id: &str, stream: &'static str, determinism: Option<Determinism>) -> Self {
        Self {
            instance_id: instance_id.into(),
            stream,
            determinism,
        }
    }
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for LogSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let replaying = self
            .determinism
            .as_ref()
            .is_some_and(Determinism::replaying);
        if !replaying {
            let text = String::from_utf8_lossy(buf);
            for line in text.lines().filter(|l| !l.is_empty()) {
                tracing::info!(instance_id = %self.instance_id, stream = self.stream, "{line}");
            }
        }
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
