//! The call tree: a virtualized list of rows, only the visible ones in the
//! DOM, so a trace of a million events scrolls as smoothly as a small one.

use super::shared::Shared;
use crate::calltree::{CallNode, Entry, Exit, NodeKey};
use crate::format;
use crate::protocol::TraceView;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use yew::prelude::*;

/// Height of one row, in CSS pixels (the stylesheet's `.call-row`).
pub const ROW_HEIGHT: f64 = 22.0;
/// Rows rendered above and below the visible ones.
const OVERSCAN: usize = 12;
/// Pixels of indentation per nesting level.
const INDENT: u32 = 14;

/// The tree's inputs.
#[derive(Properties, PartialEq)]
pub struct TreeProps {
    /// The displayed trace.
    pub view: Shared<TraceView>,
    /// Index of the thread shown.
    pub thread: usize,
    /// The node indices to show, in order.
    pub rows: Shared<Vec<u32>>,
    /// Whether a row is collapsed, by node index.
    pub collapsed: Shared<std::collections::HashSet<u32>>,
    /// Whether rows are search results (no expanders then).
    pub searching: bool,
    /// The selected frame.
    pub selected: Option<NodeKey>,
    /// A row was clicked.
    pub on_select: Callback<NodeKey>,
    /// An expander was clicked (node index).
    pub on_toggle: Callback<u32>,
    /// "why?" was clicked (recorded code index).
    pub on_why: Callback<u32>,
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

    // Keep the selected row in sight (a click on the timeline selects too).
    {
        let container = container.clone();
        let rows = props.rows.clone();
        let thread = props.thread;
        let height_handle = height.clone();
        use_effect_with((props.selected, rows.clone()), move |(selected, _)| {
            if let (Some(key), Some(el)) = (selected, container.cast::<HtmlElement>()) {
                height_handle.set(el.client_height() as f64);
                if key.thread as usize == thread {
                    if let Ok(index) = rows.binary_search(&key.node) {
                        let top = index as f64 * ROW_HEIGHT;
                        let view_top = el.scroll_top() as f64;
                        let view_height = el.client_height() as f64;
                        if top < view_top || top + ROW_HEIGHT > view_top + view_height {
                            el.set_scroll_top((top - view_height / 3.0).max(0.0) as i32);
                        }
                    }
                }
            }
        });
    }

    let Some(calls) = props.view.tree.threads.get(props.thread) else {
        return html! { <div class="empty">{ "No calls in this trace." }</div> };
    };
    let total = props.rows.len();
    let first = ((*scroll_top / ROW_HEIGHT) as usize).saturating_sub(OVERSCAN);
    let last = (((*scroll_top + *height) / ROW_HEIGHT) as usize + OVERSCAN).min(total);
    let rows = props.rows.get(first..last).unwrap_or(&[]);

    html! {
        <div class="tree" ref={container} {onscroll} role="tree">
            <div class="tree-spacer" style={format!("height:{}px", total as f64 * ROW_HEIGHT)}>
                { for rows.iter().enumerate().map(|(i, &index)| {
                    let position = first + i;
                    match calls.nodes.get(index as usize) {
                        Some(node) => row(props, index, node, position),
                        None => html! {},
                    }
                }) }
            </div>
            if total == 0 {
                <div class="empty">{ if props.searching { "No call matches." } else { "No calls on this thread." } }</div>
            }
        </div>
    }
}

/// One row.
fn row(props: &TreeProps, index: u32, node: &CallNode, position: usize) -> Html {
    let key = NodeKey {
        thread: props.thread as u32,
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
    let on_select = props.on_select.reform(move |_: MouseEvent| key);
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
            <span class="dur">{ format::duration(node.t1.saturating_sub(node.t0)) }</span>
            <button class="why" title="Why is this call traced, and how is it named?" onclick={on_why}>{ "why?" }</button>
        </div>
    }
}
