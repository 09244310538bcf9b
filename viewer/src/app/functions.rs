//! The functions tab: per function, its calls, total and self time,
//! sortable; a function's callers and callees; its calls in the tree.

use super::shared::Shared;
use crate::format;
use crate::index::NONE;
use crate::protocol::{CallEdge, FunctionRow, FunctionsView, TraceView};
use yew::prelude::*;

/// The functions tab's inputs.
#[derive(Properties, PartialEq)]
pub struct FunctionsProps {
    /// The displayed trace (its code labels).
    pub view: Shared<TraceView>,
    /// The table, once the worker sent it for this view.
    pub table: Option<Shared<FunctionsView>>,
    /// Show the calls of the function with this label in the call tree.
    pub on_show: Callback<String>,
}

/// What the table is sorted by (largest first; names A to Z).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    Name,
    Calls,
    Total,
    SelfTime,
}

/// The functions tab.
#[component]
pub fn FunctionsTable(props: &FunctionsProps) -> Html {
    let sort = use_state(|| Sort::Total);
    let selected = use_state(|| Option::<u32>::None);
    let Some(table) = &props.table else {
        return html! { <div class="functions" data-testid="functions"><p class="empty">{ "Counting…" }</p></div> };
    };
    let label = |code: u32| {
        if code == NONE {
            "(thread start)".to_string()
        } else {
            props
                .view
                .codes
                .get(code as usize)
                .map_or_else(|| "?".to_string(), |c| c.label.clone())
        }
    };
    let mut rows: Vec<&FunctionRow> = table.rows.iter().collect();
    match *sort {
        Sort::Name => rows.sort_by_key(|r| label(r.code).to_lowercase()),
        Sort::Calls => rows.sort_by_key(|r| std::cmp::Reverse(r.calls)),
        Sort::Total => rows.sort_by_key(|r| std::cmp::Reverse(r.total_ns)),
        Sort::SelfTime => rows.sort_by_key(|r| std::cmp::Reverse(r.self_ns)),
    }
    let header = |by: Sort, name: &str| {
        let sort = sort.clone();
        let class = classes!("sortable", (*sort == by).then_some("sorted"));
        html! {
            <th {class} data-testid="functions-sort" onclick={Callback::from(move |_: MouseEvent| sort.set(by))}>
                { name.to_string() }
            </th>
        }
    };
    let row = |r: &FunctionRow| {
        let code = r.code;
        let onclick = {
            let selected = selected.clone();
            Callback::from(move |_: MouseEvent| selected.set(Some(code)))
        };
        html! {
            <tr class={classes!("function", (*selected == Some(code)).then_some("selected"))}
                data-testid="function-row" {onclick}>
                <td class="label">{ label(code) }</td>
                <td class="num">{ format::count(r.calls) }</td>
                <td class="num">{ format::duration(r.total_ns) }</td>
                <td class="num">{ format::duration(r.self_ns) }</td>
            </tr>
        }
    };
    let edges = |pick: &dyn Fn(&CallEdge) -> Option<u32>| {
        html! {
            <table>
                <thead><tr><th>{ "function" }</th><th class="num">{ "calls" }</th><th class="num">{ "time" }</th></tr></thead>
                <tbody>{ for table.edges.iter().filter_map(|e| pick(e).map(|other| html! {
                    <tr><td class="label">{ label(other) }</td><td class="num">{ format::count(e.calls) }</td>
                        <td class="num">{ format::duration(e.total_ns) }</td></tr>
                })) }</tbody>
            </table>
        }
    };
    html! {
        <div class="functions" data-testid="functions">
            <table class="function-table">
                <thead><tr>
                    { header(Sort::Name, "function") }
                    { header(Sort::Calls, "calls") }
                    { header(Sort::Total, "total") }
                    { header(Sort::SelfTime, "self") }
                </tr></thead>
                <tbody>{ for rows.into_iter().map(row) }</tbody>
            </table>
            if let Some((code, name)) = selected.map(|code| (code, label(code))) {
                <div class="function-detail" data-testid="function-detail">
                    <h3>{ name.clone() }
                        <button data-testid="function-show" onclick={props.on_show.reform(move |_: MouseEvent| name.clone())}>
                            { "Show its calls in the call tree" }
                        </button>
                    </h3>
                    <h4>{ "Called by" }</h4>
                    { edges(&|e: &CallEdge| (e.callee == code).then_some(e.caller)) }
                    <h4>{ "Calls" }</h4>
                    { edges(&|e: &CallEdge| (e.caller == code).then_some(e.callee)) }
                </div>
            }
        </div>
    }
}
