//! The timeline: a flame chart of one thread on a canvas, or for a set of
//! processes a group of lanes per process (every thread of each) on the
//! set's clock. The wheel zooms around the pointer, dragging pans, a click
//! selects the frame under it (and, in a set, its process). The worker
//! says which frames to paint for the window shown (frames narrower than
//! two pixels once per pixel column and depth); the page never holds the
//! tree.

use super::lanes;
use super::shared::Shared;
use crate::calltree::NodeKey;
use crate::format;
use crate::protocol::{LanesView, PaintedFrame, TimelineQuery, TimelineView, TraceView};
use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, WheelEvent};
use yew::prelude::*;

/// Height of one depth level, in CSS pixels.
const LEVEL: f64 = 18.0;
/// Height of the time ruler at the top.
const RULER: f64 = 20.0;
/// The narrowest window, in nanoseconds.
const MIN_SPAN: f64 = 100.0;

/// The timeline's inputs.
#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    /// The displayed trace.
    pub view: Shared<TraceView>,
    /// Index of the thread shown.
    pub thread: usize,
    /// The selected frame.
    pub selected: Option<NodeKey>,
    /// The frames to paint, as the worker last sent them.
    pub painted: Option<Shared<TimelineView>>,
    /// A frame was clicked: its key and code.
    pub on_select: Callback<(NodeKey, u32)>,
    /// Of a set of more than one process: the process shown (its frames
    /// are the ones `selected` names). Then the chart is of every process.
    pub process: Option<usize>,
    /// Then, the lanes to paint, as the worker last sent them.
    pub lanes: Option<Shared<LanesView>>,
    /// Then, a frame was clicked: its process, key and code.
    pub on_pick: Callback<(usize, NodeKey, u32)>,
    /// The window shown changed: the frames to paint for it are needed.
    pub on_window: Callback<TimelineQuery>,
}

/// The visible time window, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Window {
    t0: f64,
    t1: f64,
}

/// The times the trace's calls span: from the first call's start (the
/// recording starts a little before the program's first call) to the last
/// event.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Extent {
    start: f64,
    end: f64,
}

impl Extent {
    fn of(view: &TraceView) -> Extent {
        let end = view.end_t as f64;
        let start = (view.start_t as f64).min(end);
        Extent { start, end }
    }

    fn span(&self) -> f64 {
        (self.end - self.start).max(MIN_SPAN)
    }
}

impl Window {
    fn whole(view: &TraceView) -> Window {
        let extent = Extent::of(view);
        Window {
            t0: extent.start,
            t1: extent.start + extent.span(),
        }
    }

    fn span(&self) -> f64 {
        self.t1 - self.t0
    }

    /// Zoomed by `factor` (< 1 zooms in) around the time at `at` (0..1 of the width).
    fn zoom(&self, factor: f64, at: f64, extent: Extent) -> Window {
        let pivot = self.t0 + at * self.span();
        let span = (self.span() * factor).clamp(MIN_SPAN, extent.span());
        Window {
            t0: pivot - at * span,
            t1: pivot - at * span + span,
        }
        .clamped(extent)
    }

    /// Moved so that it stays within the extent when it can.
    fn clamped(self, extent: Extent) -> Window {
        let span = self.span();
        let t0 = self
            .t0
            .clamp(extent.start, (extent.end - span).max(extent.start));
        Window { t0, t1: t0 + span }
    }
}

/// A click on the chart: the depth and pixel clicked, the chart's width and window.
#[derive(Debug, Clone, Copy)]
struct Click {
    depth: u32,
    x: f64,
    width: f64,
    window: Window,
}

impl Click {
    /// The innermost painted frame at the depth clicked running at the
    /// time clicked, or else the one painted under the pointer (a frame
    /// narrower than a pixel stands for the others in its pixel column).
    fn hit(&self, painted: &TimelineView, thread: usize) -> Option<(NodeKey, u32)> {
        let f = self.frame(&painted.frames)?;
        let key = NodeKey {
            thread: thread as u32,
            node: f.node,
        };
        Some((key, f.code))
    }

    /// The frame of `frames` clicked, as [`Click::hit`] finds it.
    fn frame<'f>(&self, frames: &'f [PaintedFrame]) -> Option<&'f PaintedFrame> {
        let Click {
            depth,
            x,
            width,
            window,
        } = *self;
        let scale = width / window.span();
        let at = (window.t0 + x / scale).max(0.0) as u64;
        frames
            .iter()
            .rev()
            .find(|f| f.depth == depth && f.t0 <= at && f.t1 >= at)
            .or_else(|| {
                frames.iter().rev().find(|f| {
                    let x0 = ((f.t0 as f64 - window.t0) * scale).max(-1.0);
                    let x1 = ((f.t1 as f64 - window.t0) * scale).min(width + 1.0);
                    f.depth == depth && x0.floor() <= x && x < x0 + (x1 - x0).max(1.0) + 1.0
                })
            })
    }
}

/// A drag in progress: where it started and the window then.
#[derive(Debug, Clone, Copy)]
struct Drag {
    x: f64,
    from: Window,
    moved: bool,
}

/// The flame chart.
#[component]
pub fn Timeline(props: &TimelineProps) -> Html {
    let canvas = use_node_ref();
    let window = use_state(|| Window::whole(&props.view));
    let drag = use_mut_ref(|| Option::<Drag>::None);
    let extent = Extent::of(&props.view);

    // A new trace or thread: show all of it. A set keeps the window while
    // another of its processes is shown, until its extent changes.
    {
        let window = window.clone();
        let view = props.view.clone();
        let shown = props
            .process
            .is_none()
            .then(|| (view.clone(), props.thread));
        use_effect_with((shown, extent), move |_| {
            window.set(Window::whole(&view));
        });
    }

    // Ask for the frames of the window shown.
    {
        let canvas = canvas.clone();
        let on_window = props.on_window.clone();
        use_effect_with(
            (props.view.clone(), props.thread, *window),
            move |(view, thread, window)| {
                if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                    on_window.emit(TimelineQuery {
                        generation: view.generation,
                        thread: *thread as u32,
                        t0: window.t0,
                        t1: window.t1,
                        width: canvas.client_width().max(1) as f64,
                    });
                }
            },
        );
    }

    // Draw whenever something shown changes.
    {
        let canvas = canvas.clone();
        use_effect_with(
            (
                props.view.clone(),
                props.thread,
                *window,
                props.selected,
                props.painted.clone(),
                props.process,
                props.lanes.clone(),
            ),
            move |(view, thread, window, selected, painted, process, lanes)| {
                if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                    if let Some(process) = process {
                        let lanes = lanes
                            .as_ref()
                            .filter(|l| l.query.generation == view.generation);
                        let selected = selected.map(|key| (*process, key));
                        return draw_lanes(&canvas, lanes, *window, selected);
                    }
                    let painted = painted.as_ref().filter(|p| {
                        p.query.generation == view.generation && p.query.thread == *thread as u32
                    });
                    draw(&canvas, view, painted, *thread, *window, *selected);
                }
            },
        );
    }

    // The wheel zooms; the listener is not passive so the page does not scroll.
    {
        let canvas = canvas.clone();
        let window = window.clone();
        use_effect_with((*window, extent), move |&(now, extent)| {
            let listener = canvas.cast::<HtmlCanvasElement>().map(|element| {
                let target = element.clone();
                EventListener::new_with_options(
                    &element,
                    "wheel",
                    EventListenerOptions::enable_prevent_default(),
                    move |event| {
                        let Some(event) = event.dyn_ref::<WheelEvent>() else {
                            return;
                        };
                        event.prevent_default();
                        let width = target.client_width().max(1) as f64;
                        let at = (event.offset_x() as f64 / width).clamp(0.0, 1.0);
                        let factor = if event.delta_y() < 0.0 { 0.8 } else { 1.25 };
                        window.set(now.zoom(factor, at, extent));
                    },
                )
            });
            move || drop(listener)
        });
    }

    let onmousedown = {
        let drag = drag.clone();
        let window = window.clone();
        Callback::from(move |e: MouseEvent| {
            *drag.borrow_mut() = Some(Drag {
                x: e.offset_x() as f64,
                from: *window,
                moved: false,
            });
        })
    };
    let onmousemove = {
        let drag = drag.clone();
        let window = window.clone();
        let canvas = canvas.clone();
        Callback::from(move |e: MouseEvent| {
            let mut state = drag.borrow_mut();
            let Some(d) = state.as_mut() else { return };
            let dx = e.offset_x() as f64 - d.x;
            if dx.abs() < 3.0 && !d.moved {
                return;
            }
            d.moved = true;
            let width = canvas
                .cast::<HtmlCanvasElement>()
                .map_or(1.0, |c| c.client_width().max(1) as f64);
            let shift = dx / width * d.from.span();
            window.set(
                Window {
                    t0: d.from.t0 - shift,
                    t1: d.from.t1 - shift,
                }
                .clamped(extent),
            );
        })
    };
    // A click made before the frames of this view and thread came: it is
    // resolved when they come.
    let pending = use_mut_ref(|| Option::<Click>::None);
    {
        let pending = pending.clone();
        let on_select = props.on_select.clone();
        let generation = props.view.generation;
        let thread = props.thread;
        use_effect_with(props.painted.clone(), move |painted| {
            let painted = painted
                .as_ref()
                .filter(|p| p.query.generation == generation && p.query.thread == thread as u32);
            if let Some(painted) = painted {
                if let Some(click) = pending.borrow_mut().take() {
                    if let Some(hit) = click.hit(painted, thread) {
                        on_select.emit(hit);
                    }
                }
            }
        });
    }
    let onmouseup = {
        let drag = drag.clone();
        let window = window.clone();
        let canvas = canvas.clone();
        let painted = props.painted.clone();
        let generation = props.view.generation;
        let thread = props.thread;
        let on_select = props.on_select.clone();
        let pending = pending.clone();
        let set = props.process.is_some();
        let lanes = props.lanes.clone();
        let on_pick = props.on_pick.clone();
        Callback::from(move |e: MouseEvent| {
            let Some(d) = drag.borrow_mut().take() else {
                return;
            };
            if d.moved {
                return;
            }
            let width = canvas
                .cast::<HtmlCanvasElement>()
                .map_or(1.0, |c| c.client_width().max(1) as f64);
            if set {
                let lanes = lanes.as_ref().filter(|l| l.query.generation == generation);
                if let Some(pick) = lanes.and_then(|l| pick(l, &e, width, *window)) {
                    on_pick.emit(pick);
                }
                return;
            }
            let y = e.offset_y() as f64 - RULER;
            if y < 0.0 {
                return;
            }
            let click = Click {
                depth: (y / LEVEL) as u32,
                x: e.offset_x() as f64,
                width,
                window: *window,
            };
            let painted = painted
                .as_ref()
                .filter(|p| p.query.generation == generation && p.query.thread == thread as u32);
            match painted {
                Some(painted) => {
                    if let Some(hit) = click.hit(painted, thread) {
                        on_select.emit(hit);
                    }
                }
                None => *pending.borrow_mut() = Some(click),
            }
        })
    };
    let onmouseleave = {
        let drag = drag.clone();
        Callback::from(move |_: MouseEvent| {
            drag.borrow_mut().take();
        })
    };
    let zoom = |factor: f64| {
        let window = window.clone();
        Callback::from(move |_: MouseEvent| window.set(window.zoom(factor, 0.5, extent)))
    };
    let reset = {
        let window = window.clone();
        let view = props.view.clone();
        Callback::from(move |_: MouseEvent| window.set(Window::whole(&view)))
    };
    let depth = props
        .view
        .threads
        .get(props.thread)
        .map_or(1, |t| t.depth.max(1));
    let height = match (props.process, &props.lanes) {
        (Some(_), Some(l)) => lanes::layout(l, RULER, LEVEL).2 + 4.0,
        (Some(_), None) => RULER + lanes::HEADER,
        (None, _) => RULER + depth as f64 * LEVEL + 4.0,
    };
    let headers = match (props.process, &props.lanes) {
        (Some(_), Some(l)) => headers(l),
        _ => Html::default(),
    };

    // For tests and tools: whether frames of this view are painted yet.
    let painted = match props.process {
        Some(_) => props
            .lanes
            .as_ref()
            .is_some_and(|l| l.query.generation == props.view.generation),
        None => props.painted.as_ref().is_some_and(|p| {
            p.query.generation == props.view.generation && p.query.thread == props.thread as u32
        }),
    };
    html! {
        <div class="timeline">
            <div class="timeline-bar">
                <button onclick={zoom(0.5)} title="Zoom in">{ "+" }</button>
                <button onclick={zoom(2.0)} title="Zoom out">{ "−" }</button>
                <button onclick={reset} title="Show the whole thread">{ "Fit" }</button>
                <span class="hint">
                    { format!("{} – {} · wheel to zoom, drag to pan, click to select",
                        format::duration(window.t0 as u64), format::duration(window.t1 as u64)) }
                </span>
            </div>
            <div class="timeline-scroll">
                <canvas ref={canvas} class="flame" style={format!("height:{height}px")}
                    {onmousedown} {onmousemove} {onmouseup} {onmouseleave}
                    data-testid="timeline" data-painted={if painted { "yes" } else { "no" }}></canvas>
                { headers }
            </div>
        </div>
    }
}

/// The frame of a set's lanes under the pointer: its process, key and code.
fn pick(
    lanes: &LanesView,
    e: &MouseEvent,
    width: f64,
    window: Window,
) -> Option<(usize, NodeKey, u32)> {
    let (placed, depth) = lanes::at(lanes, RULER, LEVEL, e.offset_y() as f64)?;
    let group = lanes.groups.get(placed.group)?;
    let lane = group.lanes.get(placed.lane)?;
    let click = Click {
        depth,
        x: e.offset_x() as f64,
        width,
        window,
    };
    let f = click.frame(&lane.frames)?;
    let key = NodeKey {
        thread: lane.thread,
        node: f.node,
    };
    Some((group.process as usize, key, f.code))
}

/// A 2D context for `canvas`, sized to its CSS box (at the device's pixel
/// ratio), cleared, with the ruler for `window` drawn; and its width.
fn prepare(canvas: &HtmlCanvasElement, window: Window) -> Option<(CanvasRenderingContext2d, f64)> {
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    let width = canvas.client_width().max(1) as f64;
    let height = canvas.client_height().max(1) as f64;
    canvas.set_width((width * ratio) as u32);
    canvas.set_height((height * ratio) as u32);
    let ctx = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())?;
    let _ = ctx.scale(ratio, ratio);
    ctx.clear_rect(0.0, 0.0, width, height);
    ctx.set_font("11px system-ui, sans-serif");
    ctx.set_text_baseline("middle");

    // Ruler.
    ctx.set_fill_style_str("#f3f4f6");
    ctx.fill_rect(0.0, 0.0, width, RULER);
    ctx.set_fill_style_str("#6b7280");
    for i in 0..=4 {
        let x = width * i as f64 / 4.0;
        let t = window.t0 + window.span() * i as f64 / 4.0;
        ctx.fill_rect(x.min(width - 1.0), RULER - 5.0, 1.0, 5.0);
        let text = format::duration(t.max(0.0) as u64);
        let tx = if i == 4 { x - 60.0 } else { x + 3.0 };
        let _ = ctx.fill_text(&text, tx.max(2.0), RULER / 2.0 - 1.0);
    }
    Some((ctx, width))
}

/// The label of each process's header row, over the canvas.
fn headers(lanes: &LanesView) -> Html {
    let (ys, _, _) = lanes::layout(lanes, RULER, LEVEL);
    lanes
        .groups
        .iter()
        .zip(ys)
        .map(|(group, y)| {
            html! {
                <div class="lane-header" data-testid="lane-header"
                    data-process={group.process.to_string()} style={format!("top:{y}px")}>
                    { group.label.clone() }
                </div>
            }
        })
        .collect()
}

/// Paints a set's lanes within `window`: each process's header row, its
/// threads' names (when more than one) and frames; `selected` is a frame
/// of a process.
fn draw_lanes(
    canvas: &HtmlCanvasElement,
    lanes: Option<&Shared<LanesView>>,
    window: Window,
    selected: Option<(usize, NodeKey)>,
) {
    let Some((ctx, width)) = prepare(canvas, window) else {
        return;
    };
    let Some(lanes) = lanes else { return };
    let (headers, placed, _) = lanes::layout(lanes, RULER, LEVEL);
    // The labels are the page's (see `headers`).
    for y in headers {
        ctx.set_fill_style_str("#e5e7eb");
        ctx.fill_rect(0.0, y, width, lanes::HEADER);
    }
    let mut chosen = None;
    for p in placed {
        let group = &lanes.groups[p.group];
        let lane = &group.lanes[p.lane];
        if let Some(y) = p.name_y {
            ctx.set_fill_style_str("#6b7280");
            let _ = ctx.fill_text(&lane.name, 4.0, y + lanes::THREAD / 2.0);
        }
        let selected = selected
            .filter(|(process, key)| {
                *process == group.process as usize && key.thread == lane.thread
            })
            .map(|(_, key)| key.node);
        let label = |f: &PaintedFrame| lanes::label(&group.codes, f).unwrap_or("?").to_string();
        chosen = paint_frames(&ctx, &lane.frames, p.y, width, window, label, selected).or(chosen);
    }
    outline(&ctx, chosen);
}

/// Paints `frames` with depth 0 at `top`, each labelled by `label` when
/// wide enough; where the frame `selected` (a node) is, if painted.
fn paint_frames(
    ctx: &CanvasRenderingContext2d,
    frames: &[PaintedFrame],
    top: f64,
    width: f64,
    window: Window,
    label: impl Fn(&PaintedFrame) -> String,
    selected: Option<u32>,
) -> Option<(f64, f64, f64)> {
    let scale = width / window.span();
    let mut chosen = None;
    for node in frames {
        if (node.t1 as f64) < window.t0 || (node.t0 as f64) > window.t1 {
            continue;
        }
        let x0 = ((node.t0 as f64 - window.t0) * scale).max(-1.0);
        let x1 = ((node.t1 as f64 - window.t0) * scale).min(width + 1.0);
        let w = (x1 - x0).max(1.0);
        let y = top + node.depth as f64 * LEVEL;
        ctx.set_fill_style_str(&color(node.code));
        ctx.fill_rect(x0, y + 1.0, w, LEVEL - 2.0);
        if w > 28.0 {
            let label = label(node);
            let fits = ((w - 6.0) / 6.5) as usize;
            let text: String = if label.chars().count() > fits {
                label
                    .chars()
                    .take(fits.saturating_sub(1))
                    .chain(['…'])
                    .collect()
            } else {
                label
            };
            ctx.set_fill_style_str("#111827");
            let _ = ctx.fill_text(&text, x0.max(0.0) + 3.0, y + LEVEL / 2.0);
        }
        if selected == Some(node.node) {
            chosen = Some((x0, y, w));
        }
    }
    chosen
}

/// Outlines the selected frame, where [`paint_frames`] found it.
fn outline(ctx: &CanvasRenderingContext2d, chosen: Option<(f64, f64, f64)>) {
    if let Some((x, y, w)) = chosen {
        ctx.set_stroke_style_str("#111827");
        ctx.set_line_width(2.0);
        ctx.stroke_rect(x, y + 1.0, w, LEVEL - 2.0);
    }
}

/// Paints the flame chart of `thread` within `window`: the frames the
/// worker sent (`painted`), if they are for this thread.
fn draw(
    canvas: &HtmlCanvasElement,
    view: &TraceView,
    painted: Option<&Shared<TimelineView>>,
    thread: usize,
    window: Window,
    selected: Option<NodeKey>,
) {
    if view.threads.get(thread).is_none() {
        return;
    }
    let Some((ctx, width)) = prepare(canvas, window) else {
        return;
    };
    let frames = painted.map_or(&[][..], |p| p.frames.as_slice());
    let label = |f: &PaintedFrame| {
        view.codes
            .get(f.code as usize)
            .map_or("?", |c| c.label.as_str())
            .to_string()
    };
    let selected = selected
        .filter(|key| key.thread == thread as u32)
        .map(|key| key.node);
    let chosen = paint_frames(&ctx, frames, RULER, width, window, label, selected);
    outline(&ctx, chosen);
}

/// A stable pastel colour per code object.
fn color(code: u32) -> String {
    let hue = (code.wrapping_mul(2_654_435_761) >> 16) % 360;
    format!("hsl({hue}, 65%, 78%)")
}
