//! Live snapshots of a district state in the contract's payload types.

use district::contract::live::*;
use district::contract::time::format_millis;
use district::{LotCounting, Role, Side};

use super::district::DistrictState;
use super::ledger::{minute_of, MINUTE_MS};
use super::lot::BayState;

impl DistrictState {
    fn ts_text(&self, ts: i64) -> String {
        format_millis(if ts == i64::MIN { self.started_ms } else { ts })
    }

    /// `live/zones/{zone}`.
    pub fn zone_live(&self, z: usize, now_ms: i64) -> ZoneLive {
        let d = &self.district;
        let zone = &d.zones[z];
        let st = &self.zones[z];
        let people = st.people();
        let density = people as f64 / zone.area_m2;
        let last_full = minute_of(now_ms.min(self.watermark.max(self.started_ms))) - MINUTE_MS;
        let day_start = d
            .calendar
            .start_of_day(chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default());
        ZoneLive {
            zone: zone.id.clone(),
            ts: self.ts_text(st.last_ts.max(self.started_ms)),
            people,
            density: (density * 1000.0).round() / 1000.0,
            level: CrowdLevel::of(density, &zone.density),
            in_per_min: st.ins.in_minute(last_full) as u32,
            out_per_min: st.outs.in_minute(last_full) as u32,
            capacity: zone.capacity,
            area_m2: zone.area_m2.round(),
            visits_today: st.ins.since(day_start.timestamp_millis()),
            stale: self.zone_stale(z, now_ms),
        }
    }

    /// True if no counter of the zone has reported within its allowed silence.
    pub fn zone_stale(&self, z: usize, now_ms: i64) -> bool {
        let d = &self.district;
        let missed = d.thresholds.offline_after_missed;
        let mut any = false;
        for (i, dev) in d.devices.iter().enumerate() {
            let counts = match dev.role {
                Role::FootfallLine { enters, leaves } => enters == z || leaves == Side::Zone(z),
                Role::FootfallArea { zone } => zone == z,
                _ => false,
            };
            if counts {
                any = true;
                if !self.liveness[i].offline(
                    now_ms,
                    dev.interval.as_millis() as i64,
                    missed,
                    self.started_ms,
                ) {
                    return false;
                }
            }
        }
        any
    }

    /// `live/lots/{lot}`.
    pub fn lot_live(&self, l: usize, now_ms: i64) -> LotLive {
        let d = &self.district;
        let lot = &d.lots[l];
        let st = &self.lots[l];
        let free = st.free();
        let stale_ms = lot.stale_after.as_millis() as i64;
        let last = if st.last_ts == i64::MIN {
            self.started_ms
        } else {
            st.last_ts
        };
        let status = if now_ms - last > stale_ms || lot.counting == LotCounting::None {
            LotStatus::Stale
        } else if free == 0 {
            LotStatus::Full
        } else {
            LotStatus::Open
        };
        let levels = lot
            .levels
            .iter()
            .enumerate()
            .map(|(li, level)| {
                let free = if lot.counting == LotCounting::Bays {
                    lot.bays
                        .iter()
                        .zip(&st.bays)
                        .filter(|(b, s)| b.level == li && s.0 == BayState::Free)
                        .count() as u32
                } else if lot.levels.len() == 1 {
                    free
                } else {
                    // Entrance counters see the lot as a whole: share the free spaces by capacity.
                    (free as u64 * level.capacity as u64 / lot.capacity.max(1) as u64) as u32
                };
                LevelLive {
                    level: level.id.clone(),
                    total: level.capacity,
                    free,
                }
            })
            .collect();
        let m = minute_of(now_ms.min(self.watermark.max(self.started_ms)));
        LotLive {
            lot: lot.id.clone(),
            ts: self.ts_text(st.last_ts),
            total: lot.capacity,
            free,
            occupied: st.occupied(),
            reserved: 0,
            unknown: st.unknown(),
            status,
            levels,
            entries_per_hour: st.entries.in_last(m, 60) as u32,
            exits_per_hour: st.exits.in_last(m, 60) as u32,
        }
    }

    /// `live/bays/{lot}`.
    pub fn bays_live(&self, l: usize) -> BaysLive {
        let st = &self.lots[l];
        BaysLive {
            lot: self.district.lots[l].id.clone(),
            ts: self.ts_text(st.last_ts),
            states: st.bays.iter().map(|b| b.0.code()).collect(),
        }
    }

    /// `live/air/{device}`.
    pub fn air_live(&self, dev: usize) -> Option<AirLive> {
        let m = self.monitors.get(&dev)?;
        let device = &self.district.devices[dev];
        let report = m.report.as_ref();
        let level = report.and_then(|r| r.level);
        Some(AirLive {
            device: device.id.clone(),
            zone: device.zone.map(|z| self.district.zones[z].id.clone()),
            ts: self.ts_text(m.last_ts),
            aqi: report.and_then(|r| r.aqi),
            level: level.map(|l| {
                serde_json::to_value(l)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            }),
            level_zh: level.map(|l| l.name_zh().to_string()),
            primary: report
                .map(|r| r.primary.iter().map(|p| p.code().to_string()).collect())
                .unwrap_or_default(),
            pm25: m.latest.pm25,
            pm10: m.latest.pm10,
            co2: m.latest.co2,
            temp: m.latest.temp,
            rh: m.latest.rh,
            indoor: matches!(device.role, Role::Air { indoor: true }),
        })
    }

    /// `live/energy/{building}`.
    pub fn energy_live(&self, b: usize) -> EnergyLive {
        let (kw, kwh) = self.building_energy(b);
        let last = self
            .meters
            .iter()
            .filter(|(dev, _)| matches!(self.district.devices[**dev].role, Role::Energy { building } if building == b))
            .filter_map(|(_, m)| m.last.map(|l| l.0))
            .max()
            .unwrap_or(i64::MIN);
        EnergyLive {
            building: self.district.buildings[b].id.clone(),
            ts: self.ts_text(last),
            kw: (kw * 100.0).round() / 100.0,
            kwh_today: (kwh * 100.0).round() / 100.0,
            rated_kw: self.district.buildings[b].rated_kw,
        }
    }

    /// `live/summary`.
    pub fn summary(&self, now_ms: i64, active_alerts: u32) -> Summary {
        let d = &self.district;
        let m = minute_of(now_ms.min(self.watermark.max(self.started_ms)));
        let mut heat: Vec<(String, u64)> = d
            .zones
            .iter()
            .zip(&self.zones)
            .map(|(z, s)| (z.id.clone(), s.ins.in_last(m, 60)))
            .collect();
        heat.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let day_start = d
            .calendar
            .start_of_day(chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default());
        let (kw, kwh) = (0..d.buildings.len())
            .map(|b| self.building_energy(b))
            .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        let aqi = self
            .monitors
            .iter()
            .filter(|(dev, _)| matches!(d.devices[**dev].role, Role::Air { indoor: false }))
            .filter_map(|(_, m)| m.aqi())
            .max();
        Summary {
            district: d.id.clone(),
            ts: self.ts_text(self.watermark),
            people_now: self.zones.iter().map(|z| z.people() as u64).sum(),
            visits_today: self.visits.since(day_start.timestamp_millis()),
            parking_free: self.lots.iter().map(|l| l.free()).sum(),
            parking_total: d.parking_capacity(),
            aqi,
            power_kw: (kw * 10.0).round() / 10.0,
            kwh_today: (kwh * 10.0).round() / 10.0,
            active_alerts,
            devices_offline: self.offline_devices(now_ms).len() as u32,
            heat_zones: heat
                .into_iter()
                .enumerate()
                .map(|(i, (zone, v))| HeatZone {
                    zone,
                    visits_last_hour: v,
                    rank: i as u32 + 1,
                })
                .collect(),
        }
    }
}
