//! The "why?" panel: the engine's decisions, read for people, with the
//! JSON underneath.

use super::shared::Shared;
use crate::protocol::{ValueWhyView, WhyView};
use serde_json::Value;
use yew::prelude::*;

/// The panel's inputs.
#[derive(Properties, PartialEq)]
pub struct WhyProps {
    /// The explanation.
    pub why: Shared<WhyView>,
    /// Close the panel.
    pub on_close: Callback<()>,
}

/// The "why?" panel.
#[component]
pub fn WhyPanel(props: &WhyProps) -> Html {
    let why = &props.why;
    let playground: Option<Value> = serde_json::from_str(&why.playground).ok();
    let recorded: Option<Value> = why
        .recorded
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    html! {
        <div class="why-panel" role="dialog" aria-label="why?" data-testid="why-panel">
            <div class="why-head">
                <h3>{ &why.title }</h3>
                <button onclick={props.on_close.reform(|_: MouseEvent| ())} title="Close">{ "×" }</button>
            </div>
            { for why.notes.iter().map(|n| html! { <p class="note">{ n }</p> }) }
            if let Some(v) = &why.playground_value {
                { value("With the playground's filter", v) }
            }
            if let Some(v) = &why.recorded_value {
                { value("At record time", v) }
            }
            if let Some(d) = &playground {
                { decision("Playground decision", d, &why.playground) }
            }
            if let (Some(d), Some(raw)) = (&recorded, &why.recorded) {
                { decision("Record-time decision", d, raw) }
            }
        </div>
    }
}

fn value(title: &str, v: &ValueWhyView) -> Html {
    html! {
        <div class="why-value">
            <h4>{ title.to_string() }</h4>
            <p>
                <span class={classes!("action", v.action.clone())}>{ &v.action }</span>
                { format!(" {} — {}", v.query, v.summary) }
            </p>
            <details><summary>{ "JSON" }</summary><pre>{ &v.json }</pre></details>
        </div>
    }
}

/// The main fields of a `Decision` JSON (documented in the engine's `explain.rs`).
fn decision(title: &str, d: &Value, raw: &str) -> Html {
    let s = |v: &Value| match v {
        Value::Null => "—".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rule = &d["matched_rule"];
    let exec_by = &d["exec_set_by"];
    let exec_rule = if exec_by["rule"].is_null() {
        format!("the default_exec of {}", s(&exec_by["path"]))
    } else {
        format!(
            "rule {} ({}) of {}",
            s(&exec_by["rule"]["index_in_source"]),
            s(&exec_by["rule"]["selector"]),
            s(&exec_by["path"])
        )
    };
    let row = |k: &str, v: String| html! { <tr><th>{ k.to_string() }</th><td>{ v }</td></tr> };
    html! {
        <div class="why-decision">
            <h4>{ title.to_string() }</h4>
            <table class="facts">
                { row("exec", format!("{}{}", s(&d["exec"]), if d["synthetic"] == Value::Bool(true) { " (synthetic file: never recorded)" } else { "" })) }
                { row("set by", exec_rule) }
                { row("matched rule", if rule.is_null() { "none".into() } else {
                    format!("rule {} ({}) of {}", s(&rule["index_in_source"]), s(&rule["selector"]), s(&rule["path"]))
                }) }
                { row("reason", s(&rule["reason"])) }
                { row("module name", s(&d["module_name"])) }
                { row("module name from", s(&d["module_name_source"])) }
                { row("label", s(&d["label"])) }
                { row("object name", s(&d["object_name"])) }
                { row("value default", format!("{} (set by {})", s(&d["value_default"]), s(&d["value_default_set_by"]["path"]))) }
                { row("file", s(&d["absolute_path"])) }
                { row("relative to root", format!("{} (root {})", s(&d["relative_path"]), s(&d["project_root"]))) }
            </table>
            <details><summary>{ "Decision JSON" }</summary><pre>{ raw }</pre></details>
        </div>
    }
}
