//! The exceptions of a trace: where each was raised, and where it was
//! caught, raised again, or left the recorded code.
//!
//! [`ExceptionLog`] is fed by the call index's streaming pass (see
//! `index::IndexBuilder`), which knows each thread's stack: a raise starts
//! a *flight* on its thread; the frames it unwinds move the flight outward,
//! and the first other event of that thread ends it: a line of the frame
//! holding it (caught there, at that line), a call, return or yield of
//! that frame (caught there: a `with` exit, a handler calling first), a
//! raise in that frame (raised again: a bare `raise`, a `finally`), or the
//! last frame of the thread unwinding (escaped the recorded code: uncaught,
//! or caught by code the filter leaves out, such as pytest's own).
//!
//! What stays is a few words per raise, for at most [`MAX_RAISES`] raises.

use std::collections::HashMap;
use tracesieve_engine::trace::{Name, Slot, Value};

/// At most this many raises are kept (the rest are counted).
pub const MAX_RAISES: usize = 100_000;

/// What became of a raised exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled in frame `frame` (of the raise's thread in the call index),
    /// at `line` when a line of it ran first (0 otherwise).
    Caught {
        /// The frame.
        frame: u32,
        /// The line, or 0.
        line: u32,
    },
    /// Raised again in the frame holding it before any line ran there (a
    /// bare `raise`, a `finally` or `with` block ending): the next raise
    /// of the log continues it.
    RaisedAgain,
    /// The last recorded frame of its thread unwound with it.
    Escaped,
    /// The trace ends while it is in flight.
    Unfinished,
}

/// One raise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raise {
    /// The recorded thread number.
    pub thread: u32,
    /// The raise event's number in the recorded trace.
    pub position: u32,
    /// The frame it was raised in (of its thread in the call index).
    pub frame: u32,
    /// The line it was raised at.
    pub line: u32,
    /// The exception's type, as recorded (`None` when its value was not
    /// recorded: redacted or dropped at record time).
    pub type_name: Option<Name>,
    /// What became of it.
    pub outcome: Outcome,
}

/// An exception in flight on a thread.
#[derive(Debug, Clone, Copy)]
struct Flight {
    /// Its raise, in [`ExceptionLog::raises`] (`None` past [`MAX_RAISES`]).
    raise: Option<usize>,
    /// The stack depth of the frame holding it (1 for the outermost).
    depth: usize,
}

/// The raises of a trace, as its events stream by.
#[derive(Debug, Default)]
pub struct ExceptionLog {
    raises: Vec<Raise>,
    total: u64,
    flights: HashMap<u32, Flight>,
}

impl ExceptionLog {
    /// The raises kept, in event order.
    pub fn raises(&self) -> &[Raise] {
        &self.raises
    }

    /// How many raises the trace holds (kept or not).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.raises.capacity() * std::mem::size_of::<Raise>()
    }

    /// An exception is raised in frame `frame` of `thread`, at stack depth
    /// `depth` (that frame's, 1 for the outermost), event `position`.
    pub fn raised(
        &mut self,
        thread: u32,
        position: u32,
        frame: u32,
        depth: usize,
        line: u32,
        exception: &Slot,
    ) {
        if let Some(flight) = self.flights.remove(&thread) {
            let outcome = if flight.depth == depth {
                Outcome::RaisedAgain
            } else {
                // Not reached by a well-formed trace: a deeper frame needs a
                // call first, which ends the flight.
                Outcome::Unfinished
            };
            self.end(flight, outcome);
        }
        self.total += 1;
        let raise = (self.raises.len() < MAX_RAISES).then(|| {
            self.raises.push(Raise {
                thread,
                position,
                frame,
                line,
                type_name: type_name(exception),
                outcome: Outcome::Unfinished,
            });
            self.raises.len() - 1
        });
        self.flights.insert(thread, Flight { raise, depth });
    }

    /// The frame at stack depth `depth` of `thread` exits by an exception
    /// (its stack is `depth - 1` deep after it).
    pub fn unwound(&mut self, thread: u32, depth: usize) {
        let Some(flight) = self.flights.get_mut(&thread) else {
            return;
        };
        if flight.depth != depth {
            return;
        }
        flight.depth -= 1;
        if flight.depth == 0 {
            if let Some(flight) = self.flights.remove(&thread) {
                self.end(flight, Outcome::Escaped);
            }
        }
    }

    /// Any other event of `thread` (a line, call, resume, throw, return or
    /// yield) while its stack is `depth` deep, `frame` on top: ends the
    /// thread's flight there. `line` is the line about to run for a line
    /// event, 0 otherwise.
    pub fn went_on(&mut self, thread: u32, depth: usize, frame: u32, line: u32) {
        if self.flights.is_empty() {
            return;
        }
        let Some(flight) = self.flights.remove(&thread) else {
            return;
        };
        let outcome = if flight.depth == depth {
            Outcome::Caught { frame, line }
        } else {
            Outcome::Unfinished
        };
        self.end(flight, outcome);
    }

    fn end(&mut self, flight: Flight, outcome: Outcome) {
        if let Some(raise) = flight.raise.and_then(|i| self.raises.get_mut(i)) {
            raise.outcome = outcome;
        }
    }
}

/// The type of a recorded exception value.
fn type_name(exception: &Slot) -> Option<Name> {
    match exception {
        Slot::Value {
            value:
                Value::Object { type_name, .. }
                | Value::Repr { type_name, .. }
                | Value::ReprError { type_name, .. },
        } => Some(type_name.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn exception(name: &str) -> Slot {
        Slot::Value {
            value: Value::Object {
                type_name: name.into(),
                attrs: Vec::new(),
                length: 0,
            },
        }
    }

    #[test]
    fn a_line_of_the_frame_it_reaches_catches_it() {
        let mut log = ExceptionLog::default();
        // main (depth 1) calls f (depth 2), which raises.
        log.raised(0, 10, 1, 2, 7, &exception("ValueError"));
        log.unwound(0, 2);
        log.went_on(0, 1, 0, 4);
        assert_eq!(
            log.raises()[0].outcome,
            Outcome::Caught { frame: 0, line: 4 }
        );
        assert_eq!(log.raises()[0].type_name.as_deref(), Some("ValueError"));
    }

    #[test]
    fn unwinding_the_last_frame_escapes() {
        let mut log = ExceptionLog::default();
        log.raised(3, 10, 1, 2, 7, &exception("KeyError"));
        log.unwound(3, 2);
        log.unwound(3, 1);
        assert_eq!(log.raises()[0].outcome, Outcome::Escaped);
    }

    #[test]
    fn a_raise_in_the_holding_frame_raises_it_again() {
        let mut log = ExceptionLog::default();
        log.raised(0, 10, 1, 2, 7, &exception("KeyError"));
        log.unwound(0, 2);
        // A `with` block's frame (depth 1) re-raises without a line first.
        log.raised(0, 12, 0, 1, 3, &exception("KeyError"));
        log.unwound(0, 1);
        let outcomes: Vec<Outcome> = log.raises().iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, [Outcome::RaisedAgain, Outcome::Escaped]);
    }

    #[test]
    fn threads_fly_apart_and_the_end_leaves_a_flight_unfinished() {
        let mut log = ExceptionLog::default();
        log.raised(0, 1, 0, 1, 2, &exception("A"));
        log.raised(1, 2, 0, 1, 2, &exception("B"));
        log.went_on(1, 1, 0, 3);
        assert_eq!(log.raises()[0].outcome, Outcome::Unfinished);
        assert_eq!(
            log.raises()[1].outcome,
            Outcome::Caught { frame: 0, line: 3 }
        );
    }

    #[test]
    fn a_call_from_the_holding_frame_catches_it_there_with_no_line() {
        let mut log = ExceptionLog::default();
        log.raised(0, 5, 2, 2, 9, &Slot::Redacted);
        log.unwound(0, 2);
        log.went_on(0, 1, 0, 0);
        assert_eq!(
            log.raises()[0].outcome,
            Outcome::Caught { frame: 0, line: 0 }
        );
        assert_eq!(log.raises()[0].type_name, None);
    }
}
