//! From foreground blobs to detections: joining the fragments of one person, and estimating how
//! many people each blob holds. Pure; the contours themselves come from OpenCV.
//!
//! Background subtraction often breaks a person into pieces: a shirt the colour of the wall
//! leaves the head and the legs as two blobs. Two blobs are joined when they overlap
//! horizontally, the gap between them is small, and together they are no taller than one
//! person at that depth ([`SizeModel`]). Blobs of people walking side by side are not joined:
//! they do not stack vertically.

use crate::geometry::BBox;
use crate::sizes::SizeModel;
use crate::tracker::{Appearance, Detection};

/// A foreground blob in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blob {
    /// Bounding box.
    pub bbox: BBox,
    /// Foreground pixels.
    pub area: f64,
    /// Mean colour of its upper and lower half, when measured.
    pub appearance: Option<Appearance>,
}

/// Joins vertically stacked fragments of one person.
pub fn join_fragments(mut blobs: Vec<Blob>, sizes: &SizeModel) -> Vec<Blob> {
    loop {
        let mut joined = false;
        'outer: for i in 0..blobs.len() {
            for j in (i + 1)..blobs.len() {
                let (a, b) = (blobs[i].bbox, blobs[j].bbox);
                let overlap_x = a.right().min(b.right()) - a.x.max(b.x);
                let narrow = a.w.min(b.w);
                if overlap_x < 0.5 * narrow {
                    continue;
                }
                let u = a.union(&b);
                let e = sizes.expected(u.bottom());
                let gap = (a.y.max(b.y) - a.bottom().min(b.bottom())).max(0.0);
                if gap > 0.25 * e.height || u.h > 1.25 * e.height || u.w > 1.6 * e.width {
                    continue;
                }
                // The upper part's colour is the top's, the lower part's the bottom's.
                let (upper, lower) = if a.y <= b.y { (i, j) } else { (j, i) };
                let appearance = match (blobs[upper].appearance, blobs[lower].appearance) {
                    (Some(u), Some(l)) => Some([u[0], u[1], u[2], l[3], l[4], l[5]]),
                    (x, y) => x.or(y),
                };
                blobs[i] = Blob {
                    bbox: u,
                    area: blobs[i].area + blobs[j].area,
                    appearance,
                };
                blobs.swap_remove(j);
                joined = true;
                break 'outer;
            }
        }
        if !joined {
            return blobs;
        }
    }
}

/// Detections from blobs: small blobs (well under a person) are dropped, the rest carry their
/// people estimate.
pub fn detections(blobs: &[Blob], sizes: &SizeModel, min_person_fraction: f64) -> Vec<Detection> {
    blobs
        .iter()
        .filter(|b| {
            if !sizes.reliable(b.bbox.bottom()) {
                return true;
            }
            let e = sizes.expected(b.bbox.bottom());
            b.bbox.h >= min_person_fraction * e.height
                && b.area >= min_person_fraction * min_person_fraction * e.area
        })
        .map(|b| Detection {
            bbox: b.bbox,
            area: b.area,
            people: sizes.people_in(&b.bbox, b.area),
            appearance: b.appearance,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> SizeModel {
        // 100 px tall everywhere, learned from the video.
        let mut m = SizeModel::new(400.0, (50.0, 150.0));
        for i in 0..600 {
            let y = 110.0 + (i % 290) as f64;
            let b = BBox::new(300.0, y - 100.0, 38.0, 100.0);
            m.observe(&b, b.area() * 0.6, 640.0);
        }
        assert!(m.reliable(200.0));
        m
    }

    #[test]
    fn head_and_legs_become_one_person() {
        let head = Blob {
            bbox: BBox::new(100.0, 100.0, 30.0, 35.0),
            area: 700.0,
            appearance: None,
        };
        let legs = Blob {
            bbox: BBox::new(102.0, 150.0, 28.0, 48.0),
            area: 900.0,
            appearance: None,
        };
        let other = Blob {
            bbox: BBox::new(300.0, 100.0, 30.0, 95.0),
            area: 1800.0,
            appearance: None,
        };
        let out = join_fragments(vec![head, legs, other], &model());
        assert_eq!(out.len(), 2);
        assert!(out
            .iter()
            .any(|b| b.bbox == BBox::new(100.0, 100.0, 30.0, 98.0)));
    }

    #[test]
    fn two_people_side_by_side_stay_apart() {
        let a = Blob {
            bbox: BBox::new(100.0, 100.0, 30.0, 95.0),
            area: 1800.0,
            appearance: None,
        };
        let b = Blob {
            bbox: BBox::new(132.0, 104.0, 30.0, 95.0),
            area: 1800.0,
            appearance: None,
        };
        assert_eq!(join_fragments(vec![a, b], &model()).len(), 2);
        // Nor does a person above another far away.
        let c = Blob {
            bbox: BBox::new(100.0, 250.0, 30.0, 95.0),
            area: 1800.0,
            appearance: None,
        };
        assert_eq!(join_fragments(vec![a, c], &model()).len(), 2);
    }

    #[test]
    fn specks_are_not_people() {
        let m = model();
        let speck = Blob {
            bbox: BBox::new(0.0, 150.0, 8.0, 10.0),
            area: 60.0,
            appearance: None,
        };
        let person = Blob {
            bbox: BBox::new(100.0, 100.0, 38.0, 100.0),
            area: 2280.0,
            appearance: None,
        };
        let d = detections(&[speck, person], &m, 0.35);
        assert_eq!(d.len(), 1);
        assert!((d[0].people - 1.0).abs() < 0.3, "{}", d[0].people);
    }
}
