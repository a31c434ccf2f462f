//! Reading geometry from a GeoJSON FeatureCollection, as GIS tools export it.
//!
//! Only features whose `properties.kind` is `zone`, `building` or `lot` are used; anything else
//! (roads, labels) is skipped. The id is `properties.id`, or the feature's own `id`. Polygon and
//! MultiPolygon geometries load with their holes; positions may carry a third (height) value,
//! which is ignored; extra properties are kept for the caller.

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Map, Value};

/// A usable feature.
#[derive(Debug, Clone)]
pub struct Feature {
    /// Index in the collection's `features` array.
    pub index: usize,
    /// `zone`, `building` or `lot`.
    pub kind: String,
    /// The feature's id.
    pub id: String,
    /// Its geometry (a Polygon becomes a one-part MultiPolygon).
    pub geometry: MultiPolygon<f64>,
    /// All its properties.
    pub properties: Map<String, Value>,
}

/// A problem with one feature (index, id if known, message), or with the file (index `None`).
pub type FeatureProblem = (Option<usize>, Option<String>, String);

const KINDS: [&str; 3] = ["zone", "building", "lot"];

/// Parses a FeatureCollection; returns the usable features and every problem found.
pub fn parse(text: &str) -> (Vec<Feature>, Vec<FeatureProblem>) {
    let mut problems = Vec::new();
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            problems.push((None, None, format!("not valid JSON: {e}")));
            return (Vec::new(), problems);
        }
    };
    let Some(features) = root.get("features").and_then(Value::as_array) else {
        problems.push((
            None,
            None,
            "not a FeatureCollection: no `features` array".into(),
        ));
        return (Vec::new(), problems);
    };
    let mut out = Vec::new();
    for (index, f) in features.iter().enumerate() {
        let props = f
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let Some(kind) = props.get("kind").and_then(Value::as_str) else {
            continue;
        };
        if !KINDS.contains(&kind) {
            continue;
        }
        let id = props.get("id").or_else(|| f.get("id")).and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        });
        let Some(id) = id else {
            problems.push((
                Some(index),
                None,
                format!("a `{kind}` feature needs an `id` property"),
            ));
            continue;
        };
        match geometry(f.get("geometry")) {
            Ok(geometry) => out.push(Feature {
                index,
                kind: kind.to_string(),
                id,
                geometry,
                properties: props,
            }),
            Err(e) => problems.push((Some(index), Some(id), e)),
        }
    }
    (out, problems)
}

fn geometry(g: Option<&Value>) -> Result<MultiPolygon<f64>, String> {
    let g = g
        .filter(|g| !g.is_null())
        .ok_or("the feature has no geometry")?;
    let ty = g.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = g
        .get("coordinates")
        .ok_or("the geometry has no `coordinates`")?;
    match ty {
        "Polygon" => Ok(MultiPolygon(vec![polygon(coords)?])),
        "MultiPolygon" => {
            let parts = coords
                .as_array()
                .ok_or("MultiPolygon coordinates must be an array")?;
            Ok(MultiPolygon(
                parts.iter().map(polygon).collect::<Result<_, _>>()?,
            ))
        }
        other => Err(format!(
            "geometry type `{other}` is not supported here; use Polygon or MultiPolygon"
        )),
    }
}

fn polygon(v: &Value) -> Result<Polygon<f64>, String> {
    let rings = v
        .as_array()
        .ok_or("polygon coordinates must be an array of rings")?;
    let mut rings = rings.iter().map(ring);
    let outer = rings
        .next()
        .ok_or("a polygon needs at least its outer ring")??;
    let holes = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(outer, holes))
}

fn ring(v: &Value) -> Result<LineString<f64>, String> {
    let pts = v.as_array().ok_or("a ring must be an array of positions")?;
    let mut lonlat = Vec::with_capacity(pts.len());
    for p in pts {
        let p = p
            .as_array()
            .ok_or("a position must be an array [lon, lat] or [lon, lat, height]")?;
        let (Some(lon), Some(lat)) = (
            p.first().and_then(Value::as_f64),
            p.get(1).and_then(Value::as_f64),
        ) else {
            return Err("a position must start with two numbers [lon, lat]".into());
        };
        lonlat.push([lon, lat]);
    }
    let ls = crate::geometry::ring(&lonlat)?;
    Ok(LineString::from(
        ls.0.into_iter()
            .map(|c| Coord { x: c.x, y: c.y })
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_export_shapes_load_and_others_are_skipped() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"kind":"road","name":"延安路"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}},
          {"type":"Feature","id":"b1","properties":{"kind":"building","source":"survey"},
           "geometry":{"type":"Polygon","coordinates":[[[120,30,0],[120.001,30,0],[120.001,30.001,0],[120,30.001,0],[120,30,0]],
                                                        [[120.0004,30.0004],[120.0006,30.0004],[120.0006,30.0006],[120.0004,30.0006],[120.0004,30.0004]]]}},
          {"type":"Feature","properties":{"kind":"building","id":"b2"},
           "geometry":{"type":"MultiPolygon","coordinates":[[[[120,30],[120.001,30],[120.001,30.001],[120,30]]],[[[121,30],[121.001,30],[121.001,30.001],[121,30]]]]}},
          {"type":"Feature","properties":{"kind":"zone"},"geometry":null}
        ]}"#;
        let (features, problems) = parse(text);
        assert_eq!(features.len(), 2);
        assert_eq!(features[0].id, "b1");
        assert_eq!(features[0].geometry.0[0].interiors().len(), 1);
        assert_eq!(features[1].geometry.0.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, Some(3));
        assert!(problems[0].2.contains("needs an `id`"));
    }

    #[test]
    fn open_ring_in_a_feature_is_reported_with_its_index() {
        let text = r#"{"type":"FeatureCollection","features":[
          {"type":"Feature","properties":{"kind":"lot","id":"p1"},
           "geometry":{"type":"Polygon","coordinates":[[[120,30],[120.001,30],[120.001,30.001],[120,30.001]]]}}]}"#;
        let (features, problems) = parse(text);
        assert!(features.is_empty());
        assert_eq!(problems[0].0, Some(0));
        assert_eq!(problems[0].1.as_deref(), Some("p1"));
        assert!(problems[0].2.contains("not closed"));
    }
}
