//! Forecasts of a district's lots from the stored minute rollups (blocking: reads the store;
//! the owner runs it on the blocking pool once a minute and takes the result back).

use district::contract::live::{LotLive, LotStatus};
use district::District;

use super::forecast::{self, ForecastSettings, Series, WEEK_MS};
use crate::store::Reader;

/// Forecast horizons, minutes.
pub const HORIZONS: [i64; 3] = [15, 30, 60];

/// `district/{d}/live/forecast/{lot}` (retained): expected free spaces of a lot.
pub fn forecast_topic(d: &str, lot: &str) -> String {
    format!(
        "{}/{d}/live/forecast/{lot}",
        district::contract::topic::ROOT
    )
}

/// The forecast of every fresh lot of `d` (`lives`: the lots now, one per lot), None for a
/// stale lot.
pub fn forecasts(
    reader: &Reader,
    d: &District,
    lives: &[LotLive],
    now: i64,
) -> Vec<Option<serde_json::Value>> {
    let set = ForecastSettings::default();
    let mut kept = Vec::new();
    for (l, lot) in d.lots.iter().enumerate() {
        let Some(live) = lives.get(l).filter(|v| v.status != LotStatus::Stale) else {
            kept.push(None);
            continue;
        };
        let mut s = Series::new();
        let mut windows = vec![(now - set.residual_window_ms - 600_000, now)];
        for w in 1..=set.weeks {
            windows.push((
                now - w * WEEK_MS - set.residual_window_ms - 600_000,
                now - w * WEEK_MS + 3_600_000,
            ));
        }
        for (from, to) in windows {
            if let Ok(rows) = reader.history(&d.id, "lot", &lot.id, "free", from, to, 60_000) {
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
        kept.push(Some(serde_json::json!({
            "lot": lot.id,
            "ts": district::contract::time::format_millis(now),
            "free_now": live.free,
            "horizons": horizons,
            "full_in_min": forecast::full_within(&s, now, lot.capacity, &HORIZONS, &set),
            "method": "same weekday (median of up to 4 weeks) + today's deviation fading over 3 h",
        })));
    }
    kept
}
