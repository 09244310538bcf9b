//! The filter playground: the editor with line numbers, highlighting and
//! the engine's errors in place; naming mode, roots and framework preset;
//! what the filter does (counts, skipped code); downloads and share link.

use super::shared::Shared;
use crate::format;
use crate::highlight;
use crate::protocol::{FilterProblem, PlaygroundState, TraceView};
use tracesieve_engine::{Framework, NamingMode};
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The playground's inputs.
#[derive(Properties, PartialEq)]
pub struct PlaygroundProps {
    /// The state being edited.
    pub state: PlaygroundState,
    /// The filter shown in the editor.
    pub active: usize,
    /// Where each filter loads from (record-time paths), when known.
    pub paths: Vec<String>,
    /// The current problem, if the filters do not load.
    pub problem: Option<FilterProblem>,
    /// The displayed trace, when one is open.
    pub view: Option<Shared<TraceView>>,
    /// Whether a re-filter is on its way.
    pub busy: bool,
    /// What the share button last did.
    pub share_status: Option<String>,
    /// The last share link made.
    pub share_link: Option<String>,
    /// The editor's text changed.
    pub on_edit: Callback<String>,
    /// Another filter was picked (index; `len` adds one).
    pub on_pick: Callback<usize>,
    /// The naming mode toggle was clicked.
    pub on_naming: Callback<NamingMode>,
    /// The roots field changed (one root per line).
    pub on_roots: Callback<String>,
    /// The framework preset changed.
    pub on_framework: Callback<Option<Framework>>,
    /// Back to the record-time state.
    pub on_reset: Callback<()>,
    /// Download the filter.
    pub on_download_filter: Callback<()>,
    /// Download the re-filtered trace.
    pub on_download_trace: Callback<()>,
    /// Copy a share link.
    pub on_share: Callback<()>,
    /// "why?" on a skipped code (recorded index).
    pub on_why: Callback<u32>,
}

/// The playground panel.
#[component]
pub fn Playground(props: &PlaygroundProps) -> Html {
    let text = props
        .state
        .filters
        .get(props.active)
        .cloned()
        .unwrap_or_default();
    let gutter = use_node_ref();
    let overlay = use_node_ref();
    let area = use_node_ref();
    let oninput = props.on_edit.reform(|e: InputEvent| {
        e.target()
            .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
            .map(|t| t.value())
            .unwrap_or_default()
    });
    let onscroll = {
        let gutter = gutter.clone();
        let overlay = overlay.clone();
        Callback::from(move |e: Event| {
            if let Some(area) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
                for el in [gutter.cast::<HtmlElement>(), overlay.cast::<HtmlElement>()]
                    .into_iter()
                    .flatten()
                {
                    el.set_scroll_top(area.scroll_top());
                    el.set_scroll_left(area.scroll_left());
                }
            }
        })
    };
    let here = props
        .problem
        .as_ref()
        .filter(|p| p.filter == Some(props.active));
    let error_line = here.and_then(|p| p.line);
    let error_column = here.and_then(|p| p.column).unwrap_or(1);
    let go_to_error = {
        let area = area.clone();
        let text = text.clone();
        Callback::from(move |_: MouseEvent| {
            if let (Some(area), Some(line)) = (area.cast::<HtmlTextAreaElement>(), error_line) {
                let at = utf16_offset(&text, line, error_column);
                let _ = area.focus();
                let _ = area.set_selection_range(at, at);
                let top = (line as f64 - 1.0) * LINE_HEIGHT - area.client_height() as f64 / 3.0;
                area.set_scroll_top(top.max(0.0) as i32);
            }
        })
    };
    let line_count = text.split('\n').count().max(1);
    let naming = props.state.naming;
    let toggle = {
        let next = match naming {
            NamingMode::Globals => NamingMode::Paths,
            NamingMode::Paths => NamingMode::Globals,
        };
        props.on_naming.reform(move |_: MouseEvent| next)
    };
    let roots = props.on_roots.reform(|e: InputEvent| {
        e.target()
            .and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok())
            .map(|t| t.value())
            .unwrap_or_default()
    });
    let framework = props.on_framework.reform(|e: Event| {
        let value = e
            .target()
            .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
            .map(|s| s.value())
            .unwrap_or_default();
        value.parse::<Framework>().ok()
    });
    let framework_value = match props.state.framework {
        Some(Framework::Pytest) => "pytest",
        Some(Framework::Unittest) => "unittest",
        None => "",
    };
    let count = props.state.filters.len();
    let path = props.paths.get(props.active).cloned().unwrap_or_else(|| {
        if props.active == 0 {
            "a new .codetracer/trace-filter.toml in the trace's working directory".into()
        } else {
            "a new filter after the others".into()
        }
    });

    html! {
        <div class="playground-inner">
            <div class="panel-title">
                <h2>{ "Filter playground" }</h2>
                if props.busy { <span class="busy">{ "re-filtering…" }</span> }
            </div>
            <div class="filter-tabs">
                { for (0..count.max(1)).map(|i| {
                    let name = props.paths.get(i)
                        .and_then(|p| p.rsplit(['/', '\\']).next().map(str::to_string))
                        .unwrap_or_else(|| format!("filter {}", i + 1));
                    let has_error = props.problem.as_ref().is_some_and(|p| p.filter == Some(i));
                    html! {
                        <button class={classes!("tab", (i == props.active).then_some("active"), has_error.then_some("has-error"))}
                            onclick={props.on_pick.reform(move |_: MouseEvent| i)} title={props.paths.get(i).cloned()}>
                            { name }
                        </button>
                    }
                }) }
                <button class="tab add" title="Add a filter after these" onclick={props.on_pick.reform(move |_: MouseEvent| count.max(1))}>{ "+" }</button>
            </div>
            <div class="filter-path" title="The path decides the project root that file: rules are relative to">
                { format!("loads as {path}, after the built-in head") }
            </div>
            <div class="editor">
                <div class="gutter" ref={gutter} aria-hidden="true">
                    { for (1..=line_count).map(|n| html! {
                        <div class={classes!((Some(n) == error_line).then_some("error-line"))}>{ n }</div>
                    }) }
                </div>
                <div class="editor-stack">
                    <pre class="highlight" ref={overlay} aria-hidden="true">
                        if let Some(line) = error_line {
                            <div class="error-band" style={format!("top:{}px", PADDING + (line as f64 - 1.0) * LINE_HEIGHT)}></div>
                            <div class="error-mark" style={format!("top:{}px;left:calc({}px + {}ch)",
                                PADDING + line as f64 * LINE_HEIGHT - 3.0, PADDING, error_column.saturating_sub(1))}></div>
                        }
                        { for highlight::spans(&text).into_iter().map(|(class, s)| html! {
                            <span class={class.css()}>{ s.to_string() }</span>
                        }) }
                        { "\n" }
                    </pre>
                    <textarea
                        ref={area}
                        data-testid="filter-editor"
                        spellcheck="false"
                        autocomplete="off"
                        wrap="off"
                        aria-label="Filter TOML"
                        placeholder="[meta]\nname = \"my-filter\"\nversion = 1\n\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n\n[[scope.rules]]\nselector = \"pkg:mypkg.*\"\nexec = \"skip\""
                        value={text.clone()}
                        {oninput}
                        {onscroll}
                    />
                </div>
            </div>
            if let Some(problem) = &props.problem {
                <div class="filter-error" data-testid="filter-error" role="alert" onclick={go_to_error}
                    title="Go to the error">
                    { problem_text(problem, &props.paths) }
                </div>
            }
            <div class="controls">
                <label class="control">
                    { "Module naming " }
                    <button data-testid="mode-toggle" class={classes!("toggle", format!("{naming:?}").to_lowercase())}
                        onclick={toggle} title="Switch between globals (__name__) and paths (file path and sys.path) naming">
                        <span class={classes!((naming == NamingMode::Globals).then_some("on"))}>{ "globals" }</span>
                        <span class={classes!((naming == NamingMode::Paths).then_some("on"))}>{ "paths" }</span>
                    </button>
                </label>
                <label class="control roots">
                    { "Extra sys.path roots (paths mode, one per line)" }
                    <textarea data-testid="roots" rows="2" spellcheck="false" value={props.state.roots.join("\n")}
                        oninput={roots} disabled={naming != NamingMode::Paths} />
                </label>
                <label class="control">
                    { "Built-in head: default + " }
                    <select data-testid="framework" onchange={framework}>
                        <option value="" selected={framework_value.is_empty()}>{ "no framework" }</option>
                        <option value="pytest" selected={framework_value == "pytest"}>{ "pytest preset" }</option>
                        <option value="unittest" selected={framework_value == "unittest"}>{ "unittest preset" }</option>
                    </select>
                </label>
            </div>
            { stats(props.view.as_ref()) }
            <div class="actions">
                <button onclick={props.on_reset.reform(|_: MouseEvent| ())} title="Back to the filters the trace was recorded with">{ "Reset" }</button>
                <button onclick={props.on_download_filter.reform(|_: MouseEvent| ())} data-testid="download-filter">{ "Download trace-filter.toml" }</button>
                <button onclick={props.on_download_trace.reform(|_: MouseEvent| ())} disabled={props.view.is_none()} data-testid="download-trace">{ "Download re-filtered trace" }</button>
                <button class="primary" onclick={props.on_share.reform(|_: MouseEvent| ())} data-testid="share-button">{ "Copy link" }</button>
            </div>
            if let Some(status) = &props.share_status {
                <div class="share-status" data-testid="share-status">{ status }</div>
            }
            if let Some(link) = &props.share_link {
                <input class="share-link" data-testid="share-link" readonly=true value={link.clone()}
                    onfocus={Callback::from(|e: FocusEvent| {
                        if let Some(input) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
                            input.select();
                        }
                    })} />
            }
            { skipped(props) }
        </div>
    }
}

/// The editor's line height and padding, in CSS pixels (the stylesheet's `--editor-line`, `.editor-stack` padding).
const LINE_HEIGHT: f64 = 18.0;
const PADDING: f64 = 6.0;

/// The textarea offset (UTF-16 units) of a 1-based line and character column.
fn utf16_offset(text: &str, line: usize, column: usize) -> u32 {
    let mut offset = 0usize;
    for (index, content) in text.split('\n').enumerate() {
        if index + 1 == line {
            offset += content
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf16)
                .sum::<usize>();
            return offset as u32;
        }
        offset += content.encode_utf16().count() + 1;
    }
    offset as u32
}

/// `filter N, line L, column C: message` when several filters are edited.
fn problem_text(problem: &FilterProblem, paths: &[String]) -> String {
    match problem.filter {
        Some(i) if paths.len() > 1 || i > 0 => format!("filter {}: {}", i + 1, problem.text()),
        _ => problem.text(),
    }
}

/// What the filter does to the trace.
fn stats(view: Option<&Shared<TraceView>>) -> Html {
    let Some(view) = view else {
        return html! {
            <div class="stats" data-testid="filter-stats">{ "Open a trace to see what the filter does." }</div>
        };
    };
    let report = &view.report;
    let kinds = report.total.redacted.keys();
    html! {
        <div class="stats" data-testid="filter-stats">
            <div class="headline">
                <span data-stat="calls">{ format!("calls kept {} of {}", view.calls_kept, view.calls_recorded) }</span>
                { format!(" ({} skipped) · ", view.calls_recorded.saturating_sub(view.calls_kept)) }
                <span data-stat="events">{ format!("{} events", format::count(report.events as u64)) }</span>
                { " · " }
                <span data-stat="scopes">{ format!("scopes skipped {}", report.total.scopes_skipped) }</span>
                if report.added.scopes_skipped > 0 {
                    <span class="added">{ format!(" +{}", report.added.scopes_skipped) }</span>
                }
                if view.processes > 1 {
                    <span data-stat="processes">{ format!(" · in all {} processes", view.processes) }</span>
                }
            </div>
            <table class="kinds">
                <thead><tr><th></th>{ for kinds.clone().map(|k| html! { <th>{ k }</th> }) }</tr></thead>
                <tbody>
                    <tr data-stat="redacted"><th>{ "redacted" }</th>
                        { for kinds.clone().map(|k| cell(report.total.redacted.get(k), report.added.redacted.get(k))) }
                    </tr>
                    <tr data-stat="dropped"><th>{ "dropped" }</th>
                        { for kinds.map(|k| cell(report.total.dropped.get(k), report.added.dropped.get(k))) }
                    </tr>
                </tbody>
            </table>
            <div class="legend">{ "Totals since recording; +N: by this filter." }</div>
        </div>
    }
}

fn cell(total: Option<&u64>, added: Option<&u64>) -> Html {
    let total = total.copied().unwrap_or(0);
    let added = added.copied().unwrap_or(0);
    html! {
        <td>
            { format::count(total) }
            if added > 0 { <span class="added">{ format!(" +{added}") }</span> }
        </td>
    }
}

/// The code objects the filter skips, with "why?".
fn skipped(props: &PlaygroundProps) -> Html {
    let Some(view) = &props.view else {
        return html! {};
    };
    if view.skipped_total == 0 {
        return html! {};
    }
    html! {
        <details class="skipped" open={view.skipped_total <= 8}>
            <summary>{ format!("Skipped by this chain: {} code object{}{}", view.skipped_total, if view.skipped_total == 1 { "" } else { "s" },
                if view.processes > 1 { " of the process shown" } else { "" }) }</summary>
            <ul>
                { for view.skipped.iter().map(|s| {
                    let code = s.recorded;
                    html! {
                        <li>
                            <span class="label">{ &s.label }</span>
                            <span class="place">{ &s.filename }</span>
                            <button class="why" onclick={props.on_why.reform(move |_: MouseEvent| code)}>{ "why?" }</button>
                        </li>
                    }
                }) }
                if view.skipped_total > view.skipped.len() {
                    <li>{ format!("… and {} more", view.skipped_total - view.skipped.len()) }</li>
                }
            </ul>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::utf16_offset;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn offsets_count_utf16_units() {
        let text = "ab\nçd😀x\nz";
        assert_eq!(utf16_offset(text, 1, 1), 0);
        assert_eq!(utf16_offset(text, 2, 1), 3);
        assert_eq!(utf16_offset(text, 2, 4), 3 + 1 + 1 + 2);
        assert_eq!(utf16_offset(text, 3, 1), 3 + 5 + 1);
        assert_eq!(utf16_offset(text, 9, 1), 10 + 1);
    }
}
