//! The exceptions tab: every exception raised in a displayed frame, where
//! it was raised and what became of it; a row opens the source at its raise.

use super::shared::Shared;
use crate::format;
use crate::protocol::{EventAt, ExceptionOutcome, ExceptionRow, Place, TraceView};
use yew::prelude::*;

/// The exceptions tab's inputs.
#[derive(Properties, PartialEq)]
pub struct ExceptionsProps {
    /// The displayed trace (its exceptions, codes and threads).
    pub view: Shared<TraceView>,
    /// A row was chosen: go to its raise.
    pub on_go: Callback<EventAt>,
}

/// The exceptions tab.
#[component]
pub fn ExceptionsList(props: &ExceptionsProps) -> Html {
    let view = &props.view;
    let list = &view.exceptions;
    if list.rows.is_empty() {
        return html! {
            <div class="exceptions" data-testid="exceptions">
                <p class="empty">{ "No exception was raised in the frames shown." }</p>
            </div>
        };
    }
    let place = |p: &Place| {
        let label = view
            .codes
            .get(p.code as usize)
            .map_or("?", |c| c.label.as_str());
        if p.line == 0 {
            label.to_string()
        } else {
            format!("{label}:{}", p.line)
        }
    };
    let thread = |t: u32| {
        view.threads
            .get(t as usize)
            .map_or_else(|| t.to_string(), |t| t.name.clone())
    };
    let row = |r: &ExceptionRow| {
        let at = r.at;
        let onclick = props.on_go.reform(move |_: MouseEvent| at);
        let on_go = props.on_go.clone();
        let onkeydown = Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Enter" {
                on_go.emit(at);
            }
        });
        let (class, outcome) = match &r.outcome {
            ExceptionOutcome::Caught(p) => ("caught", format!("caught in {}", place(p))),
            ExceptionOutcome::RaisedAgain => ("again", "raised again".to_string()),
            ExceptionOutcome::Escaped => ("escaped", "escaped the recorded code".to_string()),
            ExceptionOutcome::Unfinished => ("unfinished", "the trace ends first".to_string()),
        };
        html! {
            <tr class={classes!("exception", class)} data-testid="exception-row" {onclick} {onkeydown} tabindex="0"
                title="Open the source where it was raised">
                <td class="type">{ r.type_name.clone().unwrap_or_else(|| "(value not recorded)".into()) }</td>
                <td class="raised"><code>{ place(&r.raised) }</code></td>
                <td class="outcome">{ outcome }</td>
                <td class="thread">{ thread(r.thread) }</td>
            </tr>
        }
    };
    let listed = list.rows.len() as u64;
    html! {
        <div class="exceptions" data-testid="exceptions">
            if listed < list.total {
                <p class="more">{ format!(
                    "{} exceptions; listed: the {} that escaped and the first others.",
                    format::count(list.total),
                    list.rows.iter().filter(|r| r.outcome == ExceptionOutcome::Escaped).count()
                ) }</p>
            }
            <table>
                <thead><tr><th>{ "exception" }</th><th>{ "raised in" }</th><th>{ "then" }</th><th>{ "thread" }</th></tr></thead>
                <tbody>{ for list.rows.iter().map(row) }</tbody>
            </table>
        </div>
    }
}
