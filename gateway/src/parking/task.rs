//! The parking task: every tick, per district, uses reservations whose car arrived (entries
//! in their lot), expires those whose window is over, saves what changed, recomputes the sign
//! frames and publishes those the board lets through (retained, QoS 1) on
//! `district/{d}/signs/{sign}`, and marks lots dirty when their reservations changed so the
//! live publisher republishes `live/lots` and `live/bays` at once.

use std::sync::Arc;
use std::time::Duration;

use district::contract::live::LotStatus;
use district::contract::topic;
use rumqttc::{MqttOptions, QoS};
use tokio::sync::watch;

use super::sign::LotView;
use crate::shared::{LiveUpdate, Shared};

/// What the task remembers between ticks, per district.
#[derive(Debug, Default)]
struct Seen {
    /// Dwell, turnover and occupancy rollups.
    flow: Option<super::flow::Flow>,
    /// Entries counted so far, per lot (None until first looked at).
    entries: Vec<Option<u64>>,
    /// Held reservations at the last tick, per lot.
    held: Vec<u32>,
    /// The minute whose forecast was published last.
    forecast_minute: i64,
}

/// Runs until `shutdown`.
pub async fn run(
    shared: Arc<Shared>,
    opts: MqttOptions,
    store: crate::store::StoreTx,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = crate::publish::spawn_session(opts, 1000);
    let mut seen: Vec<Seen> = shared.districts.iter().map(|_| Seen::default()).collect();
    let every = shared.parking.cfg.tick.max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
            _ = tick.tick() => {
                let now = shared.clock.now_ms();
                for (di, s) in seen.iter_mut().enumerate() {
                    let (frames, rollups) = step(&shared, di, s, now);
                    if !rollups.is_empty() {
                        store.send(crate::store::StoreMsg::Rollups(shared.districts[di].id.clone(), rollups)).await;
                    }
                    let minute = now.div_euclid(60_000);
                    let forecasts = if s.forecast_minute != minute {
                        s.forecast_minute = minute;
                        forecasts(&shared, di, now)
                    } else {
                        Vec::new()
                    };
                    for (t, payload) in frames.into_iter().chain(forecasts) {
                        let _ = client.publish(t.clone(), QoS::AtLeastOnce, true, payload.as_bytes().to_vec()).await;
                        let _ = shared.live.send(LiveUpdate { topic: t, payload: payload.into() });
                    }
                }
            }
        }
    }
}

/// Rollups are closed this long after a minute ends (late bay reports still count).
const FLOW_GRACE_MS: i64 = 120_000;

/// One tick of district `di`: the sign frames to publish, and flow rollups to store.
fn step(
    shared: &Shared,
    di: usize,
    seen: &mut Seen,
    now: i64,
) -> (
    Vec<(String, String)>,
    Vec<crate::state::district::RollupPoint>,
) {
    let h = &shared.districts[di];
    let d = &h.model;
    // The live state first (lock order), then the parking state.
    let flow = seen.flow.get_or_insert_with(|| super::flow::Flow::new(d));
    let mut occupancy = Vec::with_capacity(d.lots.len());
    let raw: Vec<(u32, LotStatus, u64)> = {
        let st = h.state();
        (0..d.lots.len())
            .map(|l| {
                let live = st.lot_live(l, now);
                flow.observe(l, &st.lots[l].bays);
                occupancy.push(
                    (live.status != LotStatus::Stale && live.total > 0)
                        .then(|| live.occupied as f64 / live.total as f64),
                );
                (live.free, live.status, st.lots[l].entries.since(0))
            })
            .collect()
    };
    let rollups = flow.close(d, now - FLOW_GRACE_MS, &occupancy);
    seen.entries.resize(d.lots.len(), None);
    seen.held.resize(d.lots.len(), 0);
    let p = &shared.parking;
    let mut out = Vec::new();
    let mut dirty = Vec::new();
    {
        let mut dp = p.district(di);
        let mut changed = Vec::new();
        for (l, lot) in d.lots.iter().enumerate() {
            let total = raw[l].2;
            if let Some(before) = seen.entries[l] {
                if total > before {
                    changed.extend(dp.book.arrive(&lot.id, total - before, now));
                }
            }
            seen.entries[l] = Some(total);
        }
        changed.extend(dp.book.expire(now, now - 86_400_000));
        if let Err(e) = p.db.save(&d.id, &changed) {
            tracing::error!(error = %e, "saving reservations failed");
        }
        let views: Vec<LotView> = d
            .lots
            .iter()
            .enumerate()
            .map(|(l, lot)| {
                let held = dp.book.held(&lot.id, now);
                if held != seen.held[l] {
                    seen.held[l] = held;
                    dirty.push(l);
                }
                if p.closed(&lot.id) {
                    LotView::Closed
                } else if raw[l].1 == LotStatus::Stale {
                    LotView::Stale
                } else {
                    LotView::Open {
                        free: raw[l].0 - held.min(raw[l].0),
                    }
                }
            })
            .collect();
        for (s, frame) in dp.board.update(&d.signs, &d.lots, &views, now) {
            out.push((
                topic::sign(&d.id, &d.signs[s].id),
                serde_json::to_string(&frame).unwrap_or_default(),
            ));
            dp.frames[s] = Some(frame);
        }
    }
    if !dirty.is_empty() {
        h.owner.send(crate::owner::Input::LotsChanged(
            dirty.into_iter().collect(),
        ));
    }
    (out, rollups)
}

/// Forecast horizons, minutes.
pub const HORIZONS: [i64; 3] = [15, 30, 60];

/// `district/{d}/live/forecast/{lot}` (retained): expected free spaces of a lot.
pub fn forecast_topic(d: &str, lot: &str) -> String {
    format!(
        "{}/{d}/live/forecast/{lot}",
        district::contract::topic::ROOT
    )
}

/// Forecasts of every fresh lot of district `di` from the stored minute rollups; kept for the
/// API and returned as (topic, payload) to publish.
fn forecasts(shared: &Shared, di: usize, now: i64) -> Vec<(String, String)> {
    use super::forecast::{self, ForecastSettings, Series, WEEK_MS};
    let h = &shared.districts[di];
    let d = &h.model;
    let lives: Vec<_> = {
        let st = h.state();
        (0..d.lots.len()).map(|l| st.lot_live(l, now)).collect()
    };
    let set = ForecastSettings::default();
    let mut out = Vec::new();
    let mut kept = Vec::new();
    for (l, lot) in d.lots.iter().enumerate() {
        let live = &lives[l];
        if live.status == LotStatus::Stale {
            kept.push(None);
            continue;
        }
        let mut s = Series::new();
        let mut windows = vec![(now - set.residual_window_ms - 600_000, now)];
        for w in 1..=set.weeks {
            windows.push((
                now - w * WEEK_MS - set.residual_window_ms - 600_000,
                now - w * WEEK_MS + 3_600_000,
            ));
        }
        for (from, to) in windows {
            if let Ok(rows) = shared
                .reader
                .history(&h.id, "lot", &lot.id, "free", from, to, 60_000)
            {
                s.extend(rows);
            }
        }
        s.insert(now, live.free as f64);
        let horizons: Vec<serde_json::Value> = HORIZONS
            .iter()
            .filter_map(|&m| {
                let f = forecast::forecast(&s, now, m * 60_000, lot.capacity, &set)?;
                Some(serde_json::json!({ "minutes": m, "free": f.round() as u32 }))
            })
            .collect();
        let payload = serde_json::json!({
            "lot": lot.id,
            "ts": district::contract::time::format_millis(now),
            "free_now": live.free,
            "horizons": horizons,
            "full_in_min": forecast::full_within(&s, now, lot.capacity, &HORIZONS, &set),
            "method": "same weekday (median of up to 4 weeks) + today's deviation fading over 3 h",
        });
        out.push((forecast_topic(&d.id, &lot.id), payload.to_string()));
        kept.push(Some(payload));
    }
    let mut dp = shared.parking.district(di);
    if shared.parking.cfg.forecast_on_signs {
        for (l, f) in kept.iter().enumerate() {
            let soon = f.as_ref().and_then(|f| f["full_in_min"].as_i64());
            dp.board.set_soon_full(l, soon);
        }
    }
    dp.forecasts = kept;
    out
}
