//! The source pane: the selected frame's file with the current line
//! highlighted, step controls, and the values visible at that step.

use super::shared::Shared;
use crate::protocol::{CodeView, SourceView, ValueRef};
use crate::steps::{Frame, Marker, Moment, Role, StepKind};
use std::collections::{BTreeMap, HashSet};
use web_sys::{Element, ScrollIntoViewOptions, ScrollLogicalPosition};
use yew::prelude::*;

/// Files longer than this show a window of lines around the current one.
const MAX_LINES: usize = 4000;
/// Lines shown on each side of the current one in a long file.
const WINDOW: usize = 300;

/// The pane's inputs.
#[derive(Properties, PartialEq)]
pub struct SourceProps {
    /// The embedded sources.
    pub sources: Shared<Vec<SourceView>>,
    /// The selected frame's code.
    pub code: Option<CodeView>,
    /// Its steps, once the worker has cut them out.
    pub frame: Option<Shared<Frame>>,
    /// The current step.
    pub step: usize,
    /// Go to a step.
    pub on_step: Callback<usize>,
    /// "why?" on a value.
    pub on_why: Callback<ValueRef>,
    /// "why?" on the frame's code.
    pub on_why_code: Callback<u32>,
    /// Go to a step of another frame (where a text was learned).
    pub on_go: Callback<Moment>,
}

/// The source pane.
#[component]
pub fn SourcePane(props: &SourceProps) -> Html {
    let body = use_node_ref();
    // The value whose history is shown (a name clicked in the values).
    let history = use_state(|| Option::<(Role, String)>::None);
    let current_line = props
        .frame
        .as_ref()
        .and_then(|f| f.steps.get(props.step))
        .map(|s| s.line);

    // Bring the current line into view.
    {
        let body = body.clone();
        use_effect_with((current_line, props.frame.clone()), move |_| {
            if let Some(line) = body
                .cast::<Element>()
                .and_then(|b| b.query_selector(".src-line.current").ok().flatten())
            {
                let options = ScrollIntoViewOptions::new();
                options.set_block(ScrollLogicalPosition::Center);
                line.scroll_into_view_with_scroll_into_view_options(&options);
            }
        });
    }

    let Some(code) = &props.code else {
        return html! {
            <section class="source-pane">
                <div class="source-view placeholder" data-testid="source-view">
                    { "Select a call to see its source and values." }
                </div>
            </section>
        };
    };
    let source = props.sources.iter().find(|s| s.path == code.filename);
    let steps = props.frame.as_ref().map_or(0, |f| f.steps.len());
    let step = props.step.min(steps.saturating_sub(1));
    let go = |to: usize| props.on_step.reform(move |_: MouseEvent| to);
    let why_code = {
        let recorded = code.recorded;
        props.on_why_code.reform(move |_: MouseEvent| recorded)
    };
    let ran: HashSet<u32> = props
        .frame
        .as_ref()
        .map(|f| f.steps.iter().map(|s| s.line).collect())
        .unwrap_or_default();
    let written = props
        .frame
        .as_ref()
        .map(|f| f.written_until(step))
        .unwrap_or_default();
    let step_kind = props
        .frame
        .as_ref()
        .and_then(|f| f.steps.get(step))
        .map(|s| match s.kind {
            StepKind::Enter => "call",
            StepKind::Line => "line",
            StepKind::Raise => "raise",
            StepKind::Exit => "exit",
        });

    let onkeydown = {
        let on_step = props.on_step.clone();
        Callback::from(move |e: KeyboardEvent| {
            let to = match e.key().as_str() {
                "ArrowDown" | "ArrowRight" | "j" => (step + 1).min(steps.saturating_sub(1)),
                "ArrowUp" | "ArrowLeft" | "k" => step.saturating_sub(1),
                "Home" => 0,
                "End" => steps.saturating_sub(1),
                _ => return,
            };
            e.prevent_default();
            on_step.emit(to);
        })
    };

    html! {
        <section class="source-pane" tabindex="0" {onkeydown}
            title="Arrow keys (or j/k) step through the frame's lines">
            <div class="source-head">
                <strong class="label">{ &code.label }</strong>
                <span class="place">{ format!("{}:{}", code.filename, code.first_line) }</span>
                <span class="steps">
                    <button onclick={go(0)} disabled={step == 0} title="First step">{ "«" }</button>
                    <button onclick={go(step.saturating_sub(1))} disabled={step == 0}
                        title="Step back" data-testid="step-back">{ "◀" }</button>
                    <span class="step-count">
                        { if steps == 0 { "…".to_string() } else { format!("step {} of {}", step + 1, steps) } }
                        if let Some(kind) = step_kind { { format!(" · {kind}") } }
                    </span>
                    <button onclick={go((step + 1).min(steps.saturating_sub(1)))}
                        disabled={step + 1 >= steps} title="Step forward" data-testid="step-forward">{ "▶" }</button>
                    <button onclick={go(steps.saturating_sub(1))} disabled={step + 1 >= steps} title="Last step">{ "»" }</button>
                </span>
                <button class="why" onclick={why_code}>{ "why?" }</button>
            </div>
            if props.frame.as_ref().is_some_and(|f| f.cut) {
                <div class="note">{ format!("Only the first {} steps of this frame are shown.", crate::steps::MAX_STEPS) }</div>
            }
            <div class="source-body">
                <div class="source-view" data-testid="source-view" ref={body}>
                    { lines(source, current_line, &ran, &written, code.first_line) }
                </div>
                <div class="values">
                    { values(props, step, &history) }
                    { value_history(props, &history) }
                </div>
            </div>
        </section>
    }
}

/// At most this many characters of values are shown beside a line.
const MAX_INLINE: usize = 120;

/// The file's lines, or why there are none: the current one marked, those
/// the frame ran marked, those between its first line and the last it ran
/// that it did not run greyed, and beside each line the values it wrote.
fn lines(
    source: Option<&SourceView>,
    current: Option<u32>,
    ran: &HashSet<u32>,
    written: &BTreeMap<u32, Vec<(String, String)>>,
    first_line: u32,
) -> Html {
    let Some(source) = source else {
        return html! { <div class="placeholder">{ "The trace holds no source for this file." }</div> };
    };
    let Some(text) = &source.text else {
        let why = source
            .omitted
            .clone()
            .unwrap_or_else(|| "not embedded".into());
        return html! { <div class="placeholder">{ format!("Source not in the trace: {why}") }</div> };
    };
    let all: Vec<&str> = text.lines().collect();
    let (from, to) = if all.len() <= MAX_LINES {
        (0, all.len())
    } else {
        let at = current.map_or(0, |l| l.saturating_sub(1) as usize);
        (at.saturating_sub(WINDOW), (at + WINDOW).min(all.len()))
    };
    let last_ran = ran.iter().copied().max().unwrap_or(0);
    html! {
        <>
            { for all[from..to].iter().enumerate().map(|(i, line)| {
                let number = (from + i + 1) as u32;
                let skipped = number > first_line && number < last_ran && !ran.contains(&number);
                let class = classes!(
                    "src-line",
                    (Some(number) == current).then_some("current"),
                    ran.contains(&number).then_some("ran"),
                    skipped.then_some("not-run"),
                );
                let inline = written.get(&number).map(|values| inline_text(values));
                html! {
                    <div {class} data-line={number.to_string()}>
                        <span class="ln">{ number }</span>
                        <span class="code">{ *line }</span>
                        if let Some(text) = inline {
                            <span class="inline-values" data-testid="inline-values">{ text }</span>
                        }
                    </div>
                }
            }) }
        </>
    }
}

/// `name = value, …`, cut to [`MAX_INLINE`] characters.
fn inline_text(values: &[(String, String)]) -> String {
    let text = values
        .iter()
        .map(|(name, value)| format!("{name} = {value}"))
        .collect::<Vec<_>>()
        .join(", ");
    if text.chars().count() <= MAX_INLINE {
        text
    } else {
        let cut: String = text.chars().take(MAX_INLINE).collect();
        format!("{cut}…")
    }
}

/// The steps at which the value `history` names changed in this frame,
/// each a button to go there.
fn value_history(props: &SourceProps, history: &UseStateHandle<Option<(Role, String)>>) -> Html {
    let (Some(frame), Some((role, name))) = (&props.frame, history.as_ref()) else {
        return Html::default();
    };
    let changes = frame.history(*role, name);
    let close = {
        let history = history.clone();
        Callback::from(move |_: MouseEvent| history.set(None))
    };
    html! {
        <div class="value-history" data-testid="value-history">
            <h4>{ format!("{} {name}: {} changes in this call", role.word(), changes.len()) }
                <button onclick={close} title="Close">{ "×" }</button></h4>
            <table>
                { for changes.into_iter().map(|(at, line, value)| html! {
                    <tr class={classes!("history-step", (at == props.step).then_some("current"))}
                        data-testid="history-step" onclick={props.on_step.reform(move |_: MouseEvent| at)}
                        title="Go to this step">
                        <td class="num">{ format!("step {}", at + 1) }</td>
                        <td class="num">{ format!("line {line}") }</td>
                        <td class="value">{ value.text }</td>
                    </tr>
                }) }
            </table>
        </div>
    }
}

/// The values visible at `step`; a name shows its history when clicked.
fn values(
    props: &SourceProps,
    step: usize,
    history: &UseStateHandle<Option<(Role, String)>>,
) -> Html {
    let Some(frame) = &props.frame else {
        return html! { <div class="placeholder">{ "Loading the frame…" }</div> };
    };
    let state = frame.state_at(step);
    if state.is_empty() {
        return html! { <div class="placeholder">{ "No values at this step." }</div> };
    }
    html! {
        <table class="value-table">
            <tbody>
                { for state.into_iter().map(|v| {
                    let marker = match v.marker {
                        Marker::Value => None,
                        Marker::Redacted => Some("redacted"),
                        Marker::Dropped => Some("dropped"),
                        Marker::Absent => Some("absent"),
                    };
                    let why = (v.role != Role::Exception).then(|| {
                        let value = ValueRef {
                            role: v.role,
                            name: v.name.clone(),
                            by_value: v.by_value,
                            learned_from: v.learned_from.clone(),
                            inner: v.inner.clone(),
                        };
                        props.on_why.reform(move |_: MouseEvent| value.clone())
                    });
                    html! {
                        <tr class={classes!("value-row", marker)} data-testid="value-row">
                            <td class="role">{ v.role.word() }</td>
                            <td class="name">
                                <button class="name-button" data-testid="value-name" title="Every step where it changed"
                                    onclick={{
                                        let history = history.clone();
                                        let key = (v.role, v.name.clone());
                                        Callback::from(move |_: MouseEvent| history.set(Some(key.clone())))
                                    }}>{ &v.name }</button>
                            </td>
                            <td class="value">
                                if let Some(marker) = marker {
                                    if v.by_value {
                                        <span class={classes!("marker", marker, "by-value")}
                                            title="Redacted by value: its name is allowed, but it holds the text of a value redacted earlier in the trace (docs/filters.md, “Secrets that leave their name”)">
                                            { match &v.learned_from {
                                                Some(origin) => format!("redacted by value: same text as {origin}"),
                                                None => "redacted by value".to_string(),
                                            } }
                                        </span>
                                        if let Some(at) = v.learned_at {
                                            <button class="go" data-testid="go-learned"
                                                title="Select the step where the text was learned"
                                                onclick={props.on_go.reform(move |_: MouseEvent| at)}>{ "go there" }</button>
                                        }
                                    } else if v.at_record_time {
                                        <span class={classes!("marker", marker, "record-time")}
                                            title="Left out when the program was recorded: the value is not in the file, so no filter can bring it back (“why?” says which rule)">
                                            { format!("{marker} at record time") }
                                        </span>
                                    } else {
                                        <span class={classes!("marker", marker)}
                                            title="Left out by the playground's filter: “why?” says which rule">
                                            { marker }
                                        </span>
                                    }
                                } else {
                                    { &v.text }
                                }
                            </td>
                            <td>
                                if let Some(onclick) = why {
                                    <button class="why" {onclick}>{ "why?" }</button>
                                }
                            </td>
                        </tr>
                    }
                }) }
            </tbody>
        </table>
    }
}
