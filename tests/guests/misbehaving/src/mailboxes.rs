//! Actors under load: a journal that shows the order its operations were
//! applied in, and senders that flood a mailbox.

use reprise_sdk::{Actor, ActorContext, ActorOp, Context, Result};
use serde::{Deserialize, Serialize};

use crate::{Tally, TallyOp};

/// Notes down what it is told, in the order it applies it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Journal {
    notes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JournalOp {
    Note(String),
    /// Read-only: how many notes it holds.
    Get,
    /// Read-only: the notes.
    Notes,
    /// Declared read-only, but notes this down: refused.
    Scribble(String),
    /// Declared read-only, but signals a note to itself: refused.
    Gossip(String),
}

impl Actor for Journal {
    const KIND: &'static str = "journal";
    type Operation = JournalOp;
    const READ_ONLY: &'static [&'static str] = &["get", "notes", "scribble", "gossip"];

    fn handle(&mut self, ctx: &ActorContext, operation: JournalOp) -> Result<serde_json::Value> {
        match operation {
            JournalOp::Note(note) | JournalOp::Scribble(note) => self.notes.push(note),
            JournalOp::Get => {}
            JournalOp::Notes => return Ok(serde_json::json!(self.notes)),
            JournalOp::Gossip(note) => ctx.signal::<Journal>(ctx.key(), JournalOp::Note(note)),
        }
        Ok(serde_json::json!(self.notes.len()))
    }
}

/// `rounds` times: signals `s{i}` to journal `a`, then notes `t{i}` in `a`
/// and `b` atomically and waits for it. One commit queues both, the signal
/// first, so with one arrival order per actor `a` reads s0 t0 s1 t1 …
pub(crate) fn journal_rounds(ctx: &Context, (a, b, rounds): (String, String, u32)) -> Result<u32> {
    for i in 0..rounds {
        ctx.actor::<Journal>(&a)
            .signal(JournalOp::Note(format!("s{i}")));
        ctx.call_actors_atomically(&[
            ActorOp::new::<Journal>(&a, JournalOp::Note(format!("t{i}"))),
            ActorOp::new::<Journal>(&b, JournalOp::Note(format!("t{i}"))),
        ])?;
    }
    Ok(rounds)
}

/// Reads journal `key` with a read-only call (answered from its committed
/// state), then tries one that writes: how many notes it read, and the
/// refusal.
pub(crate) fn journal_reads(ctx: &Context, key: String) -> Result<(usize, String)> {
    let journal = ctx.actor::<Journal>(&key);
    let notes: Vec<String> = journal.call(JournalOp::Notes)?;
    let refusal = match journal.call::<serde_json::Value>(JournalOp::Scribble("x".into())) {
        Ok(accepted) => format!("accepted: {accepted}"),
        Err(failure) => failure.message,
    };
    Ok((notes.len(), refusal))
}

/// Signals `count` adds of 1 to tally `to`, `per_episode` at a time (then
/// waits for a call to it, which ends the episode).
pub(crate) fn flood_tally(
    ctx: &Context,
    (to, count, per_episode): (String, u64, u64),
) -> Result<u64> {
    let mut sent = 0;
    while sent < count {
        let now = per_episode.min(count - sent);
        for _ in 0..now {
            ctx.actor::<Tally>(&to).signal(TallyOp::Add(1));
        }
        sent += now;
        let _: serde_json::Value = ctx.actor::<Tally>(&to).call(TallyOp::Get)?;
    }
    Ok(sent)
}
