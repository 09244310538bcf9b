//! Where the timeline of a trace set puts things: a header row per
//! process, then each of its threads' lanes (a name row when the process
//! has more than one thread, then a row per depth). Geometry only: the
//! canvas drawing is in [`super::timeline`].

use crate::protocol::{LanesView, PaintedFrame};

/// Height of a process's header row, in CSS pixels.
pub const HEADER: f64 = 20.0;
/// Height of a thread's name row.
pub const THREAD: f64 = 14.0;

/// One thread's lane, placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placed {
    /// The group (position in [`LanesView::groups`]).
    pub group: usize,
    /// The lane (position in its group's lanes).
    pub lane: usize,
    /// The top of its name row, when it has one.
    pub name_y: Option<f64>,
    /// The top of its depth 0 row.
    pub y: f64,
}

/// The header rows (each group's top) and the lanes, from `top` down, and
/// where the last ends; `level` is the height of a depth row.
pub fn layout(lanes: &LanesView, top: f64, level: f64) -> (Vec<f64>, Vec<Placed>, f64) {
    let mut y = top;
    let mut headers = Vec::with_capacity(lanes.groups.len());
    let mut placed = Vec::new();
    for (group, g) in lanes.groups.iter().enumerate() {
        headers.push(y);
        y += HEADER;
        let named = g.lanes.len() > 1;
        for (lane, l) in g.lanes.iter().enumerate() {
            let name_y = named.then_some(y);
            if named {
                y += THREAD;
            }
            placed.push(Placed {
                group,
                lane,
                name_y,
                y,
            });
            y += l.depth.max(1) as f64 * level;
        }
    }
    (headers, placed, y)
}

/// The lane and depth at height `y`, if `y` is on a depth row.
pub fn at(lanes: &LanesView, top: f64, level: f64, y: f64) -> Option<(Placed, u32)> {
    let (_, placed, _) = layout(lanes, top, level);
    placed.into_iter().find_map(|p| {
        let depth = lanes.groups[p.group].lanes[p.lane].depth.max(1);
        let row = (y - p.y) / level;
        (row >= 0.0 && row < depth as f64).then_some((p, row as u32))
    })
}

/// The label of `frame`'s code in `codes` (sorted by code), if sent.
pub fn label<'a>(codes: &'a [(u32, String)], frame: &PaintedFrame) -> Option<&'a str> {
    codes
        .binary_search_by_key(&frame.code, |(c, _)| *c)
        .ok()
        .map(|i| codes[i].1.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Lane, LaneGroup};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn lane(thread: u32, depth: u32) -> Lane {
        Lane {
            thread,
            depth,
            ..Lane::default()
        }
    }

    #[test]
    fn groups_stack_under_their_headers() {
        let lanes = LanesView {
            groups: vec![
                LaneGroup {
                    lanes: vec![lane(0, 2)],
                    ..LaneGroup::default()
                },
                LaneGroup {
                    process: 1,
                    lanes: vec![lane(0, 1), lane(1, 3)],
                    ..LaneGroup::default()
                },
            ],
            ..LanesView::default()
        };
        let (headers, placed, end) = layout(&lanes, 20.0, 18.0);
        // 20 | header 20 | 2 rows | header 20 | name 14, 1 row | name 14, 3 rows
        assert_eq!(headers, vec![20.0, 76.0]);
        assert_eq!(placed[0].y, 40.0);
        assert_eq!(placed[0].name_y, None);
        assert_eq!(placed[1].name_y, Some(96.0));
        assert_eq!(placed[1].y, 110.0);
        assert_eq!(placed[2].y, 142.0);
        assert_eq!(end, 142.0 + 54.0);
        assert_eq!(
            at(&lanes, 20.0, 18.0, 41.0).map(|(p, d)| (p.group, d)),
            Some((0, 0))
        );
        assert_eq!(
            at(&lanes, 20.0, 18.0, 60.0).map(|(p, d)| (p.group, d)),
            Some((0, 1))
        );
        assert_eq!(at(&lanes, 20.0, 18.0, 80.0), None);
        let (p, d) = at(&lanes, 20.0, 18.0, 142.0 + 40.0).unwrap();
        assert_eq!((p.group, p.lane, d), (1, 1, 2));
        let codes = vec![(2, "a".to_string()), (7, "b".to_string())];
        let frame = |code| PaintedFrame {
            node: 0,
            code,
            depth: 0,
            t0: 0,
            t1: 1,
        };
        assert_eq!(label(&codes, &frame(7)), Some("b"));
        assert_eq!(label(&codes, &frame(3)), None);
    }
}
