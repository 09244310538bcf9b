//! The call tree: a virtualized list of rows. The worker holds the tree;
//! the page asks it for the rows in (and a little around) its scroll range
//! and puts only the visible ones in the DOM, so a trace of fifty million
//! events scrolls as smoothly as a small one.

use super::shared::Shared;
use crate::calltree::{Entry, Exit, NodeKey};
use crate::format;
use crate::protocol::{RowView, RowsView, TraceView};
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

/// Height of one row, in CSS pixels (the stylesheet's `.call-row`).
pub const ROW_HEIGHT: f64 = 22.0;
/// Rows rendered above and below the visible ones.
const OVERSCAN: usize = 12;
/// Rows asked for above and below the rendered ones, so that scrolling a
/// little needs no answer from the worker.
const PREFETCH: usize = 60;
/// Pixels of indentation per nesting level.
const INDENT: u32 = 14;

/// The tree's inputs.
#[derive(Properties, PartialEq)]
pub struct TreeProps {
    /// The displayed trace (its codes).
    pub view: Shared<TraceView>,
    /// The rows the worker sent: their thread, how many there are, a window of them.
    pub rows: Shared<RowsView>,
    /// Whether a row is collapsed, by node index.
    pub collapsed: Shared<std::collections::HashSet<u32>>,
    /// Whether rows are search results (no expanders then).
    pub searching: bool,
    /// The selected frame.
    pub selected: Option<NodeKey>,
    /// A row to scroll into sight (a counter, so that the same row can be asked again, and its position).
    pub scroll_to: Option<(u64, u32)>,
    /// A row was clicked: its frame and code.
    pub on_select: Callback<(NodeKey, u32)>,
    /// An expander was clicked (node index).
    pub on_toggle: Callback<u32>,
    /// "why?" was clicked (recorded code index).
    pub on_why: Callback<u32>,
    /// Rows `first..first + count` are needed (they are not all in `rows`).
    pub on_range: Callback<(u32, u32)>,
}

/// The call tree view.
#[component]
pub fn CallTreeView(props: &TreeProps) -> Html {
    let scroll_top = use_state(|| 0.0f64);
    let height = use_state(|| 600.0f64);
    let container = use_node_ref();

    let onscroll = {
        let scroll_top = scroll_top.clone();
        let height = height.clone();
        Callback::from(move |e: Event| {
            if let Some(el) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
                scroll_top.set(el.scroll_top() as f64);
                height.set(el.client_height() as f64);
            }
        })
    };

    // Keep a revealed row in sight (a click on the timeline selects too).
    {
        let container = container.clone();
        let height_handle = height.clone();
        let scroll_handle = scroll_top.clone();
        use_effect_with(props.scroll_to, move |scroll_to| {
            if let (Some((_, position)), Some(el)) = (scroll_to, container.cast::<HtmlElement>()) {
                let view_height = el.client_height() as f64;
                height_handle.set(view_height);
                let top = *position as f64 * ROW_HEIGHT;
                let view_top = el.scroll_top() as f64;
                if top < view_top || top + ROW_HEIGHT > view_top + view_height {
                    let to = (top - view_height / 3.0).max(0.0);
                    el.set_scroll_top(to as i32);
                    scroll_handle.set(el.scroll_top() as f64);
                }
            }
        });
    }

    let window = &props.rows;
    let total = window.total as usize;
    let first = ((*scroll_top / ROW_HEIGHT) as usize).saturating_sub(OVERSCAN);
    let last = (((*scroll_top + *height) / ROW_HEIGHT) as usize + OVERSCAN).min(total);

    // Ask for the rows in sight when the worker has not sent them.
    {
        let on_range = props.on_range.clone();
        let have = (
            window.first as usize,
            window.first as usize + window.rows.len(),
        );
        let missing = first < last && (first < have.0 || last > have.1);
        use_effect_with(
            (first, last, missing, props.rows.clone()),
            move |&(first, last, missing, _)| {
                if missing {
                    let from = first.saturating_sub(PREFETCH);
                    on_range.emit((from as u32, (last + PREFETCH - from) as u32));
                }
            },
        );
    }

    if props.view.threads.is_empty() {
        return html! { <div class="empty">{ "No calls in this trace." }</div> };
    }
    let shown = window.rows.iter().enumerate().filter_map(|(i, r)| {
        let position = window.first as usize + i;
        (first..last).contains(&position).then_some((position, r))
    });

    html! {
        <div class="tree" ref={container} {onscroll} role="tree">
            <div class="tree-spacer" style={format!("height:{}px", total as f64 * ROW_HEIGHT)}>
                { for shown.map(|(position, r)| row(props, r, position)) }
            </div>
            if total == 0 {
                <div class="empty">{ if props.searching { "No call matches." } else { "No calls on this thread." } }</div>
            }
        </div>
    }
}

/// One row.
fn row(props: &TreeProps, node: &RowView, position: usize) -> Html {
    let index = node.node;
    let key = NodeKey {
        thread: props.rows.thread,
        node: index,
    };
    let code = props.view.codes.get(node.code as usize);
    let label = code.map_or("?", |c| c.label.as_str());
    let place = code
        .map(|c| {
            let file = c.filename.rsplit(['/', '\\']).next().unwrap_or(&c.filename);
            match &c.module {
                Some(module) => format!("{module} · {file}:{}", c.first_line),
                None => format!("{file}:{}", c.first_line),
            }
        })
        .unwrap_or_default();
    let recorded = code.map(|c| c.recorded);
    let selected = props.selected == Some(key);
    let collapsed = props.collapsed.contains(&index);
    let twisty = if props.searching || node.size == 0 {
        "·"
    } else if collapsed {
        "▸"
    } else {
        "▾"
    };
    let displayed_code = node.code;
    let on_select = props
        .on_select
        .reform(move |_: MouseEvent| (key, displayed_code));
    let on_toggle = {
        let toggle = props.on_toggle.clone();
        let expandable = !props.searching && node.size > 0;
        Callback::from(move |e: MouseEvent| {
            if expandable {
                e.stop_propagation();
                toggle.emit(index);
            }
        })
    };
    let on_why = {
        let why = props.on_why.clone();
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            if let Some(code) = recorded {
                why.emit(code);
            }
        })
    };
    let entry = match node.entry {
        Entry::Call => None,
        Entry::Resume => Some("resumed"),
        Entry::Throw => Some("thrown into"),
    };
    let exit = match node.exit {
        Exit::Return => None,
        Exit::Yield => Some("yields"),
        Exit::Unwind => Some("raises"),
        Exit::Open => Some("unfinished"),
    };
    html! {
        <div
            class={classes!("call-row", selected.then_some("selected"))}
            data-testid="call-row"
            data-node={index.to_string()}
            role="treeitem"
            aria-selected={selected.to_string()}
            style={format!("top:{}px", position as f64 * ROW_HEIGHT)}
            onclick={on_select}
        >
            <span class="indent" style={format!("width:{}px", node.depth * INDENT)}></span>
            <span class="twisty" onclick={on_toggle}>{ twisty }</span>
            <span class="label">{ label }</span>
            if let Some(entry) = entry { <span class="tag">{ entry }</span> }
            if let Some(exit) = exit { <span class={classes!("tag", exit)}>{ exit }</span> }
            <span class="place">{ place }</span>
            <span class="dur">{ format::duration(node.duration) }</span>
            <button class="why" title="Why is this call traced, and how is it named?" onclick={on_why}>{ "why?" }</button>
        </div>
    }
}
