//! The page's keys: what each does, and the listener that turns a key
//! press anywhere on the page (but in a text field) into a [`Key`].

use web_sys::{HtmlElement, KeyboardEvent};
use yew::prelude::*;

/// A key the page answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `/`: the search box.
    Search,
    /// `↓`, `j`, `n`: the next row of the call tree (the next hit while searching).
    Next,
    /// `↑`, `k`, `N`: the previous row.
    Previous,
    /// `→`: expand the selected call.
    Expand,
    /// `←`: collapse the selected call.
    Collapse,
    /// `]`: the selected call's next step.
    StepForward,
    /// `[`: its previous step.
    StepBack,
    /// `?`: the list of keys.
    Help,
    /// `Escape`: close the list of keys or the "why?" panel.
    Close,
}

/// The keys and what they do, for the `?` list.
pub const KEYS: &[(&str, &str)] = &[
    ("/", "search calls by name"),
    ("↓  j  n", "next call (next hit while searching)"),
    ("↑  k  N", "previous call (previous hit)"),
    ("→  ←", "expand, collapse the selected call"),
    ("]  [", "next, previous step of the selected call"),
    ("Enter", "open the focused row (exceptions, tabs, buttons)"),
    ("?", "this list"),
    ("Esc", "close this list or the \u{201c}why?\u{201d} panel"),
];

impl Key {
    /// The key `event` is, unless it has a modifier held or is typed into
    /// a text field, a list or the filter editor.
    pub fn of(event: &KeyboardEvent) -> Option<Key> {
        if event.ctrl_key() || event.meta_key() || event.alt_key() || typing(event) {
            return None;
        }
        let key = event.key();
        // The source pane steps with the arrows and j/k itself when focused.
        if in_source_pane(event)
            && matches!(
                key.as_str(),
                "ArrowDown" | "ArrowUp" | "ArrowLeft" | "ArrowRight" | "j" | "k"
            )
        {
            return None;
        }
        Some(match key.as_str() {
            "/" => Key::Search,
            "ArrowDown" | "j" | "n" => Key::Next,
            "ArrowUp" | "k" | "N" => Key::Previous,
            "ArrowRight" => Key::Expand,
            "ArrowLeft" => Key::Collapse,
            "]" => Key::StepForward,
            "[" => Key::StepBack,
            "?" => Key::Help,
            "Escape" => Key::Close,
            _ => return None,
        })
    }
}

/// Whether the event's target takes text (an input, a text area, a list,
/// or anything editable).
fn typing(event: &KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    let Some(element) = event
        .target()
        .and_then(|t| t.dyn_into::<HtmlElement>().ok())
    else {
        return false;
    };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || element.is_content_editable()
}

/// Whether the event's target is in the source pane.
fn in_source_pane(event: &KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest(".source-pane").ok().flatten())
        .is_some()
}

/// Listens for keys on the whole page; `on_key` gets each one the page
/// answers. Their default actions are not prevented (a listener gloo makes
/// non-passive still met Chromium's "unable to preventDefault inside passive
/// event listener"): a key that also scrolls does both, and `/` moves the
/// focus only once its press is over, so that it is not typed.
pub fn listen(on_key: Callback<Key>) -> Option<gloo_events::EventListener> {
    let window = web_sys::window()?;
    Some(gloo_events::EventListener::new(
        &window,
        "keydown",
        move |event| {
            use wasm_bindgen::JsCast;
            if let Some(key) = event.dyn_ref::<KeyboardEvent>().and_then(Key::of) {
                on_key.emit(key);
            }
        },
    ))
}

/// Moves the focus to the search box, once the key press is over (so that
/// the `/` is not typed into it).
pub fn focus_search() {
    gloo_timers::callback::Timeout::new(0, focus_search_now).forget();
}

fn focus_search_now() {
    use wasm_bindgen::JsCast;
    let search = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("[data-testid=search]").ok().flatten())
        .and_then(|e| e.dyn_into::<HtmlElement>().ok());
    if let Some(search) = search {
        let _ = search.focus();
    }
}

/// The list of keys (`?`).
#[derive(Properties, PartialEq)]
pub struct KeysHelpProps {
    /// Close it.
    pub on_close: Callback<()>,
}

/// The list of keys.
#[component]
pub fn KeysHelp(props: &KeysHelpProps) -> Html {
    let close = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <div class="keys-help" data-testid="keys-help" role="dialog" aria-label="Keys">
            <h3>{ "Keys" }<button onclick={close} title="Close">{ "×" }</button></h3>
            <table>
                { for KEYS.iter().map(|(keys, what)| html! {
                    <tr><th><kbd>{ *keys }</kbd></th><td>{ *what }</td></tr>
                }) }
            </table>
        </div>
    }
}
