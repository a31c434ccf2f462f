//! Geometry checks and derived facts: rings, polygons, geodesic areas.

use geo::{Coord, GeodesicArea, LineString, MultiPolygon, Point, Polygon, Validation};

/// Checks a ring of `[lon, lat]` points and turns it into a `LineString`.
///
/// Errors say what to fix: too few points, an open ring, coordinates that are not lon/lat degrees
/// (projected metres, or latitude and longitude swapped).
pub fn ring(points: &[[f64; 2]]) -> Result<LineString<f64>, String> {
    for p in points {
        check_lonlat(*p)?;
    }
    if points.len() < 4 {
        return Err(format!(
            "a ring needs at least 4 points (a triangle plus the repeated first point), found {}",
            points.len()
        ));
    }
    let (first, last) = (points[0], points[points.len() - 1]);
    if first != last {
        return Err(format!(
            "the ring is not closed: it starts at [{}, {}] and ends at [{}, {}]; repeat the first point at the end",
            first[0], first[1], last[0], last[1]
        ));
    }
    Ok(LineString::from(
        points
            .iter()
            .map(|p| Coord { x: p[0], y: p[1] })
            .collect::<Vec<_>>(),
    ))
}

/// Checks that a point is plausible WGS 84 `[lon, lat]` in degrees.
pub fn check_lonlat(p: [f64; 2]) -> Result<Point<f64>, String> {
    let [lon, lat] = p;
    if !lon.is_finite() || !lat.is_finite() {
        return Err(format!("coordinate [{lon}, {lat}] is not a number"));
    }
    if lon.abs() > 180.0 || lat.abs() > 90.0 {
        if lon.abs() > 1000.0 || lat.abs() > 1000.0 {
            return Err(format!(
                "coordinate [{lon}, {lat}] looks like projected metres; write WGS 84 [longitude, latitude] in degrees"
            ));
        }
        if lat.abs() <= 180.0 && lon.abs() <= 90.0 {
            return Err(format!(
                "coordinate [{lon}, {lat}] looks like [latitude, longitude]; write [longitude, latitude]"
            ));
        }
        return Err(format!(
            "coordinate [{lon}, {lat}] is outside longitude ±180 / latitude ±90"
        ));
    }
    Ok(Point::new(lon, lat))
}

/// Builds a polygon from an outer ring and holes and checks it is valid (no self-intersection,
/// holes inside the outline).
pub fn polygon(
    outer: LineString<f64>,
    holes: Vec<LineString<f64>>,
) -> Result<Polygon<f64>, String> {
    let poly = Polygon::new(outer, holes);
    validate(&MultiPolygon(vec![poly.clone()]))?;
    Ok(poly)
}

/// Checks a multipolygon is valid; the error names the first problem in words.
pub fn validate(mp: &MultiPolygon<f64>) -> Result<(), String> {
    let errors = mp.validation_errors();
    if errors.is_empty() {
        return Ok(());
    }
    let words: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let hint = if words
        .iter()
        .any(|w| w.contains("self-intersect") || w.contains("intersect"))
    {
        " (a self-intersecting ring: check the order of its points)"
    } else {
        ""
    };
    Err(format!("invalid geometry: {}{hint}", words.join("; ")))
}

/// Geodesic area in m² on the WGS 84 ellipsoid, holes excluded, whatever the rings' winding
/// (GIS exports differ).
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    // The signed area's magnitude: the unsigned area of a clockwise ring is the rest of the Earth.
    let ring_area =
        |r: &LineString<f64>| Polygon::new(r.clone(), vec![]).geodesic_area_signed().abs();
    mp.0.iter()
        .map(|p| ring_area(p.exterior()) - p.interiors().iter().map(ring_area).sum::<f64>())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(lon: f64, lat: f64, d: f64) -> Vec<[f64; 2]> {
        vec![
            [lon, lat],
            [lon + d, lat],
            [lon + d, lat + d],
            [lon, lat + d],
            [lon, lat],
        ]
    }

    #[test]
    fn a_hundred_metre_square_has_ten_thousand_square_metres() {
        // 100 m north-south and east-west at 30.25°N: Δlat = 100 / 110_852.4, Δlon = 100 / 96_232.
        let lat0 = 30.25;
        let dlat = 100.0 / 110_852.4;
        let dlon = 100.0 / 96_232.0;
        let r = ring(&[
            [120.16, lat0],
            [120.16 + dlon, lat0],
            [120.16 + dlon, lat0 + dlat],
            [120.16, lat0 + dlat],
            [120.16, lat0],
        ])
        .unwrap();
        let a = area_m2(&MultiPolygon(vec![polygon(r, vec![]).unwrap()]));
        assert!((a - 10_000.0).abs() < 20.0, "{a}");
    }

    #[test]
    fn one_square_degree_at_the_equator_matches_the_ellipsoid() {
        // A 1°×1° cell from the equator: 12,308,778,361 m² on WGS 84 (Karney's GeographicLib).
        let r = ring(&square(0.0, 0.0, 1.0)).unwrap();
        let a = area_m2(&MultiPolygon(vec![polygon(r, vec![]).unwrap()]));
        assert!((a / 12_308_778_361.0 - 1.0).abs() < 1e-6, "{a}");
    }

    #[test]
    fn a_hole_is_subtracted() {
        let outer = ring(&square(120.0, 30.0, 0.01)).unwrap();
        let hole = ring(&square(120.004, 30.004, 0.002)).unwrap();
        let full = area_m2(&MultiPolygon(vec![polygon(outer.clone(), vec![]).unwrap()]));
        let holed = area_m2(&MultiPolygon(vec![
            polygon(outer, vec![hole.clone()]).unwrap()
        ]));
        let h = area_m2(&MultiPolygon(vec![polygon(hole, vec![]).unwrap()]));
        assert!((full - holed - h).abs() < 1.0);
    }

    #[test]
    fn winding_does_not_matter() {
        let mut cw = square(120.0, 30.0, 0.01);
        cw.reverse();
        let a = area_m2(&MultiPolygon(vec![
            polygon(ring(&cw).unwrap(), vec![]).unwrap()
        ]));
        let b = area_m2(&MultiPolygon(vec![polygon(
            ring(&square(120.0, 30.0, 0.01)).unwrap(),
            vec![],
        )
        .unwrap()]));
        assert!((a - b).abs() < 1e-3 && a > 1e6 && a < 1.1e6, "{a} {b}");
    }

    #[test]
    fn open_ring_is_refused_with_a_fix() {
        let mut pts = square(120.0, 30.0, 0.01);
        pts.pop();
        pts.push([120.0, 30.001]);
        let e = ring(&pts).unwrap_err();
        assert!(
            e.contains("not closed") && e.contains("repeat the first point"),
            "{e}"
        );
    }

    #[test]
    fn bow_tie_is_refused_as_self_intersecting() {
        let r = ring(&[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]).unwrap();
        let e = polygon(r, vec![]).unwrap_err();
        assert!(
            e.contains("self-intersecting") || e.contains("intersect"),
            "{e}"
        );
    }

    #[test]
    fn swapped_and_projected_coordinates_are_named() {
        assert!(check_lonlat([30.25, 120.16])
            .unwrap_err()
            .contains("[latitude, longitude]"));
        assert!(check_lonlat([13_376_000.0, 3_536_000.0])
            .unwrap_err()
            .contains("projected metres"));
        assert!(check_lonlat([f64::NAN, 1.0]).is_err());
    }
}
