//! The exceptions list of the displayed trace: the raises of the call
//! index's [`ExceptionLog`] whose frame the displayed tree shows, placed in
//! it (the codes and threads it displays).
//!
//! A raise in a frame the playground's filter skips is not listed: the
//! recorder, with that filter, would not have recorded it. Where it was
//! caught is the displayed frame holding the catching frame.

use crate::exceptions::{ExceptionLog, Outcome, Raise};
use crate::index::{CallIndex, ShownTree};
use crate::protocol::{
    EventAt, ExceptionOutcome, ExceptionRow, ExceptionsView, Place, MAX_ESCAPED_LISTED,
    MAX_EXCEPTIONS_LISTED,
};

/// The list for `tree`, and the raise the page opens at (the last that
/// escaped), which the caller turns into a step.
pub fn listed(
    log: &ExceptionLog,
    index: &CallIndex,
    tree: &ShownTree,
) -> (ExceptionsView, Option<EventAt>) {
    let mut view = ExceptionsView::default();
    let mut failure = None;
    let (mut others, mut escaped) = (0, 0);
    for raise in log.raises() {
        let Some(row) = row(raise, index, tree) else {
            continue;
        };
        view.total += 1;
        let is_escaped = row.outcome == ExceptionOutcome::Escaped;
        if is_escaped {
            failure = Some(row.at);
        }
        let room = if is_escaped {
            escaped < MAX_ESCAPED_LISTED
        } else {
            others < MAX_EXCEPTIONS_LISTED - MAX_ESCAPED_LISTED
        };
        if room {
            if is_escaped {
                escaped += 1;
            } else {
                others += 1;
            }
            view.rows.push(row);
        }
    }
    // Raises past the log's bound are counted, not placed.
    view.total += log.total() - log.raises().len() as u64;
    (view, failure)
}

/// The row of `raise`, if its frame is displayed.
fn row(raise: &Raise, index: &CallIndex, tree: &ShownTree) -> Option<ExceptionRow> {
    let position = u64::from(raise.position);
    let key = tree.node_at_event(index, raise.thread, position)?;
    let (slot, frame) = tree.frame_of(key.thread as usize, key.node)?;
    if frame != raise.frame as usize {
        return None;
    }
    let code = tree.node(index, key.thread as usize, key.node).code;
    let outcome = match raise.outcome {
        Outcome::Caught { frame, line } => {
            let start = index.threads[slot].start[frame as usize];
            match tree.node_at_event(index, raise.thread, u64::from(start)) {
                Some(holder) => {
                    let code = tree.node(index, holder.thread as usize, holder.node).code;
                    ExceptionOutcome::Caught(Place { code, line })
                }
                None => ExceptionOutcome::Escaped,
            }
        }
        Outcome::RaisedAgain => ExceptionOutcome::RaisedAgain,
        Outcome::Escaped => ExceptionOutcome::Escaped,
        Outcome::Unfinished => ExceptionOutcome::Unfinished,
    };
    Some(ExceptionRow {
        type_name: raise.type_name.as_deref().map(str::to_string),
        thread: key.thread,
        raised: Place {
            code,
            line: raise.line,
        },
        outcome,
        at: EventAt {
            thread: raise.thread,
            position,
        },
    })
}
