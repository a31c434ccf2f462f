use super::*;
use crate::count::{CounterConfig, LineCounter, Totals};
use crate::geometry::{CountingRegion, InDirection};

fn det(x: f64, y: f64) -> Detection {
    Detection::from_box(BBox::centred(Point::new(x, y), 12.0, 36.0))
}

fn counter() -> LineCounter {
    let region = CountingRegion::parse("160,0,160,240", InDirection::LeftToRight).unwrap();
    LineCounter::new(region, CounterConfig::for_width(320.0))
}

#[test]
fn survives_a_short_occlusion_as_the_same_track() {
    let mut tr = Tracker::new(TrackerConfig::for_fps(10.0), 320.0, 240.0);
    let mut ids = Vec::new();
    for f in 0..40 {
        let x = 20.0 + 6.0 * f as f64;
        // Hidden for 8 frames (0.8 s) in the middle.
        let dets = if (15..23).contains(&f) {
            vec![]
        } else {
            vec![det(x, 120.0)]
        };
        tr.update(&dets);
        ids.extend(tr.tracks().iter().filter(|t| t.confirmed()).map(|t| t.id));
    }
    ids.dedup();
    assert_eq!(ids, vec![1]);
}

#[test]
fn a_single_frame_blip_never_becomes_a_person() {
    let mut tr = Tracker::new(TrackerConfig::for_fps(10.0), 320.0, 240.0);
    tr.update(&[det(100.0, 100.0)]);
    tr.update(&[]);
    tr.update(&[]);
    assert!(tr.tracks().is_empty());
}

#[test]
fn two_people_passing_each_other_are_both_counted() {
    let mut tr = Tracker::new(TrackerConfig::for_fps(10.0), 320.0, 240.0);
    let mut c = counter();
    for f in 0..50u64 {
        let a = 40.0 + 5.0 * f as f64;
        let b = 280.0 - 5.0 * f as f64;
        let dets = if (a - b).abs() < 14.0 {
            // One merged blob while they overlap.
            let (l, r) = (a.min(b) - 6.0, a.max(b) + 6.0);
            vec![Detection {
                bbox: BBox::new(l, 102.0, r - l, 36.0),
                area: 0.0,
                people: 2.0,
                appearance: None,
            }]
        } else {
            vec![det(a, 120.0), det(b, 120.0)]
        };
        let ev = tr.update(&dets);
        c.update(f, tr.tracks(), &ev);
    }
    assert_eq!(c.totals(), Totals { ins: 1, outs: 1 });
}

#[test]
fn a_pair_seen_as_one_blob_counts_two() {
    let mut tr = Tracker::new(TrackerConfig::for_fps(10.0), 320.0, 240.0);
    let mut c = counter();
    for f in 0..50u64 {
        let x = 30.0 + 5.0 * f as f64;
        let d = Detection {
            bbox: BBox::centred(Point::new(x, 120.0), 24.0, 40.0),
            area: 0.0,
            people: 2.0,
            appearance: None,
        };
        let ev = tr.update(&[d]);
        c.update(f, tr.tracks(), &ev);
    }
    assert_eq!(c.totals(), Totals { ins: 2, outs: 0 });
}

#[test]
fn a_pair_that_splits_after_the_line_is_not_counted_twice() {
    let mut tr = Tracker::new(TrackerConfig::for_fps(10.0), 320.0, 240.0);
    let mut c = counter();
    for f in 0..60u64 {
        let x = 30.0 + 5.0 * f as f64;
        let dets = if x < 220.0 {
            vec![Detection {
                bbox: BBox::centred(Point::new(x, 120.0), 24.0, 40.0),
                area: 0.0,
                people: 2.0,
                appearance: None,
            }]
        } else {
            let s = (x - 220.0) * 0.5;
            vec![det(x - 6.0 - s, 120.0), det(x + 6.0 + s, 120.0)]
        };
        let ev = tr.update(&dets);
        c.update(f, tr.tracks(), &ev);
    }
    assert_eq!(c.totals(), Totals { ins: 2, outs: 0 });
}
