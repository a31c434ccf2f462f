//! The demo's guided first look: what to try once the district answers, and what each step
//! should show. Pure: the demo prints [`lines`]; the README's quick start says the same.

use std::net::SocketAddr;
use std::path::Path;

use sensors_sim::scenario::{EventKind, Scenario};

/// What the tour needs to know about the running demo.
#[derive(Debug, Clone)]
pub struct Tour<'a> {
    /// The district.
    pub district: &'a district::District,
    /// The API address.
    pub http: SocketAddr,
    /// The embedded broker's port.
    pub mqtt_port: u16,
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// The simulator's scenario, if any.
    pub scenario: Option<&'a Scenario>,
    /// The data folder (the twin's snapshot goes there).
    pub data_dir: &'a Path,
}

/// Wall time until `after_ms` of simulated time has passed at `speed`, in words.
fn wall(after_ms: i64, speed: f64) -> String {
    let s = (after_ms as f64 / 1000.0 / speed.max(f64::MIN_POSITIVE)).round() as i64;
    match s {
        s if s < 90 => format!("{s} s"),
        s => format!("{} min", (s + 30) / 60),
    }
}

/// The tour, one line each.
pub fn lines(t: &Tour<'_>) -> Vec<String> {
    let d = t.district;
    let api = format!("http://{}/api/v1/districts/{}", t.http, d.id);
    let sub = |topic: &str| {
        format!(
            "mosquitto_sub -p {} -t 'district/{}/{topic}' -v",
            t.mqtt_port, d.id
        )
    };
    let mut out = vec![
        "First look (what each step should show):".to_string(),
        format!("  1. curl -s {api}/summary"),
        "     people in the district, free/total parking, AQI, kW now, open alerts; the numbers move every few seconds".into(),
        format!("  2. {}", sub("live/zones/#")),
        format!("     one retained message per zone at once ({} zones: people, density /m², level), then updates as people move", d.zones.len()),
    ];
    let first = |f: &dyn Fn(&EventKind) -> bool| {
        t.scenario
            .and_then(|s| s.events.iter().find(|e| f(&e.kind)))
            .and_then(|e| match e.at {
                sensors_sim::scenario::At::AfterStart(ms) => Some((e, ms)),
                sensors_sim::scenario::At::Absolute(_) => None,
            })
    };
    if let Some((e, ms)) = first(&|k| matches!(k, EventKind::Fire { .. })) {
        if let EventKind::Fire { building, .. } = e.kind {
            let b = &d.buildings[building];
            out.push(format!("  3. {}", sub("alerts")));
            out.push(format!(
                "     about {} after the start the drill's fire breaks out in {} ({} / {}): a critical fire alert is raised, then confirmed when a second detector goes off",
                wall(ms, t.speed),
                b.id,
                b.names.zh,
                b.names.en
            ));
        }
    } else {
        out.push(format!("  3. {}", sub("alerts")));
        out.push(
            "     every alert transition (raised, updated, escalated, cleared) as it happens"
                .into(),
        );
    }
    out.push(format!(
        "     curl -s '{api}/alerts?state=active'   lists the open alerts with their ids"
    ));
    out.push(format!(
        "     curl -s -X POST -H 'content-type: application/json' -d '{{\"who\":\"me\",\"note\":\"on my way\"}}' {api}/alerts/ID/ack"
    ));
    out.push(
        "     acknowledges one: escalation stops, and the alert's audit trail names you".into(),
    );
    if let Some((e, ms)) = first(&|k| matches!(k, EventKind::CrowdSurge { .. })) {
        if let EventKind::CrowdSurge { zone, .. } = e.kind {
            let z = &d.zones[zone];
            out.push(format!(
                "  4. about {} after the start a crowd surges into {} ({} / {}): curl -s {api}/zones/{} shows the density rise and a crowd alert follows",
                wall(ms, t.speed),
                z.id,
                z.names.zh,
                z.names.en,
                z.id
            ));
        }
    }
    out.push(format!(
        "  5. the 3D twin: a window, or the snapshot {} rewritten every 30 s once the twin has joined",
        t.data_dir.join("twin.png").display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tour_names_the_drills_fire_and_surge_at_wall_time() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let d = district::load(root.join("config/districts/hubin.toml")).unwrap();
        let s = Scenario::load(root.join("sensors-sim/scenarios/drill.toml"), &d).unwrap();
        let tour = Tour {
            district: &d,
            http: "127.0.0.1:8080".parse().unwrap(),
            mqtt_port: 1883,
            speed: 60.0,
            scenario: Some(&s),
            data_dir: Path::new("data/demo"),
        };
        let text = lines(&tour).join("\n");
        assert!(
            text.contains("curl -s http://127.0.0.1:8080/api/v1/districts/hubin/summary"),
            "{text}"
        );
        assert!(
            text.contains("mosquitto_sub -p 1883 -t 'district/hubin/alerts' -v"),
            "{text}"
        );
        assert!(
            text.contains("about 30 s after the start the drill's fire breaks out in b05"),
            "{text}"
        );
        assert!(
            text.contains("about 45 s after the start a crowd surges into fountain-plaza"),
            "{text}"
        );
        assert!(text.contains("data/demo/twin.png"), "{text}");
        // Without a scenario the tour still explains the alert topic, and names no event.
        let plain = lines(&Tour {
            scenario: None,
            ..tour
        })
        .join("\n");
        assert!(!plain.contains("breaks out"), "{plain}");
        assert!(plain.contains("every alert transition"), "{plain}");
    }

    #[test]
    fn wall_time_reads_in_seconds_then_minutes() {
        assert_eq!(wall(1_800_000, 60.0), "30 s");
        assert_eq!(wall(1_800_000, 1.0), "30 min");
        assert_eq!(wall(5_400_000, 60.0), "2 min");
    }
}
