//! What a person needs when a guest fails: the guest's own message (for a
//! Rust guest, the panic message and its location, taken from what the
//! guest wrote to stderr just before it trapped), what stopped it (a stack
//! overflow or a limit is named as such), and where in the guest it happened
//! (the wasm backtrace, with function names from the component's name
//! section).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use wasmtime::{Trap, WasmBacktrace};

use wasmtime_wasi::I32Exit;

use super::limits::GuestLimit;
use crate::history::Failure;

/// The last bytes a guest wrote to stderr, where a panic message lands just
/// before the guest traps. Shared between the guest's stderr stream and the
/// host code that turns its trap into a failure.
#[derive(Debug, Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<u8>>>);

impl StderrTail {
    /// Enough for a panic message and the lines before it.
    const KEEP: usize = 8 << 10;

    pub(crate) fn push(&self, bytes: &[u8]) {
        let mut tail = self.lock();
        let bytes = &bytes[bytes.len().saturating_sub(Self::KEEP)..];
        let overflow = (tail.len() + bytes.len()).saturating_sub(Self::KEEP);
        tail.drain(..overflow);
        tail.extend(bytes);
    }

    /// Forgets what was written: a guest instance that handles several
    /// operations starts each with an empty tail.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn text(&self) -> String {
        let tail = self.lock();
        let (front, back) = tail.as_slices();
        let mut bytes = Vec::with_capacity(tail.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A host call refused because the guest used it wrongly (awaiting a task
/// that does not exist, a name with control characters): the guest fails
/// with this message rather than being told "trapped".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) String);

/// Lines kept in a failure's backtrace, after runs of one frame are folded.
const MAX_FRAMES: usize = 32;

/// Frames wasmtime captures when a guest traps: enough to see a recursion
/// for what it is (see [`DEEP_RECURSION`]) and the caller beneath it.
pub(crate) const CAPTURED_FRAMES: usize = 64;

/// The failure of a guest stopped by `error`: a trap, a limit, or a call the
/// host refused. `details` holds, as JSON, the trap, the backtrace (innermost
/// frame first) and the end of the guest's stderr.
pub(crate) fn describe(error: &wasmtime::Error, stderr: &StderrTail) -> Failure {
    let mut backtrace: Vec<String> = error
        .downcast_ref::<WasmBacktrace>()
        .map(|trace| trace.frames().iter().map(frame_name).collect())
        .unwrap_or_default();
    let stderr = stderr.text();
    let root = error.root_cause().to_string();
    let place = backtrace
        .iter()
        .find(|name| !is_runtime_frame(name))
        .map_or_else(String::new, |name| format!(" in {name}"));
    let panic = panic_message(&stderr);
    if panic.is_some() {
        // The panic machinery's frames say nothing the message does not.
        let machinery = backtrace.iter().take_while(|f| is_runtime_frame(f)).count();
        backtrace.drain(..machinery);
    }
    let message = if let Some(limit) = error.downcast_ref::<GuestLimit>() {
        limit.to_string()
    } else if let Some(refused) = error.downcast_ref::<Refused>() {
        refused.0.clone()
    } else if let Some(exit) = error.downcast_ref::<I32Exit>() {
        exited(exit.0)
    } else if let Some(panic) = panic {
        panic
    } else if is_stack_overflow(error, &backtrace) {
        format!("stack overflow{place}")
    } else {
        format!("trapped: {root}{place}")
    };
    let mut details = serde_json::Map::new();
    details.insert("trap".into(), root.into());
    if !backtrace.is_empty() {
        details.insert("backtrace".into(), compress(backtrace).into());
    }
    if !stderr.trim().is_empty() {
        details.insert("stderr".into(), stderr.into());
    }
    Failure {
        message,
        details: Some(serde_json::Value::Object(details).to_string()),
    }
}

/// A guest that called WASI's `exit` instead of returning. WASI 0.2's
/// `exit` carries success or failure, not a number: libc sends every
/// failing status as 1, so that status says only that the guest failed.
/// (The Python SDK reports `sys.exit(n)` itself, with its number.)
fn exited(status: i32) -> String {
    match status {
        1 => "the guest called exit with a failure status before it returned a result (WASI 0.2 carries no number: any status but 0 arrives as 1)".into(),
        status => format!("the guest called exit with status {status} before it returned a result"),
    }
}

/// A frame's function, demangled without its hash, or its index.
fn frame_name(frame: &wasmtime::FrameInfo) -> String {
    match frame.func_name() {
        Some(name) => format!("{:#}", rustc_demangle::demangle(name)),
        None => format!(
            "{}!<function {}>",
            frame.module().name().unwrap_or("<module>"),
            frame.func_index()
        ),
    }
}

/// Frames of the guest's language runtime (panic machinery, allocator,
/// abort) rather than of the code its author wrote.
fn is_runtime_frame(name: &str) -> bool {
    const RUNTIME: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "__rust",
        "rust_panic",
        "dlmalloc",
        "abort",
        "<module>",
    ];
    RUNTIME.iter().any(|prefix| name.starts_with(prefix)) || name.contains("!<function")
}

/// Runs of the same frame, as in deep recursion, become one line.
fn compress(frames: Vec<String>) -> Vec<String> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for frame in frames {
        match out.last_mut() {
            Some((last, count)) if *last == frame => *count += 1,
            _ => out.push((frame, 1)),
        }
    }
    out.into_iter()
        .take(MAX_FRAMES)
        .map(|(frame, count)| match count {
            1 => frame,
            n => format!("{frame} (×{n})"),
        })
        .collect()
}

/// A Rust panic as the standard library prints it:
/// `thread '…' panicked at FILE:LINE:COL:` then the message, on one line.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at ")?;
    let rest = &stderr[start..];
    let (location, after) = rest.split_once(":\n")?;
    let message: Vec<&str> = after
        .lines()
        .take_while(|line| !line.starts_with("note: "))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    Some(format!("{location}: {}", message.join(" ")))
}

/// Wasm's own call stack ran out, or the stack a compiled language keeps in
/// linear memory did. Rust and C keep it at the bottom of memory: running
/// off its end wraps the stack pointer to the top of the 32-bit space, and
/// the next access traps as out of bounds, deep inside a recursion.
fn is_stack_overflow(error: &wasmtime::Error, backtrace: &[String]) -> bool {
    match error.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => true,
        Some(Trap::MemoryOutOfBounds) => {
            let innermost = backtrace.first();
            let run = backtrace
                .iter()
                .take_while(|f| Some(*f) == innermost)
                .count();
            run >= DEEP_RECURSION
        }
        _ => false,
    }
}

/// Frames of one function, innermost, that make an out-of-bounds access a
/// stack overflow rather than a bad pointer.
const DEEP_RECURSION: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rust_panic_becomes_one_line_with_its_location() {
        let stderr = "starting\nthread '<unnamed>' panicked at src/lib.rs:12:5:\nboom\nfrom the guest\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at src/lib.rs:12:5: boom from the guest")
        );
        assert_eq!(panic_message("just a log line\n"), None);
    }

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        let tail = StderrTail::default();
        tail.push(&vec![b'a'; StderrTail::KEEP]);
        tail.push(b"end");
        let text = tail.text();
        assert_eq!(text.len(), StderrTail::KEEP);
        assert!(text.ends_with("aend"));
        tail.clear();
        assert_eq!(tail.text(), "");
    }

    #[test]
    fn recursion_is_folded() {
        let frames = ["f", "f", "f", "g"].map(String::from).to_vec();
        assert_eq!(compress(frames), ["f (×3)", "g"]);
    }
}
