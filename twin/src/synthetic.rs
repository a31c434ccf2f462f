//! A stand-in for the gateway (`--synthetic`): plausible live messages for every zone, lot,
//! monitor and building of the layout, published into the same [`Inbox`] the MQTT thread fills
//! (as JSON, so the same decoding runs). For the frame-time benchmark on a machine with no
//! gateway, and for looking at the twin alone. One zone climbs to critical and the first
//! building catches fire after `fire_after`.

use std::time::{Duration, Instant};

use district::contract::alert::{ActiveAlerts, AlertMsg, AlertState, Severity};
use district::contract::live::{
    AirLive, BaysLive, CrowdLevel, EnergyLive, LevelLive, LotLive, LotStatus, Summary, ZoneLive,
};
use district::contract::topic;
use district::DeviceKind;

use crate::feed::SharedInbox;
use crate::model::Layout;

/// splitmix64.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(seed: u64) -> f64 {
    (mix(seed) >> 11) as f64 / (1u64 << 53) as f64
}

/// Every message of one tick `k` (a second apart), as (topic, JSON).
pub fn tick(l: &Layout, k: u64, fire_after: u64) -> Vec<(String, Vec<u8>)> {
    let d = &l.id;
    let ts = chrono::DateTime::from_timestamp(1_795_000_000 + k as i64 * 60, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut out = Vec::new();
    let mut push = |t: String, v: &dyn erased::Ser| out.push((t, v.json()));
    let mut people_now = 0u64;
    for (i, z) in l.zones.iter().enumerate() {
        let phase = (k as f64 / 30.0 + i as f64).sin() * 0.5 + 0.5;
        let density = if i == 1 % l.zones.len().max(1) {
            // The hot zone climbs to 110 % of critical over a minute.
            z.density.critical * (0.3 + 0.8 * (k as f64 / 60.0).min(1.0))
        } else {
            z.density.warn * (0.02 + 0.3 * phase)
        };
        let people = (density * z.area_m2) as u32;
        people_now += people as u64;
        push(
            topic::live_zone(d, &z.id),
            &ZoneLive {
                zone: z.id.clone(),
                ts: ts.clone(),
                people,
                density,
                level: CrowdLevel::of(density, &z.density),
                in_per_min: (phase * 40.0) as u32,
                out_per_min: (phase * 35.0) as u32,
                capacity: z.capacity,
                area_m2: z.area_m2,
                visits_today: people as u64 * 3,
                stale: false,
            },
        );
    }
    let (mut free_all, mut total_all) = (0u32, 0u32);
    for (i, lot) in l.lots.iter().enumerate() {
        let fill = if i == 0 {
            1.0
        } else {
            0.5 + 0.45 * (k as f64 / 40.0 + i as f64).sin()
        };
        let states: String = (0..lot.bay_count)
            .map(|b| {
                let r = unit((i as u64) << 40 ^ (b as u64) << 8 ^ (k / 5));
                if r < fill {
                    'O'
                } else if r < fill + 0.03 {
                    'R'
                } else {
                    'F'
                }
            })
            .collect();
        let free = states.bytes().filter(|&c| c == b'F').count() as u32;
        let total = lot.capacity.max(lot.bay_count as u32);
        let free = if lot.bay_count == 0 {
            (total as f64 * (1.0 - fill)) as u32
        } else {
            free
        };
        free_all += free;
        total_all += total;
        push(
            topic::live_bays(d, &lot.id),
            &BaysLive {
                lot: lot.id.clone(),
                ts: ts.clone(),
                states,
            },
        );
        push(
            topic::live_lot(d, &lot.id),
            &LotLive {
                lot: lot.id.clone(),
                ts: ts.clone(),
                total,
                free,
                occupied: total - free,
                reserved: 0,
                unknown: 0,
                status: if free == 0 {
                    LotStatus::Full
                } else {
                    LotStatus::Open
                },
                levels: lot
                    .levels
                    .iter()
                    .map(|v| LevelLive {
                        level: v.clone(),
                        total: 0,
                        free: 0,
                    })
                    .collect(),
                entries_per_hour: 100,
                exits_per_hour: 90,
            },
        );
    }
    for (i, dev) in l
        .devices
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == DeviceKind::Air)
    {
        let aqi = (30.0 + 140.0 * unit(i as u64 * 77 + k / 20)) as u32;
        push(
            topic::live_air(d, &dev.id),
            &AirLive {
                device: dev.id.clone(),
                zone: None,
                ts: ts.clone(),
                aqi: Some(aqi),
                level: None,
                level_zh: None,
                primary: vec!["pm25".into()],
                pm25: Some(aqi as f64 * 0.7),
                pm10: None,
                co2: None,
                temp: Some(21.0),
                rh: Some(55.0),
                indoor: dev.indoor,
            },
        );
    }
    let mut power = 0.0;
    for (i, b) in l.buildings.iter().enumerate() {
        let rated = b.rated_kw.unwrap_or(500.0);
        let kw = rated * (0.2 + 0.9 * unit(i as u64 * 13 + k / 10));
        power += kw;
        push(
            topic::live_energy(d, &b.id),
            &EnergyLive {
                building: b.id.clone(),
                ts: ts.clone(),
                kw,
                kwh_today: kw * 5.0,
                rated_kw: b.rated_kw,
            },
        );
    }
    let mut alerts = Vec::new();
    if k >= fire_after {
        if let Some(b) = l.buildings.first() {
            alerts.push(AlertMsg {
                id: format!("fire:{}", b.id),
                rule: "fire".into(),
                subject: b.id.clone(),
                category: "fire".into(),
                sub_category: "buildingFire".into(),
                severity: Severity::Critical,
                state: AlertState::Raised,
                transition: "raised".into(),
                escalation: 0,
                text: format!("{} 火警 Fire alarm", b.names.zh),
                context: serde_json::json!({"building": b.id, "zone": l.zones.get(b.zone).map(|z| z.id.clone())}),
                raised_at: ts.clone(),
                ts: ts.clone(),
            });
        }
    }
    push(
        topic::summary(d),
        &Summary {
            district: d.clone(),
            ts: ts.clone(),
            people_now,
            visits_today: people_now * 3,
            parking_free: free_all,
            parking_total: total_all,
            aqi: Some(72),
            power_kw: power,
            kwh_today: power * 5.0,
            active_alerts: alerts.len() as u32,
            devices_offline: 0,
            heat_zones: vec![],
        },
    );
    push(
        topic::alerts_active(d),
        &ActiveAlerts {
            ts: ts.clone(),
            alerts,
        },
    );
    out
}

mod erased {
    /// Object-safe JSON serialisation.
    pub trait Ser {
        fn json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}

/// Starts the synthetic source: one tick a second into `inbox`.
pub fn spawn(layout: Layout, inbox: SharedInbox, fire_after: Duration) {
    let fire_after = fire_after.as_secs();
    std::thread::Builder::new()
        .name("twin-synthetic".into())
        .spawn(move || {
            let start = Instant::now();
            inbox.lock().unwrap().set_connected(true);
            let mut k = 0u64;
            loop {
                let msgs = tick(&layout, k, fire_after);
                {
                    let mut i = inbox.lock().unwrap();
                    for (t, p) in &msgs {
                        i.put(t, p);
                    }
                }
                k += 1;
                let next = start + Duration::from_secs(k);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
        .expect("spawn synthetic feed");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{Inbox, Msg};

    #[test]
    fn every_message_decodes_and_the_hot_zone_turns_critical() {
        let d = district::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/districts/hubin.toml"
        ))
        .unwrap();
        let l = Layout::new(&d);
        let mut inbox = Inbox::default();
        for (t, p) in tick(&l, 120, 10) {
            inbox.put(&t, &p);
        }
        assert_eq!(inbox.rejected, 0, "{:?}", inbox.last_error);
        let hot = &l.zones[1].id;
        match &inbox.latest[&topic::live_zone(&l.id, hot)] {
            Msg::Zone(z) => assert_eq!(z.level, CrowdLevel::Critical),
            m => panic!("{m:?}"),
        }
        match &inbox.latest[&topic::alerts_active(&l.id)] {
            Msg::Active(a) => assert_eq!(a.alerts.len(), 1),
            m => panic!("{m:?}"),
        }
    }
}
