//! The Grafana dashboard in `deploy/` asks only for what the sink writes: every Flux query
//! names measurements of `gateway::forward::schema::SCHEMA`, and every field and tag
//! (column) it filters, groups, pivots or keeps belongs to one of the query's measurements.
//! The dashboard covers people per zone, parking free per lot, AQI, power and alerts.

use std::collections::BTreeSet;
use std::path::Path;

use gateway::forward::schema::{self, MeasurementSpec};

/// Quoted strings after `prefix` up to the closing `]` of a column list, or a single quoted
/// string after `prefix`.
fn quoted_after(q: &str, prefix: &str, list: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = q;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        let end = if list {
            rest.find(']').unwrap_or(rest.len())
        } else {
            rest.len()
        };
        let mut s = &rest[..end];
        while let Some(a) = s.find('"') {
            let b = s[a + 1..].find('"').unwrap() + a + 1;
            out.push(s[a + 1..b].to_string());
            s = &s[b + 1..];
            if !list {
                break;
            }
        }
    }
    out
}

/// Identifiers used as `r.NAME` in predicates and maps.
fn record_columns(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = q.as_bytes();
    for (i, _) in q.match_indices("r.") {
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            continue;
        }
        let name: String = q[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        out.push(name);
    }
    out
}

fn check_query(panel: &str, q: &str) -> BTreeSet<&'static str> {
    let measurements: Vec<&MeasurementSpec> = quoted_after(q, "r._measurement ==", false)
        .iter()
        .map(|m| {
            schema::spec(m).unwrap_or_else(|| {
                panic!("panel \"{panel}\": measurement \"{m}\" is not written by the sink")
            })
        })
        .collect();
    assert!(
        !measurements.is_empty(),
        "panel \"{panel}\" names no measurement:\n{q}"
    );
    let is_field = |f: &str| {
        measurements
            .iter()
            .any(|m| m.fields.iter().any(|(n, _)| *n == f))
    };
    let is_tag = |t: &str| measurements.iter().any(|m| m.tags.contains(&t));
    for f in quoted_after(q, "r._field ==", false) {
        assert!(
            is_field(&f),
            "panel \"{panel}\": field \"{f}\" is not written to {:?}",
            names(&measurements)
        );
    }
    let mut columns = record_columns(q);
    for p in [
        "group(columns:",
        "keep(columns:",
        "rowKey:",
        "sort(columns:",
        "columnKey:",
    ] {
        columns.extend(quoted_after(q, p, true));
    }
    for c in columns {
        if c.starts_with('_') || c == "r" {
            continue; // Flux's own columns: _time, _value, _field, _measurement
        }
        assert!(
            is_tag(&c) || is_field(&c),
            "panel \"{panel}\": column \"{c}\" is neither a tag nor a field of {:?}",
            names(&measurements)
        );
    }
    measurements.iter().map(|m| m.name).collect()
}

fn names(ms: &[&MeasurementSpec]) -> Vec<&'static str> {
    ms.iter().map(|m| m.name).collect()
}

#[test]
fn every_dashboard_query_names_only_what_the_sink_writes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/grafana/dashboards/smart-district.json");
    let dash: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let mut used = BTreeSet::new();
    let mut fields = BTreeSet::new();
    let panels = dash["panels"].as_array().expect("panels");
    assert!(panels.len() >= 5);
    for p in panels {
        let title = p["title"].as_str().unwrap_or_default();
        let targets = p["targets"]
            .as_array()
            .unwrap_or_else(|| panic!("panel \"{title}\" has no targets"));
        assert!(!targets.is_empty(), "panel \"{title}\" has no query");
        for t in targets {
            let q = t["query"]
                .as_str()
                .unwrap_or_else(|| panic!("panel \"{title}\": no Flux query"));
            assert!(
                q.contains("from(bucket:") && q.contains("range("),
                "panel \"{title}\" is not Flux:\n{q}"
            );
            for m in check_query(title, q) {
                used.insert(m);
            }
            for f in quoted_after(q, "r._field ==", false) {
                fields.insert(f);
            }
        }
    }
    // The template variable lists district tag values.
    let vars = dash["templating"]["list"].as_array().unwrap();
    let district = vars
        .iter()
        .find(|v| v["name"] == "district")
        .expect("a district variable");
    let tags = quoted_after(district["query"].as_str().unwrap(), "tag:", false);
    assert_eq!(tags, ["district"]);
    assert!(schema::SCHEMA.iter().all(|m| m.tags.contains(&"district")));
    // People per zone, parking free per lot, AQI, power, alerts.
    for (m, f) in [
        ("zone", "people"),
        ("parking_lot", "free"),
        ("aqi", "aqi"),
        ("building", "kw"),
        ("alert", "active"),
    ] {
        assert!(
            used.contains(m) && fields.contains(f),
            "no panel shows {m}.{f}"
        );
    }
}

#[test]
fn the_checker_catches_a_wrong_name() {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let bad = r#"from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "zone" and r._field == "free")"#;
    assert!(std::panic::catch_unwind(|| check_query("bad", bad)).is_err());
    let bad_tag = r#"from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "zone") |> group(columns: ["lot"])"#;
    assert!(std::panic::catch_unwind(|| check_query("bad", bad_tag)).is_err());
    std::panic::set_hook(quiet);
    let good = r#"from(bucket: "b") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "parking_lot" and r._field == "free") |> group(columns: ["lot"])"#;
    assert_eq!(
        check_query("good", good).into_iter().collect::<Vec<_>>(),
        ["parking_lot"]
    );
}
