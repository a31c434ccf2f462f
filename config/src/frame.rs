//! The one projection of the system: WGS 84 lon/lat to a local metric frame.
//!
//! A local tangent plane (equirectangular around an origin): `x` metres east, `y` metres north
//! of the origin, using the WGS 84 meridional and prime-vertical radii of curvature at the
//! origin's latitude. Over a district (a few km) its error is far below a metre, which is what
//! the twin and distance queries need. The twin maps `x` to Bevy's `+X` and `y` to Bevy's `-Z`.

use geo::Point;

const WGS84_A: f64 = 6_378_137.0;
const WGS84_E2: f64 = 6.694_379_990_14e-3;

/// A local east/north frame in metres around an origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    /// Origin longitude (degrees).
    pub lon0: f64,
    /// Origin latitude (degrees).
    pub lat0: f64,
    m_per_deg_lon: f64,
    m_per_deg_lat: f64,
}

impl LocalFrame {
    /// A frame centred on `(lon0, lat0)`.
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let phi = lat0.to_radians();
        let s2 = phi.sin().powi(2);
        let w = (1.0 - WGS84_E2 * s2).sqrt();
        let n = WGS84_A / w; // prime vertical radius
        let m = WGS84_A * (1.0 - WGS84_E2) / (w * w * w); // meridional radius
        LocalFrame {
            lon0,
            lat0,
            m_per_deg_lon: n * phi.cos() * std::f64::consts::PI / 180.0,
            m_per_deg_lat: m * std::f64::consts::PI / 180.0,
        }
    }

    /// `(east, north)` metres of a lon/lat point.
    pub fn to_xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        (
            (lon - self.lon0) * self.m_per_deg_lon,
            (lat - self.lat0) * self.m_per_deg_lat,
        )
    }

    /// `(east, north)` metres of a point.
    pub fn project(&self, p: Point<f64>) -> (f64, f64) {
        self.to_xy(p.x(), p.y())
    }

    /// The lon/lat of `(east, north)` metres.
    pub fn to_lonlat(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.lon0 + x / self.m_per_deg_lon,
            self.lat0 + y / self.m_per_deg_lat,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_degree_of_latitude_at_30n_is_about_110_850_m() {
        let f = LocalFrame::new(120.0, 30.0);
        let (_, y) = f.to_xy(120.0, 31.0);
        // Meridional arc per degree at 30°N is 110,852 m (WGS 84).
        assert!((y - 110_852.0).abs() < 20.0, "{y}");
    }

    #[test]
    fn round_trip_is_exact_to_a_millimetre() {
        let f = LocalFrame::new(120.165, 30.257);
        let (x, y) = f.to_xy(120.1712, 30.2601);
        let (lon, lat) = f.to_lonlat(x, y);
        let (x2, y2) = f.to_xy(lon, lat);
        assert!((x - x2).abs() < 1e-3 && (y - y2).abs() < 1e-3);
    }

    #[test]
    fn east_distance_matches_geodesic_within_a_metre_over_a_km() {
        use geo::{Distance, Geodesic};
        let f = LocalFrame::new(120.165, 30.257);
        let a = Point::new(120.160, 30.257);
        let b = Point::new(120.170, 30.259);
        let (ax, ay) = f.project(a);
        let (bx, by) = f.project(b);
        let planar = ((bx - ax).powi(2) + (by - ay).powi(2)).sqrt();
        let geodesic = Geodesic.distance(a, b);
        assert!((planar - geodesic).abs() < 1.0, "{planar} vs {geodesic}");
    }
}
