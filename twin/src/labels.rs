//! Label layout on screen: each label wants to sit centred just above its anchor (a zone, a
//! lot, an alert); more important labels are placed first, the others move to the next free
//! slot (below, right, left) or are hidden, so that no two labels overlap and none covers the
//! HUD panels. A label can protect its subject's screen area (a crowded zone, a burning
//! building and its beacon): then no label covers that area, its own included, which sits
//! just outside it.

use bevy::math::{Rect, Vec2};

/// A label to place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Want {
    /// Its anchor on screen (logical px, origin top-left), or None when behind the camera.
    pub anchor: Option<Vec2>,
    /// Its size (logical px).
    pub size: Vec2,
    /// Higher is placed first.
    pub priority: i32,
    /// The screen area of what it names, when known.
    pub around: Option<Rect>,
    /// Keep every label off `around`.
    pub protect: bool,
}

/// Places labels; returns each label's top-left corner, or None where it is hidden.
pub fn layout(wants: &[Want], screen: Vec2, keep_out: &[Rect]) -> Vec<Option<Vec2>> {
    let mut order: Vec<usize> = (0..wants.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(wants[i].priority));
    let protected: Vec<Rect> = wants
        .iter()
        .filter(|w| w.protect)
        .filter_map(|w| w.around)
        .collect();
    let mut placed: Vec<Rect> = Vec::with_capacity(wants.len());
    let mut out = vec![None; wants.len()];
    let gap = 4.0;
    for i in order {
        let w = wants[i];
        let Some(a) = w.anchor else { continue };
        let s = w.size;
        let candidates = match (w.protect, w.around) {
            (true, Some(r)) => {
                let x = a.x.clamp(r.min.x, r.max.x) - s.x * 0.5;
                let y = a.y.clamp(r.min.y, r.max.y) - s.y * 0.5;
                [
                    Vec2::new(x, r.min.y - s.y - gap),
                    Vec2::new(x, r.max.y + gap),
                    Vec2::new(r.max.x + gap * 2.0, y),
                    Vec2::new(r.min.x - s.x - gap * 2.0, y),
                ]
            }
            _ => [
                Vec2::new(a.x - s.x * 0.5, a.y - s.y - gap),
                Vec2::new(a.x - s.x * 0.5, a.y + gap),
                Vec2::new(a.x + gap * 2.0, a.y - s.y * 0.5),
                Vec2::new(a.x - s.x - gap * 2.0, a.y - s.y * 0.5),
            ],
        };
        for c in candidates {
            let r = Rect::from_corners(c, c + s);
            let on_screen =
                r.min.x >= 0.0 && r.min.y >= 0.0 && r.max.x <= screen.x && r.max.y <= screen.y;
            if on_screen
                && !placed
                    .iter()
                    .chain(keep_out)
                    .chain(&protected)
                    .any(|o| overlaps(o, &r))
            {
                placed.push(r);
                out[i] = Some(c);
                break;
            }
        }
    }
    out
}

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.min.x < b.max.x && b.min.x < a.max.x && a.min.y < b.max.y && b.min.y < a.max.y
}

/// A label's size before the text engine has measured it: CJK characters are square, others
/// about 0.55 em wide; lines are 1.25 em tall; plus padding.
pub fn estimate_size(lines: &[(&str, f32)], padding: Vec2) -> Vec2 {
    let mut w: f32 = 0.0;
    let mut h = 0.0;
    for (text, size) in lines {
        let lw: f32 = text
            .chars()
            .map(|c| if is_wide(c) { *size } else { 0.55 * size })
            .sum();
        w = w.max(lw);
        h += 1.25 * size;
    }
    Vec2::new(w, h) + padding * 2.0
}

fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(x: f32, y: f32, p: i32) -> Want {
        Want {
            anchor: Some(Vec2::new(x, y)),
            size: Vec2::new(100.0, 30.0),
            priority: p,
            around: None,
            protect: false,
        }
    }

    #[test]
    fn a_lone_label_sits_centred_above_its_anchor() {
        let out = layout(&[want(500.0, 500.0, 0)], Vec2::new(1920.0, 1080.0), &[]);
        assert_eq!(out[0], Some(Vec2::new(450.0, 466.0)));
    }

    #[test]
    fn colliding_labels_move_and_the_important_one_keeps_its_place() {
        let ws = [want(500.0, 500.0, 0), want(510.0, 505.0, 5)];
        let out = layout(&ws, Vec2::new(1920.0, 1080.0), &[]);
        assert_eq!(
            out[1],
            Some(Vec2::new(460.0, 471.0)),
            "priority 5 placed first, above"
        );
        let a = out[0].unwrap();
        let r0 = Rect::from_corners(a, a + ws[0].size);
        let b = out[1].unwrap();
        let r1 = Rect::from_corners(b, b + ws[1].size);
        assert!(!overlaps(&r0, &r1));
    }

    #[test]
    fn labels_never_overlap_and_hide_when_there_is_no_room() {
        let ws: Vec<Want> = (0..40)
            .map(|i| {
                want(
                    200.0 + (i % 5) as f32 * 7.0,
                    200.0 + (i / 5) as f32 * 6.0,
                    i,
                )
            })
            .collect();
        let out = layout(&ws, Vec2::new(1920.0, 1080.0), &[]);
        let rects: Vec<Rect> = out
            .iter()
            .zip(&ws)
            .filter_map(|(p, w)| p.map(|p| Rect::from_corners(p, p + w.size)))
            .collect();
        assert!(rects.len() >= 3 && rects.len() < 40, "{}", rects.len());
        for i in 0..rects.len() {
            for j in i + 1..rects.len() {
                assert!(!overlaps(&rects[i], &rects[j]));
            }
        }
    }

    #[test]
    fn labels_keep_off_the_hud_and_the_screen_edge_and_skip_anchors_behind_the_camera() {
        let hud = Rect::new(0.0, 0.0, 400.0, 300.0);
        let ws = [
            want(200.0, 150.0, 0),
            want(1900.0, 40.0, 0),
            Want {
                anchor: None,
                ..want(0.0, 0.0, 9)
            },
        ];
        let out = layout(&ws, Vec2::new(1920.0, 1080.0), &[hud]);
        assert_eq!(out[0], None, "every slot is on the HUD");
        let q = out[1].unwrap();
        assert!(q.x + 100.0 <= 1920.0 && q.y >= 0.0);
        assert_eq!(out[2], None);
    }

    #[test]
    fn a_protected_area_stays_visible_and_its_label_sits_beside_it() {
        let zone = Rect::new(400.0, 400.0, 600.0, 500.0);
        let hot = Want {
            around: Some(zone),
            protect: true,
            ..want(500.0, 450.0, 1)
        };
        // A calm zone's label would sit right on the hot zone.
        let calm = want(520.0, 480.0, 9);
        let out = layout(&[hot, calm], Vec2::new(1920.0, 1080.0), &[]);
        for (p, w) in out.iter().zip([hot, calm]) {
            let Some(p) = *p else { continue };
            assert!(
                !overlaps(&Rect::from_corners(p, p + w.size), &zone),
                "{p} covers the hot zone"
            );
        }
        // The hot zone's own label sits just above it.
        assert_eq!(out[0], Some(Vec2::new(450.0, 400.0 - 30.0 - 4.0)));
    }

    #[test]
    fn size_estimate_counts_cjk_as_wide() {
        let s = estimate_size(&[("湖滨路", 20.0), ("Hubin", 10.0)], Vec2::ZERO);
        assert_eq!(s.x, 60.0);
        assert_eq!(s.y, 1.25 * 30.0);
    }
}
