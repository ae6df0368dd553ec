//! The stored form of history events: a compact binary encoding.
//!
//! Replay reads every event of an execution, so decoding is on the hot path
//! of recovery; JSON with an internal tag costs several times the read
//! itself. The encoding is a format byte, then a variant byte, then the
//! fields in declaration order: integers as LEB128 varints, strings as a
//! varint length and UTF-8 bytes, options and results as a 0/1 byte and the
//! value. Events written as JSON text by earlier versions still decode.

use super::{ActivityOptions, Event, Failure, HistoryEvent, Outcome, RetryPolicy};
use crate::actor::{ActorId, ActorOperation};

/// First byte of every encoded event. JSON text never starts with it.
const FORMAT: u8 = 1;

/// Why stored bytes are not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed history event: {0}")]
pub struct DecodeError(&'static str);

/// Encodes an event for storage.
pub fn encode(event: &Event) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(64));
    out.byte(FORMAT);
    out.event(event);
    out.0
}

/// Decodes a stored event: the binary encoding, or JSON text from earlier versions.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    match bytes.first() {
        Some(&FORMAT) => {
            let mut input = Reader(&bytes[1..]);
            let event = input.event()?;
            if !input.0.is_empty() {
                return Err(DecodeError("trailing bytes"));
            }
            Ok(event)
        }
        _ => serde_json::from_slice(bytes).map_err(|_| DecodeError("neither binary nor JSON")),
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn event(&mut self, event: &Event) {
        match event {
            Event::Started {
                name,
                input,
                digest: None,
            } => {
                self.byte(0);
                self.str(name);
                self.str(input);
            }
            Event::Started {
                name,
                input,
                digest: Some(digest),
            } => {
                self.byte(17);
                self.str(name);
                self.str(input);
                self.str(digest);
            }
            Event::ActivityScheduled {
                name,
                input,
                options,
            } => {
                self.byte(1);
                self.str(name);
                self.str(input);
                self.options(options);
            }
            Event::TimerScheduled { delay_ms, fire_at } => {
                self.byte(2);
                self.uint(*delay_ms);
                self.uint(*fire_at);
            }
            Event::ChildScheduled {
                name,
                input,
                instance_id,
                explicit_id,
            } => {
                self.byte(3);
                self.str(name);
                self.str(input);
                self.str(instance_id);
                self.byte(u8::from(*explicit_id));
            }
            Event::ActorCalled { operation } => {
                self.byte(4);
                self.operation(operation);
            }
            Event::ActorSignaled { operation } => {
                self.byte(5);
                self.operation(operation);
            }
            Event::ActorsCalledAtomically { operations } => {
                self.byte(6);
                self.uint(operations.len() as u64);
                operations.iter().for_each(|op| self.operation(op));
            }
            Event::EventAwaited { name } => {
                self.byte(7);
                self.str(name);
            }
            Event::TaskAwaited { task, outcome } => {
                self.byte(8);
                self.uint(u64::from(*task));
                self.outcome(outcome);
            }
            Event::AnyAwaited {
                tasks,
                winner,
                outcome,
            } => {
                self.byte(9);
                self.uint(tasks.len() as u64);
                tasks.iter().for_each(|t| self.uint(u64::from(*t)));
                self.uint(u64::from(*winner));
                self.outcome(outcome);
            }
            Event::Now { ms } => {
                self.byte(10);
                self.uint(*ms);
            }
            Event::Random { value } => {
                self.byte(11);
                self.uint(*value);
            }
            Event::Uuid { value } => {
                self.byte(12);
                self.str(value);
            }
            Event::CustomStatus { status } => {
                self.byte(13);
                self.opt_str(status.as_deref());
            }
            Event::ContinuedAsNew { input } => {
                self.byte(14);
                self.str(input);
            }
            Event::Completed { output } => {
                self.byte(15);
                self.str(output);
            }
            Event::Failed { failure } => {
                self.byte(16);
                self.failure(failure);
            }
            Event::Upgraded { from, to } => {
                self.byte(18);
                self.str(from);
                self.str(to);
            }
            Event::Forked {
                instance_id,
                execution,
                event,
            } => {
                self.byte(19);
                self.str(instance_id);
                self.uint(u64::from(*execution));
                self.uint(u64::from(*event));
            }
            Event::Rewound { cut } => {
                self.byte(20);
                self.uint(cut.len() as u64);
                for recorded in cut {
                    self.uint(u64::from(recorded.seq));
                    self.uint(recorded.at);
                    self.event(&recorded.event);
                }
            }
        }
    }

    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.byte(0),
            Some(s) => {
                self.byte(1);
                self.str(s);
            }
        }
    }

    fn opt_uint(&mut self, n: Option<u64>) {
        match n {
            None => self.byte(0),
            Some(n) => {
                self.byte(1);
                self.uint(n);
            }
        }
    }

    fn options(&mut self, options: &ActivityOptions) {
        match &options.retry {
            None => self.byte(0),
            Some(retry) => {
                self.byte(1);
                self.uint(u64::from(retry.max_attempts));
                self.uint(retry.first_retry_ms);
                self.0
                    .extend_from_slice(&retry.backoff_coefficient.to_le_bytes());
                self.uint(retry.max_retry_ms);
            }
        }
        self.opt_uint(options.timeout_ms);
    }

    fn operation(&mut self, op: &ActorOperation) {
        self.str(&op.target.kind);
        self.str(&op.target.key);
        self.str(&op.operation);
        self.str(&op.input);
    }

    fn failure(&mut self, failure: &Failure) {
        self.str(&failure.message);
        self.opt_str(failure.details.as_deref());
    }

    fn outcome(&mut self, outcome: &Outcome) {
        match outcome {
            Ok(value) => {
                self.byte(0);
                self.str(value);
            }
            Err(failure) => {
                self.byte(1);
                self.failure(failure);
            }
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.0.split_first().ok_or(DecodeError("truncated"))?;
        self.0 = rest;
        Ok(b)
    }

    fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError("bad flag")),
        }
    }

    fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(DecodeError("varint too long"))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.uint()?).map_err(|_| DecodeError("number out of range"))
    }

    fn str(&mut self) -> Result<String, DecodeError> {
        let len = usize::try_from(self.uint()?).map_err(|_| DecodeError("length"))?;
        if len > self.0.len() {
            return Err(DecodeError("truncated string"));
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("string is not UTF-8"))
    }

    fn opt_str(&mut self) -> Result<Option<String>, DecodeError> {
        Ok(if self.flag()? {
            Some(self.str()?)
        } else {
            None
        })
    }

    fn opt_uint(&mut self) -> Result<Option<u64>, DecodeError> {
        Ok(if self.flag()? {
            Some(self.uint()?)
        } else {
            None
        })
    }

    /// A count of items each at least one byte long: no more than remain.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = usize::try_from(self.uint()?).map_err(|_| DecodeError("count"))?;
        if n > self.0.len() {
            return Err(DecodeError("count exceeds the bytes left"));
        }
        Ok(n)
    }

    fn options(&mut self) -> Result<ActivityOptions, DecodeError> {
        let retry = if self.flag()? {
            let max_attempts = self.u32()?;
            let first_retry_ms = self.uint()?;
            let bits: [u8; 8] = self
                .0
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or(DecodeError("truncated float"))?;
            self.0 = &self.0[8..];
            Some(RetryPolicy {
                max_attempts,
                first_retry_ms,
                backoff_coefficient: f64::from_le_bytes(bits),
                max_retry_ms: self.uint()?,
            })
        } else {
            None
        };
        Ok(ActivityOptions {
            retry,
            timeout_ms: self.opt_uint()?,
        })
    }

    fn operation(&mut self) -> Result<ActorOperation, DecodeError> {
        Ok(ActorOperation {
            target: ActorId {
                kind: self.str()?,
                key: self.str()?,
            },
            operation: self.str()?,
            input: self.str()?,
        })
    }

    fn failure(&mut self) -> Result<Failure, DecodeError> {
        Ok(Failure {
            message: self.str()?,
            details: self.opt_str()?,
        })
    }

    fn outcome(&mut self) -> Result<Outcome, DecodeError> {
        Ok(if self.flag()? {
            Err(self.failure()?)
        } else {
            Ok(self.str()?)
        })
    }

    fn event(&mut self) -> Result<Event, DecodeError> {
        Ok(match self.byte()? {
            0 => Event::Started {
                name: self.str()?,
                input: self.str()?,
                digest: None,
            },
            1 => Event::ActivityScheduled {
                name: self.str()?,
                input: self.str()?,
                options: self.options()?,
            },
            2 => Event::TimerScheduled {
                delay_ms: self.uint()?,
                fire_at: self.uint()?,
            },
            3 => Event::ChildScheduled {
                name: self.str()?,
                input: self.str()?,
                instance_id: self.str()?,
                explicit_id: self.flag()?,
            },
            4 => Event::ActorCalled {
                operation: self.operation()?,
            },
            5 => Event::ActorSignaled {
                operation: self.operation()?,
            },
            6 => {
                let n = self.count()?;
                Event::ActorsCalledAtomically {
                    operations: (0..n).map(|_| self.operation()).collect::<Result<_, _>>()?,
                }
            }
            7 => Event::EventAwaited { name: self.str()? },
            8 => Event::TaskAwaited {
                task: self.u32()?,
                outcome: self.outcome()?,
            },
            9 => {
                let n = self.count()?;
                Event::AnyAwaited {
                    tasks: (0..n).map(|_| self.u32()).collect::<Result<_, _>>()?,
                    winner: self.u32()?,
                    outcome: self.outcome()?,
                }
            }
            10 => Event::Now { ms: self.uint()? },
            11 => Event::Random {
                value: self.uint()?,
            },
            12 => Event::Uuid { value: self.str()? },
            13 => Event::CustomStatus {
                status: self.opt_str()?,
            },
            14 => Event::ContinuedAsNew { input: self.str()? },
            15 => Event::Completed {
                output: self.str()?,
            },
            16 => Event::Failed {
                failure: self.failure()?,
            },
            17 => Event::Started {
                name: self.str()?,
                input: self.str()?,
                digest: Some(self.str()?),
            },
            18 => Event::Upgraded {
                from: self.str()?,
                to: self.str()?,
            },
            19 => Event::Forked {
                instance_id: self.str()?,
                execution: self.u32()?,
                event: self.u32()?,
            },
            20 => {
                let n = self.count()?;
                let mut cut = Vec::with_capacity(n);
                for _ in 0..n {
                    cut.push(HistoryEvent {
                        seq: self.u32()?,
                        at: self.uint()?,
                        event: self.event()?,
                    });
                }
                Event::Rewound { cut }
            }
            _ => return Err(DecodeError("unknown event type")),
        })
    }
}

#[cfg(test)]
mod tests;
