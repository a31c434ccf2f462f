//! Colour scales: crowd level, heat, AQI (the six HJ 633-2012 level colours), alert severity,
//! bay state, power glow. Overlays are drawn unlit with tonemapping off, so these sRGB values
//! are exactly what reaches the screen (the capture test relies on it).

use bevy::color::{LinearRgba, Srgba};
use district::contract::alert::Severity;
use district::contract::live::CrowdLevel;

/// An sRGB colour from bytes.
pub const fn rgb(r: u8, g: u8, b: u8) -> Srgba {
    Srgba::rgb(r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0)
}

/// The bytes of an sRGB colour.
pub fn bytes(c: Srgba) -> [u8; 3] {
    [c.red, c.green, c.blue].map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// Zone fill for a crowd level: a green → amber → orange → red heat scale.
pub fn crowd_level(level: CrowdLevel) -> Srgba {
    match level {
        CrowdLevel::Normal => rgb(46, 160, 67),
        CrowdLevel::Busy => rgb(251, 192, 45),
        CrowdLevel::Crowded => rgb(239, 108, 0),
        CrowdLevel::Critical => rgb(198, 40, 40),
    }
}

/// Zone fill when the zone has no live data, or its data is stale.
pub const NO_DATA: Srgba = rgb(96, 102, 112);

/// Every crowd level with its colour, for the legend.
pub fn crowd_legend() -> [(CrowdLevel, Srgba); 4] {
    [
        CrowdLevel::Normal,
        CrowdLevel::Busy,
        CrowdLevel::Crowded,
        CrowdLevel::Critical,
    ]
    .map(|l| (l, crowd_level(l)))
}

/// How hot a zone is, 0 (empty) to 1 (at its critical density) and above.
pub fn heat(density: f64, critical_density: f64) -> f32 {
    if critical_density <= 0.0 || !density.is_finite() {
        return 0.0;
    }
    (density / critical_density).clamp(0.0, 1.5) as f32
}

/// Height (m) of a zone's fence of light for a heat value: 1.5 m when calm, up to 15 m (low
/// enough not to hide the zone's own colour from the big screen's oblique views).
pub fn fence_height(heat: f32) -> f32 {
    1.5 + 13.5 * heat.clamp(0.0, 1.0)
}

/// The six HJ 633-2012 AQI levels (1 = 优 … 6 = 严重污染) of an AQI value.
pub fn aqi_level(aqi: u32) -> u8 {
    match aqi {
        0..=50 => 1,
        51..=100 => 2,
        101..=150 => 3,
        151..=200 => 4,
        201..=300 => 5,
        _ => 6,
    }
}

/// The level number of the gateway's level code (`excellent`, `good`, …).
pub fn aqi_level_of_code(code: &str) -> Option<u8> {
    Some(match code {
        "excellent" => 1,
        "good" => 2,
        "lightly_polluted" => 3,
        "moderately_polluted" => 4,
        "heavily_polluted" => 5,
        "severely_polluted" => 6,
        _ => return None,
    })
}

/// HJ 633-2012 level colours: green, yellow, orange, red, purple, maroon.
pub fn aqi_color(level: u8) -> Srgba {
    match level {
        0 | 1 => rgb(0, 228, 0),
        2 => rgb(255, 255, 0),
        3 => rgb(255, 126, 0),
        4 => rgb(255, 0, 0),
        5 => rgb(153, 0, 76),
        _ => rgb(126, 0, 35),
    }
}

/// Beacon colour of an alert severity. Critical is a hot crimson-magenta, kept apart from the
/// crowd scale's red so that a fire beacon and a critical zone are told apart at a glance.
pub fn severity(s: Severity) -> Srgba {
    match s {
        Severity::Info => rgb(66, 165, 245),
        Severity::Low => rgb(38, 198, 218),
        Severity::Medium => rgb(255, 235, 59),
        Severity::High => rgb(255, 145, 0),
        Severity::Critical => rgb(255, 0, 110),
    }
}

/// Bay colour from its state character in `live/bays` (F, O, R, U).
pub fn bay(state: u8) -> Srgba {
    match state {
        b'F' => rgb(0, 200, 83),
        b'O' => rgb(229, 57, 53),
        b'R' => rgb(255, 179, 0),
        _ => rgb(120, 124, 130),
    }
}

/// A full lot's outline and label colour.
pub const LOT_FULL: Srgba = rgb(229, 57, 53);

/// Emissive glow of a building drawing `kw` of its rated `rated_kw`: none when unknown or
/// idle, a cool white rising with load, warm at the rating, red-orange above it.
pub fn power_glow(kw: f64, rated_kw: Option<f64>) -> LinearRgba {
    let Some(rated) = rated_kw.filter(|r| *r > 0.0) else {
        return LinearRgba::BLACK;
    };
    if !kw.is_finite() || kw <= 0.0 {
        return LinearRgba::BLACK;
    }
    let r = (kw / rated) as f32;
    let cool = LinearRgba::rgb(0.35, 0.55, 0.9);
    let warm = LinearRgba::rgb(1.0, 0.75, 0.35);
    let over = LinearRgba::rgb(1.0, 0.2, 0.05);
    let (c, strength) = if r <= 1.0 {
        (mix(cool, warm, r), 0.05 + 0.45 * r)
    } else {
        (
            mix(warm, over, ((r - 1.0) * 2.0).min(1.0)),
            0.5 + 0.5 * ((r - 1.0) * 2.0).min(1.0),
        )
    };
    c * strength
}

fn mix(a: LinearRgba, b: LinearRgba, t: f32) -> LinearRgba {
    let t = t.clamp(0.0, 1.0);
    LinearRgba::rgb(
        a.red + (b.red - a.red) * t,
        a.green + (b.green - a.green) * t,
        a.blue + (b.blue - a.blue) * t,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crowd_levels_are_distinct_and_ordered_from_green_to_red() {
        let c = crowd_legend().map(|(_, c)| bytes(c));
        assert_eq!(c[0], [46, 160, 67]);
        assert_eq!(c[3], [198, 40, 40]);
        for i in 0..4 {
            for j in i + 1..4 {
                assert!(dist(c[i], c[j]) > 60.0, "{i} {j}");
            }
        }
        // Redder and less green as the level rises.
        assert!(c
            .windows(2)
            .all(|w| w[1][1] <= w[0][1] || w[0][0] < w[1][0]));
    }

    #[test]
    fn aqi_levels_follow_hj_633_breakpoints_and_colours() {
        assert_eq!(
            [0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500].map(aqi_level),
            [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
        );
        let want = [
            [0, 228, 0],
            [255, 255, 0],
            [255, 126, 0],
            [255, 0, 0],
            [153, 0, 76],
            [126, 0, 35],
        ];
        for (l, w) in (1..=6).zip(want) {
            assert_eq!(bytes(aqi_color(l)), w);
        }
        assert_eq!(aqi_level_of_code("lightly_polluted"), Some(3));
        assert_eq!(aqi_level_of_code("nonsense"), None);
    }

    #[test]
    fn critical_alert_stands_apart_from_every_crowd_level() {
        let a = bytes(severity(Severity::Critical));
        for (_, c) in crowd_legend() {
            assert!(dist(a, bytes(c)) > 90.0, "{:?}", bytes(c));
        }
        assert!(dist(a, bytes(NO_DATA)) > 90.0);
    }

    #[test]
    fn heat_and_fence_are_clamped() {
        assert_eq!(heat(0.0, 5.0), 0.0);
        assert_eq!(heat(5.0, 5.0), 1.0);
        assert_eq!(heat(50.0, 5.0), 1.5);
        assert_eq!(heat(1.0, 0.0), 0.0);
        assert_eq!(heat(f64::NAN, 5.0), 0.0);
        assert_eq!(fence_height(0.0), 1.5);
        assert_eq!(fence_height(2.0), 15.0);
    }

    #[test]
    fn power_glow_rises_with_load_and_turns_red_above_rating() {
        let lum = |c: LinearRgba| c.red + c.green + c.blue;
        assert_eq!(power_glow(100.0, None), LinearRgba::BLACK);
        assert_eq!(power_glow(0.0, Some(500.0)), LinearRgba::BLACK);
        let low = power_glow(50.0, Some(500.0));
        let high = power_glow(450.0, Some(500.0));
        let over = power_glow(900.0, Some(500.0));
        assert!(lum(low) < lum(high) && lum(high) < lum(over));
        assert!(low.blue > low.red, "cool when idle");
        assert!(over.red > 3.0 * over.green, "red when overloaded");
    }

    #[test]
    fn bays_have_four_states() {
        let s: Vec<[u8; 3]> = [b'F', b'O', b'R', b'U', b'?']
            .iter()
            .map(|&c| bytes(bay(c)))
            .collect();
        assert_eq!(s[3], s[4]);
        assert!(dist(s[0], s[1]) > 100.0);
    }

    fn dist(a: [u8; 3], b: [u8; 3]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (*x as f32 - y as f32).powi(2))
            .sum::<f32>()
            .sqrt()
    }
}
