//! Image-plane geometry: points, boxes, and the counting region (a line segment or a polygon)
//! with its `in` direction.
//!
//! Every coordinate is in pixels of the camera's full-resolution image, origin top left, `y`
//! down, whatever resolution the detector works at internally.
//!
//! A [`CountingRegion`] turns a point into a signed distance: negative on the side people come
//! from when they cross `in`, positive on the side they reach. For a line the `in` side is
//! chosen by an image direction ([`InDirection`]); for a polygon, `in` means entering it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A point in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    /// Column, pixels from the left.
    pub x: f64,
    /// Row, pixels from the top.
    pub y: f64,
}

impl Point {
    /// A point.
    pub const fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    /// Euclidean distance.
    pub fn dist(self, o: Point) -> f64 {
        (self.x - o.x).hypot(self.y - o.y)
    }
}

/// An axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl BBox {
    /// A box from its top-left corner and size.
    pub const fn new(x: f64, y: f64, w: f64, h: f64) -> BBox {
        BBox { x, y, w, h }
    }

    /// A box of size `w`×`h` centred on `c`.
    pub fn centred(c: Point, w: f64, h: f64) -> BBox {
        BBox::new(c.x - w / 2.0, c.y - h / 2.0, w, h)
    }

    /// The centre.
    pub fn centre(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// The middle of the bottom edge: where a standing person touches the ground.
    pub fn foot(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h)
    }

    /// Right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// Area.
    pub fn area(&self) -> f64 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Area of the intersection with `o`.
    pub fn intersection(&self, o: &BBox) -> f64 {
        let w = self.right().min(o.right()) - self.x.max(o.x);
        let h = self.bottom().min(o.bottom()) - self.y.max(o.y);
        if w <= 0.0 || h <= 0.0 {
            0.0
        } else {
            w * h
        }
    }

    /// Intersection over union, 0 for disjoint boxes.
    pub fn iou(&self, o: &BBox) -> f64 {
        let i = self.intersection(o);
        let u = self.area() + o.area() - i;
        if u <= 0.0 {
            0.0
        } else {
            i / u
        }
    }

    /// Whether `p` lies inside the box grown by `margin` on every side.
    pub fn contains(&self, p: Point, margin: f64) -> bool {
        p.x >= self.x - margin
            && p.x <= self.right() + margin
            && p.y >= self.y - margin
            && p.y <= self.bottom() + margin
    }

    /// The smallest box holding both.
    pub fn union(&self, o: &BBox) -> BBox {
        let x = self.x.min(o.x);
        let y = self.y.min(o.y);
        BBox::new(
            x,
            y,
            self.right().max(o.right()) - x,
            self.bottom().max(o.bottom()) - y,
        )
    }

    /// The box scaled about the image origin (to move between resolutions).
    pub fn scaled(&self, s: f64) -> BBox {
        BBox::new(self.x * s, self.y * s, self.w * s, self.h * s)
    }
}

/// The image direction an `in` crossing moves in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InDirection {
    /// `in` moves towards larger x.
    LeftToRight,
    /// `in` moves towards smaller x.
    RightToLeft,
    /// `in` moves towards larger y (down the image).
    TopToBottom,
    /// `in` moves towards smaller y.
    BottomToTop,
}

impl InDirection {
    /// The unit vector of the direction.
    pub fn vector(self) -> Point {
        match self {
            InDirection::LeftToRight => Point::new(1.0, 0.0),
            InDirection::RightToLeft => Point::new(-1.0, 0.0),
            InDirection::TopToBottom => Point::new(0.0, 1.0),
            InDirection::BottomToTop => Point::new(0.0, -1.0),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            InDirection::LeftToRight => "left-to-right",
            InDirection::RightToLeft => "right-to-left",
            InDirection::TopToBottom => "top-to-bottom",
            InDirection::BottomToTop => "bottom-to-top",
        }
    }
}

impl fmt::Display for InDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InDirection {
    type Err = GeometryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            InDirection::LeftToRight,
            InDirection::RightToLeft,
            InDirection::TopToBottom,
            InDirection::BottomToTop,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or_else(|| GeometryError::BadDirection(s.to_string()))
    }
}

/// Why a counting region is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// Not `x1,y1,x2,y2` (or `x,y;x,y;...` for a polygon).
    #[error("\"{0}\" is not a list of pixel coordinates (line: \"x1,y1,x2,y2\", polygon: \"x1,y1;x2,y2;x3,y3\")")]
    BadCoordinates(String),
    /// Zero length.
    #[error("the counting line has zero length")]
    Degenerate,
    /// The direction runs along the line, so no crossing goes that way.
    #[error("the in-direction {0} runs along the counting line; choose one that crosses it")]
    ParallelDirection(InDirection),
    /// A polygon needs three corners and an area.
    #[error("a counting polygon needs at least 3 corners and a non-zero area")]
    BadPolygon,
    /// Unknown direction word.
    #[error("in-direction \"{0}\" is not one of left-to-right, right-to-left, top-to-bottom, bottom-to-top")]
    BadDirection(String),
}

/// Where people are counted: crossing a line segment, or entering and leaving a polygon.
#[derive(Debug, Clone, PartialEq)]
pub enum CountingRegion {
    /// A line segment; `in` is a crossing in `direction`.
    Line {
        /// First end.
        a: Point,
        /// Second end.
        b: Point,
        /// The `in` direction.
        direction: InDirection,
        /// Unit normal pointing to the `in` side.
        normal: Point,
    },
    /// A polygon; `in` is entering it.
    Polygon {
        /// Corners, in order (either winding).
        corners: Vec<Point>,
    },
}

impl CountingRegion {
    /// A line from `a` to `b` whose `in` crossing moves in `direction`.
    pub fn line(a: Point, b: Point, direction: InDirection) -> Result<Self, GeometryError> {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = dx.hypot(dy);
        if len < 1e-9 {
            return Err(GeometryError::Degenerate);
        }
        let mut normal = Point::new(-dy / len, dx / len);
        let v = direction.vector();
        let dot = normal.x * v.x + normal.y * v.y;
        if dot.abs() < 0.2 {
            return Err(GeometryError::ParallelDirection(direction));
        }
        if dot < 0.0 {
            normal = Point::new(-normal.x, -normal.y);
        }
        Ok(CountingRegion::Line {
            a,
            b,
            direction,
            normal,
        })
    }

    /// A polygon; `in` means entering it.
    pub fn polygon(corners: Vec<Point>) -> Result<Self, GeometryError> {
        if corners.len() < 3 || shoelace(&corners).abs() < 1e-6 {
            return Err(GeometryError::BadPolygon);
        }
        Ok(CountingRegion::Polygon { corners })
    }

    /// Parses `"x1,y1,x2,y2"` as a line, or `"x1,y1;x2,y2;x3,y3[;...]"` as a polygon.
    pub fn parse(s: &str, direction: InDirection) -> Result<Self, GeometryError> {
        let bad = || GeometryError::BadCoordinates(s.to_string());
        let nums = |part: &str| -> Result<Vec<f64>, GeometryError> {
            part.split(',')
                .map(|n| n.trim().parse::<f64>().map_err(|_| bad()))
                .filter(|r| r.as_ref().map(|v| v.is_finite()).unwrap_or(true))
                .collect()
        };
        if s.contains(';') {
            let corners = s
                .split(';')
                .filter(|p| !p.trim().is_empty())
                .map(|p| match nums(p)?.as_slice() {
                    [x, y] => Ok(Point::new(*x, *y)),
                    _ => Err(bad()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            CountingRegion::polygon(corners)
        } else {
            match nums(s)?.as_slice() {
                [x1, y1, x2, y2] => {
                    CountingRegion::line(Point::new(*x1, *y1), Point::new(*x2, *y2), direction)
                }
                _ => Err(bad()),
            }
        }
    }

    /// Signed distance in pixels: negative on the side an `in` crossing starts from (outside a
    /// polygon), positive on the side it ends on (inside).
    pub fn signed_distance(&self, p: Point) -> f64 {
        match self {
            CountingRegion::Line { a, normal, .. } => {
                (p.x - a.x) * normal.x + (p.y - a.y) * normal.y
            }
            CountingRegion::Polygon { corners } => {
                let d = corners
                    .iter()
                    .zip(corners.iter().cycle().skip(1))
                    .map(|(u, v)| segment_distance(p, *u, *v))
                    .fold(f64::INFINITY, f64::min);
                if point_in_polygon(p, corners) {
                    d
                } else {
                    -d
                }
            }
        }
    }

    /// Whether a crossing at `p` passes through the region: for a line, `p` projects onto the
    /// segment (extended by `margin` pixels at both ends); a polygon's boundary is closed, so
    /// always.
    pub fn within_extent(&self, p: Point, margin: f64) -> bool {
        match self {
            CountingRegion::Line { a, b, .. } => {
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                let len = dx.hypot(dy);
                let t = ((p.x - a.x) * dx + (p.y - a.y) * dy) / len;
                t >= -margin && t <= len + margin
            }
            CountingRegion::Polygon { .. } => true,
        }
    }

    /// The points to draw (a line's two ends, or a polygon's corners).
    pub fn outline(&self) -> Vec<Point> {
        match self {
            CountingRegion::Line { a, b, .. } => vec![*a, *b],
            CountingRegion::Polygon { corners } => corners.clone(),
        }
    }

    /// The region with every coordinate multiplied by `s` (a different resolution).
    pub fn scaled(&self, s: f64) -> CountingRegion {
        let sc = |p: &Point| Point::new(p.x * s, p.y * s);
        match self {
            CountingRegion::Line {
                a,
                b,
                direction,
                normal,
            } => CountingRegion::Line {
                a: sc(a),
                b: sc(b),
                direction: *direction,
                normal: *normal,
            },
            CountingRegion::Polygon { corners } => CountingRegion::Polygon {
                corners: corners.iter().map(sc).collect(),
            },
        }
    }
}

impl fmt::Display for CountingRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountingRegion::Line {
                a, b, direction, ..
            } => write!(f, "line {},{},{},{} (in: {direction})", a.x, a.y, b.x, b.y),
            CountingRegion::Polygon { corners } => {
                let c: Vec<String> = corners.iter().map(|p| format!("{},{}", p.x, p.y)).collect();
                write!(f, "polygon {} (in: entering)", c.join(";"))
            }
        }
    }
}

fn shoelace(c: &[Point]) -> f64 {
    c.iter()
        .zip(c.iter().cycle().skip(1))
        .map(|(u, v)| u.x * v.y - v.x * u.y)
        .sum::<f64>()
        / 2.0
}

fn segment_distance(p: Point, u: Point, v: Point) -> f64 {
    let (dx, dy) = (v.x - u.x, v.y - u.y);
    let l2 = dx * dx + dy * dy;
    if l2 == 0.0 {
        return p.dist(u);
    }
    let t = (((p.x - u.x) * dx + (p.y - u.y) * dy) / l2).clamp(0.0, 1.0);
    p.dist(Point::new(u.x + t * dx, u.y + t * dy))
}

/// Even-odd rule.
fn point_in_polygon(p: Point, c: &[Point]) -> bool {
    let mut inside = false;
    let mut j = c.len() - 1;
    for i in 0..c.len() {
        let (a, b) = (c[i], c[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertical_line_left_to_right() {
        let l = CountingRegion::parse("384,0,384,576", InDirection::LeftToRight).unwrap();
        assert_eq!(l.signed_distance(Point::new(380.0, 100.0)), -4.0);
        assert_eq!(l.signed_distance(Point::new(400.0, 300.0)), 16.0);
        // The same line drawn bottom to top gives the same sides.
        let r = CountingRegion::parse("384,576,384,0", InDirection::LeftToRight).unwrap();
        assert_eq!(r.signed_distance(Point::new(380.0, 100.0)), -4.0);
        let rl = CountingRegion::parse("384,0,384,576", InDirection::RightToLeft).unwrap();
        assert_eq!(rl.signed_distance(Point::new(380.0, 100.0)), 4.0);
    }

    #[test]
    fn slanted_line_and_extent() {
        let l = CountingRegion::line(
            Point::new(0.0, 0.0),
            Point::new(100.0, 100.0),
            InDirection::TopToBottom,
        )
        .unwrap();
        // Below the diagonal is the side a top-to-bottom crossing reaches.
        assert!(l.signed_distance(Point::new(20.0, 80.0)) > 0.0);
        assert!(l.signed_distance(Point::new(80.0, 20.0)) < 0.0);
        assert!(l.within_extent(Point::new(50.0, 50.0), 0.0));
        assert!(!l.within_extent(Point::new(150.0, 160.0), 10.0));
        assert!(l.within_extent(Point::new(105.0, 104.0), 10.0));
    }

    #[test]
    fn bad_lines() {
        assert_eq!(
            CountingRegion::parse("10,10,10,10", InDirection::LeftToRight),
            Err(GeometryError::Degenerate)
        );
        assert_eq!(
            CountingRegion::parse("0,100,640,100", InDirection::LeftToRight),
            Err(GeometryError::ParallelDirection(InDirection::LeftToRight))
        );
        assert!(matches!(
            CountingRegion::parse("1,2,3", InDirection::LeftToRight),
            Err(GeometryError::BadCoordinates(_))
        ));
        assert!(matches!(
            CountingRegion::parse("1,2,3,x", InDirection::LeftToRight),
            Err(GeometryError::BadCoordinates(_))
        ));
        assert!("sideways".parse::<InDirection>().is_err());
        assert_eq!(
            "bottom-to-top".parse::<InDirection>(),
            Ok(InDirection::BottomToTop)
        );
    }

    #[test]
    fn polygon_inside_is_positive() {
        let p = CountingRegion::parse("100,100;200,100;200,200;100,200", InDirection::LeftToRight)
            .unwrap();
        assert_eq!(p.signed_distance(Point::new(150.0, 150.0)), 50.0);
        assert_eq!(p.signed_distance(Point::new(90.0, 150.0)), -10.0);
        assert_eq!(
            p.signed_distance(Point::new(210.0, 210.0)),
            -(200f64).sqrt()
        );
        assert!(CountingRegion::parse("0,0;10,10;20,20", InDirection::LeftToRight).is_err());
    }

    #[test]
    fn boxes() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        let b = BBox::new(5.0, 5.0, 10.0, 10.0);
        assert_eq!(a.intersection(&b), 25.0);
        assert!((a.iou(&b) - 25.0 / 175.0).abs() < 1e-12);
        assert_eq!(a.union(&b), BBox::new(0.0, 0.0, 15.0, 15.0));
        assert_eq!(a.foot(), Point::new(5.0, 10.0));
        assert!(a.contains(Point::new(11.0, 5.0), 1.0));
        assert!(!a.contains(Point::new(12.0, 5.0), 1.0));
    }
}
