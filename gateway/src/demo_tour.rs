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
    /// The demo account's bearer token (an operator: it may read and acknowledge).
    pub token: &'a str,
    /// `mosquitto_sub`'s login: the security desk's reader identity, its password read from
    /// its file in the data folder (`-u desk -P "$(cat ...)"`).
    pub mqtt_login: &'a str,
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
    let curl = format!("curl -s -H 'Authorization: Bearer {}'", t.token);
    let sub = |topic: &str| {
        format!(
            "mosquitto_sub -p {} {} -t 'district/{}/{topic}' -v",
            t.mqtt_port, t.mqtt_login, d.id
        )
    };
    let mut out = vec![
        "First look (what each step should show):".to_string(),
        format!("  1. {curl} {api}/summary"),
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
        "     {curl} '{api}/alerts?state=active'   lists the open alerts with their ids"
    ));
    out.push(format!(
        "     {curl} -X POST -H 'content-type: application/json' -d '{{\"note\":\"on my way\"}}' {api}/alerts/ID/ack"
    ));
    out.push(
        "     acknowledges one: escalation stops, and the alert's audit trail names the token's account (\"demo\")".into(),
    );
    if let Some((e, ms)) = first(&|k| matches!(k, EventKind::CrowdSurge { .. })) {
        if let EventKind::CrowdSurge { zone, .. } = e.kind {
            let z = &d.zones[zone];
            out.push(format!(
                "  4. about {} after the start a crowd surges into {} ({} / {}): {curl} {api}/zones/{} shows the density rise and a crowd alert follows",
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

/// One line on how the district stands, printed by the demo every half minute: simulated
/// time in the district's zone, people, parking, air, power, open alerts, readings stored.
pub fn status_line(
    district: &district::District,
    now_ms: i64,
    s: &district::contract::live::Summary,
    stored: u64,
) -> String {
    let local = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .with_timezone(&district.calendar.timezone);
    let aqi = s.aqi.map_or("–".to_string(), |a| a.to_string());
    format!(
        "[{} {}] people {} · parking free {}/{} · AQI {} · {:.0} kW · open alerts {} · offline devices {} · readings stored {}",
        local.format("%H:%M"),
        district.id,
        s.people_now,
        s.parking_free,
        s.parking_total,
        aqi,
        s.power_kw,
        s.active_alerts,
        s.devices_offline,
        stored
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_reads_local_time_and_the_kpis() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let d = district::load(root.join("config/districts/hubin.toml")).unwrap();
        let s = district::contract::live::Summary {
            district: "hubin".into(),
            ts: String::new(),
            people_now: 1234,
            visits_today: 0,
            parking_free: 812,
            parking_total: 1670,
            aqi: Some(89),
            power_kw: 2100.4,
            kwh_today: 0.0,
            active_alerts: 2,
            devices_offline: 0,
            heat_zones: Vec::new(),
        };
        // 2026-11-22T02:00:00Z is 10:00 in Asia/Shanghai.
        let line = status_line(&d, 1_795_312_800_000, &s, 5000);
        assert_eq!(
            line,
            "[10:00 hubin] people 1234 · parking free 812/1670 · AQI 89 · 2100 kW · open alerts 2 · offline devices 0 · readings stored 5000"
        );
    }

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
            token: "TOKEN-1",
            mqtt_login: "-u desk -P \"$(cat data/demo/desk.secret)\"",
        };
        let text = lines(&tour).join("\n");
        assert!(
            text.contains("curl -s -H 'Authorization: Bearer TOKEN-1' http://127.0.0.1:8080/api/v1/districts/hubin/summary"),
            "{text}"
        );
        // Every curl line of the tour carries the token: without it the API answers 401.
        let curls: Vec<&str> = text.lines().filter(|l| l.contains("curl ")).collect();
        assert!(curls.len() >= 4, "{text}");
        for l in &curls {
            assert_eq!(
                l.matches("curl -s -H 'Authorization: Bearer TOKEN-1' ")
                    .count(),
                l.matches("curl ").count(),
                "{l}"
            );
        }
        assert!(
            text.contains("-d '{\"note\":\"on my way\"}' http://127.0.0.1:8080/api/v1/districts/hubin/alerts/ID/ack"),
            "{text}"
        );
        assert!(
            text.contains("mosquitto_sub -p 1883 -u desk -P \"$(cat data/demo/desk.secret)\" -t 'district/hubin/alerts' -v"),
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
