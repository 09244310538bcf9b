//! The summary tab: what the trace is, and the filter chains.

use super::shared::Shared;
use crate::format;
use crate::protocol::{FilterSummary, Opened, StatsSummary, TraceView};
use yew::prelude::*;

/// The summary's inputs.
#[derive(Properties, PartialEq)]
pub struct SummaryProps {
    /// The opened trace.
    pub opened: Shared<Opened>,
    /// The displayed trace.
    pub view: Option<Shared<TraceView>>,
}

/// The summary tab.
#[component]
pub fn Summary(props: &SummaryProps) -> Html {
    let s = &props.opened.summary;
    let row = |name: &str, value: Html| {
        html! { <tr><th>{ name.to_string() }</th><td>{ value }</td></tr> }
    };
    let text = |t: String| html! { { t } };
    html! {
        <div class="summary" data-testid="summary">
            <h3>{ "Program" }</h3>
            <table class="facts">
                { row("file", text(props.opened.name.clone())) }
                { row("argv", html! { <code>{ s.argv.join(" ") }</code> }) }
                if let Some(p) = &s.process {
                    { row("process", text(format!("pid {}, started by {} from pid {}", p.pid, p.started.word(), p.parent))) }
                }
                { row("working directory", html! { <code>{ &s.cwd }</code> }) }
                { row("Python", text(s.python.clone())) }
                { row("recorder", text(s.recorder.clone())) }
                { row("started", text(started(s.start_unix_ms))) }
                { row("duration", text(format::duration(s.duration_ns))) }
                { row("exit status", text(s.exit_status.map_or("unknown (the trace has no trailer)".into(), |c| c.to_string()))) }
                if let Some(detached) = &s.detached {
                    { row("recorder detached", text(detached.clone())) }
                }
                if let Some(limit) = s.size_limit {
                    { row("recording stopped", text(format!(
                        "at the size limit, {} (--max-size); the program went on unrecorded",
                        tracesieve_engine::size::size_text(limit)
                    ))) }
                }
                { row("module naming", text(s.naming.clone())) }
                { row("values", text(s.values.clone())) }
            </table>
            <h3>{ "Counts" }</h3>
            <table class="facts">
                { row("events", text(format::count(s.total_events))) }
                { for s.events.iter().map(|(kind, n)| row(&format!("· {kind}"), text(format::count(*n)))) }
                { row("code objects", text(format::count(s.codes as u64))) }
                { row("source files", text(format::count(s.sources as u64))) }
                { row("threads", text(s.threads.join(", "))) }
            </table>
            <h3>{ "Record-time filter chain" }</h3>
            { chain(&s.filters) }
            { stats(&s.stats) }
            if let Some(view) = &props.view {
                <h3>{ "Playground filter chain" }</h3>
                <table class="facts">
                    { row("argv", html! { <code data-testid="playground-argv">{ view.argv.join(" ") }</code> }) }
                </table>
                { chain(&view.chain) }
                { stats(&view.report.total) }
            }
        </div>
    }
}

/// A chain as a table of paths, names and hashes.
pub fn chain(filters: &[FilterSummary]) -> Html {
    html! {
        <table class="chain">
            <thead><tr><th>{ "#" }</th><th>{ "filter" }</th><th>{ "name" }</th><th>{ "sha256" }</th></tr></thead>
            <tbody>
                { for filters.iter().enumerate().map(|(i, f)| html! {
                    <tr>
                        <td>{ i }</td>
                        <td><code>{ &f.path }</code></td>
                        <td>{ f.name.clone().unwrap_or_default() }</td>
                        <td><code class="hash" title={f.sha256.clone()}>{ f.sha256.get(..16).unwrap_or(&f.sha256) }{ "…" }</code></td>
                    </tr>
                }) }
            </tbody>
        </table>
    }
}

/// Statistics per value kind.
pub fn stats(stats: &StatsSummary) -> Html {
    html! {
        <table class="kinds">
            <thead>
                <tr>
                    <th>{ format!("scopes skipped: {}", format::count(stats.scopes_skipped)) }</th>
                    { for stats.redacted.keys().map(|k| html! { <th>{ k }</th> }) }
                </tr>
            </thead>
            <tbody>
                <tr>
                    <th>{ "redacted" }</th>
                    { for stats.redacted.values().map(|n| html! { <td>{ format::count(*n) }</td> }) }
                </tr>
                <tr>
                    <th>{ "dropped" }</th>
                    { for stats.dropped.values().map(|n| html! { <td>{ format::count(*n) }</td> }) }
                </tr>
            </tbody>
        </table>
    }
}

/// The start time as an ISO-like UTC date.
fn started(ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    date.to_iso_string().as_string().unwrap_or_default()
}
