//! China's Ambient Air Quality Index (AQI) per HJ 633-2012
//! 《环境空气质量指数（AQI）技术规定（试行）》.
//!
//! # What the standard says
//!
//! * Each pollutant `P` gets an individual index (空气质量分指数, IAQI) by
//!   linear interpolation in Table 1 of the standard:
//!
//!   `IAQI_P = (IAQI_Hi − IAQI_Lo) / (BP_Hi − BP_Lo) × (C_P − BP_Lo) + IAQI_Lo`
//!
//!   where `BP_Lo ≤ C_P ≤ BP_Hi` are the neighbouring breakpoints of the
//!   column that matches the averaging period of the concentration `C_P`.
//! * The AQI is the maximum IAQI over the pollutants reported.
//! * When AQI > 50 the pollutant(s) with the maximum IAQI are the primary
//!   pollutant(s) (首要污染物); when AQI ≤ 50 there is none. Pollutants whose
//!   IAQI exceeds 100 are the exceeding pollutants (超标污染物).
//! * Six levels (六级): 0–50 优, 51–100 良, 101–150 轻度污染, 151–200 中度污染,
//!   201–300 重度污染, > 300 严重污染, with the colours of Appendix A.
//!
//! Table 1 (units µg/m³, CO in mg/m³), reproduced in [`breakpoints`]:
//!
//! | IAQI | SO2 24h | SO2 1h | NO2 24h | NO2 1h | PM10 24h | CO 24h | CO 1h | O3 1h | O3 8h | PM2.5 24h |
//! |-----:|--------:|-------:|--------:|-------:|---------:|-------:|------:|------:|------:|----------:|
//! |    0 |       0 |      0 |       0 |      0 |        0 |      0 |     0 |     0 |     0 |         0 |
//! |   50 |      50 |    150 |      40 |    100 |       50 |      2 |     5 |   160 |   100 |        35 |
//! |  100 |     150 |    500 |      80 |    200 |      150 |      4 |    10 |   200 |   160 |        75 |
//! |  150 |     475 |    650 |     180 |    700 |      250 |     14 |    35 |   300 |   215 |       115 |
//! |  200 |     800 |    800 |     280 |   1200 |      350 |     24 |    60 |   400 |   265 |       150 |
//! |  300 |    1600 |   (1)  |     565 |   2340 |      420 |     36 |    90 |   800 |   800 |       250 |
//! |  400 |    2100 |   (1)  |     750 |   3090 |      500 |     48 |   120 |  1000 |   (2) |       350 |
//! |  500 |    2620 |   (1)  |     940 |   3840 |      600 |     60 |   150 |  1200 |   (2) |       500 |
//!
//! Notes of the standard, and how this module handles them:
//!
//! 1. *SO2 1-h mean above 800 µg/m³ is not evaluated with the 1-h column; the
//!    SO2 IAQI is taken from the 24-h mean instead.* [`iaqi`] returns `None` for
//!    `(So2, Hour1, c > 800)`; [`AirAverager::realtime_aqi`] then falls back to
//!    the SO2 24-h moving mean against the 24-h column.
//! 2. *O3 8-h mean above 800 µg/m³ is not evaluated with the 8-h column; the O3
//!    IAQI is taken from the 1-h mean instead.* [`iaqi`] returns `None` for
//!    `(O3, Hour8, c > 800)`; the reports then use only the O3 1-h IAQI.
//! 3. *The SO2, NO2 and CO 1-h columns are for the real-time (hourly) report
//!    only; the daily report uses the 24-h columns.* [`AirAverager::daily_aqi`]
//!    follows this.
//!
//! # Choices made here
//!
//! * **Rounding.** The standard requires IAQI and AQI results to be rounded
//!   *up* to an integer (进位取整数). [`iaqi`] returns the ceiling of the
//!   interpolated value. To absorb binary floating-point noise, a value within
//!   `1e-9` above an integer counts as that integer (so a concentration exactly
//!   on a breakpoint maps exactly to the breakpoint's IAQI). The formula is
//!   evaluated as `IAQI_Lo + (IAQI_Hi − IAQI_Lo)·(C − BP_Lo)/(BP_Hi − BP_Lo)`
//!   (multiply before divide) for the same reason.
//! * **Above the table.** A concentration above the top breakpoint of a column
//!   gets IAQI = 500 (capped; the index "bursts the scale", 爆表), except for
//!   the two columns that stop early (notes 1 and 2), which give `None`.
//! * **Bad input.** NaN, ±infinity and negative concentrations give `None`
//!   (never a panic). `-0.0` counts as `0`.
//! * **Real-time report, particulates.** The hourly publication (实时报) lists
//!   nine indicators: the 1-h means of SO2, NO2, O3, CO, PM10 and PM2.5, the O3
//!   8-h moving mean and the PM10/PM2.5 24-h moving means. Table 1 has no 1-h
//!   column for particulates, and China's national real-time platform rates
//!   particulates on their 24-h moving means, so by default
//!   [`AirAverager::realtime_aqi`] uses the PM10/PM2.5 24-h moving means with
//!   the 24-h columns. This also keeps a single dusty minute from swinging the
//!   district's AQI by a whole level. [`RealtimeOptions::particulate_basis`]
//!   can switch to rating the 1-h mean against the 24-h column instead.
//! * **Real-time report, O3.** By default only the O3 1-h mean (1-h column) is
//!   rated. [`RealtimeOptions::include_o3_8h`] also rates the O3 8-h moving
//!   mean and keeps the larger of the two O3 IAQIs (note 2 applies).
//! * **Averaging.** [`AirAverager`] keeps per-minute sums and counts for at most
//!   24 h (1440 buckets), so memory is bounded whatever the sampling rate. A
//!   1-h mean is the mean of all samples in the trailing 60 minutes. Following
//!   GB 3095-2012 / HJ 663, the 8-h and 24-h means are means of *hourly* means:
//!   the window is cut into trailing 60-minute slots aligned on `now`, each slot
//!   with data gives its mean, and the window mean is the mean of those slot
//!   means (so an hour sampled more densely does not weigh more).
//! * **Data validity (`partial`).** GB 3095-2012 requires ≥ 45 minutes of data
//!   for a 1-h mean, ≥ 20 hourly means for a 24-h mean and ≥ 6 hourly means for
//!   an 8-h mean. Here a 1-h mean is complete when ≥ 9 of its twelve 5-minute
//!   slots hold data (the 45-minute rule, tolerant of sensors that report every
//!   few minutes), an 8-h mean when ≥ 6 of its 8 hourly slots do, a 24-h mean
//!   when ≥ 20 of its 24 hourly slots do, and a daily max 8-h O3 when ≥ 14 of
//!   the 17 8-h windows are complete. Incomplete means are still used (the mean
//!   of what is available), and the report says so with `partial = true`.
//!
//! Units: every concentration is µg/m³ except CO, which is mg/m³. The
//! standard publishes concentrations rounded (µg/m³ to integers, CO to 0.1
//! mg/m³); this module does not round concentrations, callers that want the
//! published values bit-for-bit should round before calling [`iaqi`].

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// The IAQI values at the breakpoints of Table 1: 0, 50, 100, 150, 200, 300,
/// 400, 500.
pub const IAQI_LEVELS: [f64; 8] = [0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0];

/// The largest IAQI (and AQI) value; concentrations above a column's top
/// breakpoint are capped here.
pub const IAQI_MAX: u32 = 500;

const SO2_24H: [f64; 8] = [0.0, 50.0, 150.0, 475.0, 800.0, 1600.0, 2100.0, 2620.0];
const SO2_1H: [f64; 5] = [0.0, 150.0, 500.0, 650.0, 800.0];
const NO2_24H: [f64; 8] = [0.0, 40.0, 80.0, 180.0, 280.0, 565.0, 750.0, 940.0];
const NO2_1H: [f64; 8] = [0.0, 100.0, 200.0, 700.0, 1200.0, 2340.0, 3090.0, 3840.0];
const PM10_24H: [f64; 8] = [0.0, 50.0, 150.0, 250.0, 350.0, 420.0, 500.0, 600.0];
const CO_24H: [f64; 8] = [0.0, 2.0, 4.0, 14.0, 24.0, 36.0, 48.0, 60.0];
const CO_1H: [f64; 8] = [0.0, 5.0, 10.0, 35.0, 60.0, 90.0, 120.0, 150.0];
const O3_1H: [f64; 8] = [0.0, 160.0, 200.0, 300.0, 400.0, 800.0, 1000.0, 1200.0];
const O3_8H: [f64; 6] = [0.0, 100.0, 160.0, 215.0, 265.0, 800.0];
const PM25_24H: [f64; 8] = [0.0, 35.0, 75.0, 115.0, 150.0, 250.0, 350.0, 500.0];

/// Slack used when rounding up, so that binary floating-point noise
/// (e.g. `100.00000000000001`) does not push a result to the next integer.
const ROUNDING_EPSILON: f64 = 1e-9;

/// One of the six pollutants rated by HJ 633-2012.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pollutant {
    /// Sulphur dioxide, SO2 (µg/m³).
    So2,
    /// Nitrogen dioxide, NO2 (µg/m³).
    No2,
    /// Particulate matter ≤ 10 µm, PM10 (µg/m³).
    Pm10,
    /// Carbon monoxide, CO (mg/m³).
    Co,
    /// Ozone, O3 (µg/m³).
    O3,
    /// Particulate matter ≤ 2.5 µm, PM2.5 (µg/m³).
    Pm25,
}

impl Pollutant {
    /// All six pollutants, in the order used in reports.
    pub const ALL: [Pollutant; 6] = [
        Pollutant::So2,
        Pollutant::No2,
        Pollutant::Pm10,
        Pollutant::Co,
        Pollutant::O3,
        Pollutant::Pm25,
    ];

    /// Short machine code: `"so2"`, `"no2"`, `"pm10"`, `"co"`, `"o3"`, `"pm25"`.
    pub fn code(self) -> &'static str {
        match self {
            Pollutant::So2 => "so2",
            Pollutant::No2 => "no2",
            Pollutant::Pm10 => "pm10",
            Pollutant::Co => "co",
            Pollutant::O3 => "o3",
            Pollutant::Pm25 => "pm25",
        }
    }

    /// Parses a code as returned by [`Pollutant::code`] (ASCII case-insensitive;
    /// `"pm2.5"` and `"pm2_5"` are accepted for PM2.5).
    pub fn from_code(code: &str) -> Option<Pollutant> {
        let c = code.trim().to_ascii_lowercase();
        match c.as_str() {
            "so2" => Some(Pollutant::So2),
            "no2" => Some(Pollutant::No2),
            "pm10" => Some(Pollutant::Pm10),
            "co" => Some(Pollutant::Co),
            "o3" => Some(Pollutant::O3),
            "pm25" | "pm2.5" | "pm2_5" => Some(Pollutant::Pm25),
            _ => None,
        }
    }

    /// Chinese name as used in AQI publications (e.g. `二氧化硫`).
    pub fn name_zh(self) -> &'static str {
        match self {
            Pollutant::So2 => "二氧化硫",
            Pollutant::No2 => "二氧化氮",
            Pollutant::Pm10 => "颗粒物(PM10)",
            Pollutant::Co => "一氧化碳",
            Pollutant::O3 => "臭氧",
            Pollutant::Pm25 => "细颗粒物(PM2.5)",
        }
    }

    /// English name (e.g. `sulphur dioxide`).
    pub fn name_en(self) -> &'static str {
        match self {
            Pollutant::So2 => "sulphur dioxide",
            Pollutant::No2 => "nitrogen dioxide",
            Pollutant::Pm10 => "PM10",
            Pollutant::Co => "carbon monoxide",
            Pollutant::O3 => "ozone",
            Pollutant::Pm25 => "PM2.5",
        }
    }

    /// Concentration unit expected by this module: `"mg/m³"` for CO,
    /// `"µg/m³"` for the others.
    pub fn unit(self) -> &'static str {
        match self {
            Pollutant::Co => "mg/m³",
            _ => "µg/m³",
        }
    }

    fn index(self) -> usize {
        match self {
            Pollutant::So2 => 0,
            Pollutant::No2 => 1,
            Pollutant::Pm10 => 2,
            Pollutant::Co => 3,
            Pollutant::O3 => 4,
            Pollutant::Pm25 => 5,
        }
    }
}

/// Averaging period of a concentration, selecting the column of Table 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Period {
    /// 1-hour mean (SO2, NO2, CO, O3 columns).
    #[serde(rename = "1h")]
    Hour1,
    /// 8-hour moving mean (O3 only).
    #[serde(rename = "8h")]
    Hour8,
    /// 24-hour mean (SO2, NO2, PM10, CO, PM2.5 columns).
    #[serde(rename = "24h")]
    Hour24,
}

impl Period {
    /// Length of the period in minutes (60, 480 or 1440).
    pub fn minutes(self) -> i64 {
        match self {
            Period::Hour1 => 60,
            Period::Hour8 => 480,
            Period::Hour24 => 1440,
        }
    }
}

/// The breakpoints (concentrations) of Table 1 for a pollutant and averaging
/// period, ascending, paired index-by-index with [`IAQI_LEVELS`]. `None` when
/// the standard has no such column (e.g. PM2.5 1-h, O3 24-h). The SO2 1-h
/// column has 5 entries (up to IAQI 200) and the O3 8-h column 6 entries (up
/// to IAQI 300); see the module notes.
pub fn breakpoints(p: Pollutant, period: Period) -> Option<&'static [f64]> {
    match (p, period) {
        (Pollutant::So2, Period::Hour24) => Some(&SO2_24H),
        (Pollutant::So2, Period::Hour1) => Some(&SO2_1H),
        (Pollutant::No2, Period::Hour24) => Some(&NO2_24H),
        (Pollutant::No2, Period::Hour1) => Some(&NO2_1H),
        (Pollutant::Pm10, Period::Hour24) => Some(&PM10_24H),
        (Pollutant::Co, Period::Hour24) => Some(&CO_24H),
        (Pollutant::Co, Period::Hour1) => Some(&CO_1H),
        (Pollutant::O3, Period::Hour1) => Some(&O3_1H),
        (Pollutant::O3, Period::Hour8) => Some(&O3_8H),
        (Pollutant::Pm25, Period::Hour24) => Some(&PM25_24H),
        _ => None,
    }
}

/// Individual AQI (IAQI, 空气质量分指数) of one concentration.
///
/// `concentration` is in µg/m³ (CO: mg/m³) and averaged over `period`.
/// Returns the interpolated value rounded up (进位取整数), capped at 500
/// above the column's top breakpoint.
///
/// Returns `None` when the concentration is NaN, infinite or negative, when
/// Table 1 has no column for `(p, period)` (e.g. PM2.5 with [`Period::Hour1`]),
/// and for the two cases where the standard says not to use the column: SO2
/// 1-h above 800 µg/m³ (use the 24-h mean instead) and O3 8-h above 800 µg/m³
/// (use the 1-h mean instead).
pub fn iaqi(p: Pollutant, period: Period, concentration: f64) -> Option<u32> {
    let bps = breakpoints(p, period)?;
    if !concentration.is_finite() || concentration < 0.0 {
        return None;
    }
    let c = concentration;
    let top = bps[bps.len() - 1];
    if c > top {
        // Columns truncated by the standard's notes give no value above
        // their top; full columns cap at 500.
        return if bps.len() == IAQI_LEVELS.len() {
            Some(IAQI_MAX)
        } else {
            None
        };
    }
    for i in 0..bps.len() - 1 {
        let (bp_lo, bp_hi) = (bps[i], bps[i + 1]);
        if c <= bp_hi {
            let (i_lo, i_hi) = (IAQI_LEVELS[i], IAQI_LEVELS[i + 1]);
            let v = i_lo + (i_hi - i_lo) * (c - bp_lo) / (bp_hi - bp_lo);
            let r = (v - ROUNDING_EPSILON).ceil();
            let r = r.clamp(0.0, IAQI_MAX as f64);
            return Some(r as u32);
        }
    }
    // Unreachable: c <= top was checked above. Stay total anyway.
    Some(IAQI_MAX)
}

/// The six AQI levels (六级) of HJ 633-2012.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AqiLevel {
    /// Level 1 (一级), AQI 0–50, 优, green.
    Excellent,
    /// Level 2 (二级), AQI 51–100, 良, yellow.
    Good,
    /// Level 3 (三级), AQI 101–150, 轻度污染, orange.
    LightlyPolluted,
    /// Level 4 (四级), AQI 151–200, 中度污染, red.
    ModeratelyPolluted,
    /// Level 5 (五级), AQI 201–300, 重度污染, purple.
    HeavilyPolluted,
    /// Level 6 (六级), AQI above 300, 严重污染, maroon.
    SeverelyPolluted,
}

impl AqiLevel {
    /// All six levels, best first.
    pub const ALL: [AqiLevel; 6] = [
        AqiLevel::Excellent,
        AqiLevel::Good,
        AqiLevel::LightlyPolluted,
        AqiLevel::ModeratelyPolluted,
        AqiLevel::HeavilyPolluted,
        AqiLevel::SeverelyPolluted,
    ];

    /// Level of an (integer) AQI: 0–50, 51–100, 101–150, 151–200, 201–300,
    /// 301 and above.
    pub fn from_aqi(aqi: u32) -> AqiLevel {
        match aqi {
            0..=50 => AqiLevel::Excellent,
            51..=100 => AqiLevel::Good,
            101..=150 => AqiLevel::LightlyPolluted,
            151..=200 => AqiLevel::ModeratelyPolluted,
            201..=300 => AqiLevel::HeavilyPolluted,
            _ => AqiLevel::SeverelyPolluted,
        }
    }

    /// Chinese category name: 优, 良, 轻度污染, 中度污染, 重度污染, 严重污染.
    pub fn name_zh(self) -> &'static str {
        match self {
            AqiLevel::Excellent => "优",
            AqiLevel::Good => "良",
            AqiLevel::LightlyPolluted => "轻度污染",
            AqiLevel::ModeratelyPolluted => "中度污染",
            AqiLevel::HeavilyPolluted => "重度污染",
            AqiLevel::SeverelyPolluted => "严重污染",
        }
    }

    /// English category name (e.g. `"Lightly polluted"`).
    pub fn name_en(self) -> &'static str {
        match self {
            AqiLevel::Excellent => "Excellent",
            AqiLevel::Good => "Good",
            AqiLevel::LightlyPolluted => "Lightly polluted",
            AqiLevel::ModeratelyPolluted => "Moderately polluted",
            AqiLevel::HeavilyPolluted => "Heavily polluted",
            AqiLevel::SeverelyPolluted => "Severely polluted",
        }
    }

    /// Grade number, 1 (一级) to 6 (六级).
    pub fn grade(self) -> u8 {
        match self {
            AqiLevel::Excellent => 1,
            AqiLevel::Good => 2,
            AqiLevel::LightlyPolluted => 3,
            AqiLevel::ModeratelyPolluted => 4,
            AqiLevel::HeavilyPolluted => 5,
            AqiLevel::SeverelyPolluted => 6,
        }
    }

    /// Chinese grade name: 一级 … 六级.
    pub fn grade_zh(self) -> &'static str {
        match self {
            AqiLevel::Excellent => "一级",
            AqiLevel::Good => "二级",
            AqiLevel::LightlyPolluted => "三级",
            AqiLevel::ModeratelyPolluted => "四级",
            AqiLevel::HeavilyPolluted => "五级",
            AqiLevel::SeverelyPolluted => "六级",
        }
    }

    /// Display colour of Appendix A as `[r, g, b]`: green (0,228,0), yellow
    /// (255,255,0), orange (255,126,0), red (255,0,0), purple (153,0,76),
    /// maroon (126,0,35).
    pub fn rgb(self) -> [u8; 3] {
        match self {
            AqiLevel::Excellent => [0, 228, 0],
            AqiLevel::Good => [255, 255, 0],
            AqiLevel::LightlyPolluted => [255, 126, 0],
            AqiLevel::ModeratelyPolluted => [255, 0, 0],
            AqiLevel::HeavilyPolluted => [153, 0, 76],
            AqiLevel::SeverelyPolluted => [126, 0, 35],
        }
    }
}

/// Result of an AQI evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AqiReport {
    /// The AQI (max IAQI), `None` when no pollutant had a value.
    pub aqi: Option<u32>,
    /// Level of `aqi`, `None` when `aqi` is `None`.
    pub level: Option<AqiLevel>,
    /// IAQI of each pollutant that had a value, in [`Pollutant::ALL`] order.
    pub iaqi: Vec<(Pollutant, u32)>,
    /// Primary pollutant(s) (首要污染物): those whose IAQI equals the AQI,
    /// empty when the AQI is 50 or less.
    pub primary: Vec<Pollutant>,
    /// Exceeding pollutants (超标污染物): those whose IAQI is above 100.
    pub exceeding: Vec<Pollutant>,
    /// `true` when at least one mean used did not meet the data-coverage rule
    /// (see the module docs) and was computed from the data available.
    pub partial: bool,
}

impl AqiReport {
    /// IAQI of one pollutant, if it was rated.
    pub fn iaqi_of(&self, p: Pollutant) -> Option<u32> {
        self.iaqi.iter().find(|(q, _)| *q == p).map(|(_, v)| *v)
    }
}

/// Combines individual indices into an [`AqiReport`] (with `partial = false`).
///
/// AQI = max IAQI; primary pollutants are those at the max when AQI > 50;
/// exceeding pollutants are those with IAQI > 100. If a pollutant appears
/// more than once, its largest IAQI is kept. The report's `iaqi` list is
/// sorted in [`Pollutant::ALL`] order. An empty input gives `aqi: None`.
pub fn aqi_of(iaqis: &[(Pollutant, u32)]) -> AqiReport {
    let mut best: [Option<u32>; 6] = [None; 6];
    for &(p, v) in iaqis {
        let slot = &mut best[p.index()];
        *slot = Some(slot.map_or(v, |old| old.max(v)));
    }
    let iaqi: Vec<(Pollutant, u32)> = Pollutant::ALL
        .iter()
        .filter_map(|&p| best[p.index()].map(|v| (p, v)))
        .collect();
    let aqi = iaqi.iter().map(|&(_, v)| v).max();
    let primary = match aqi {
        Some(a) if a > 50 => iaqi
            .iter()
            .filter(|&&(_, v)| v == a)
            .map(|&(p, _)| p)
            .collect(),
        _ => Vec::new(),
    };
    let exceeding = iaqi
        .iter()
        .filter(|&&(_, v)| v > 100)
        .map(|&(p, _)| p)
        .collect();
    AqiReport {
        aqi,
        level: aqi.map(AqiLevel::from_aqi),
        iaqi,
        primary,
        exceeding,
        partial: false,
    }
}

/// Which particulate concentration the real-time report rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticulateBasis {
    /// PM10 / PM2.5 24-h moving means against the 24-h columns (default).
    #[default]
    Moving24h,
    /// PM10 / PM2.5 1-h means against the 24-h columns (Table 1 has no 1-h
    /// particulate column).
    Hourly,
}

/// Options of [`AirAverager::realtime_aqi_with`]. The default is what
/// [`AirAverager::realtime_aqi`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct RealtimeOptions {
    /// Also rate the O3 8-h moving mean (8-h column) and keep the larger O3
    /// IAQI. Default `false`: only the O3 1-h mean is rated.
    pub include_o3_8h: bool,
    /// Particulate concentration rated. Default [`ParticulateBasis::Moving24h`].
    pub particulate_basis: ParticulateBasis,
}

/// A windowed mean computed by [`AirAverager`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowMean {
    /// The mean concentration.
    pub value: f64,
    /// Slots of the window that held data (5-minute slots for a 1-h mean,
    /// hourly slots for 8-h and 24-h means).
    pub slots_with_data: u32,
    /// Slots in the window (12, 8 or 24).
    pub slots: u32,
    /// Whether `slots_with_data` meets the coverage rule (9 of 12, 6 of 8,
    /// 20 of 24).
    pub complete: bool,
}

const MINUTE_MS: i64 = 60_000;
const RETENTION_MINUTES: i64 = 1440;

#[derive(Debug, Clone, PartialEq)]
struct MinuteBucket {
    minute: i64,
    sum: [f64; 6],
    count: [u32; 6],
}

/// Per-monitor sample history and windowed means, with bounded memory.
///
/// Pure: no I/O and no clock; timestamps are epoch milliseconds passed by the
/// caller. Samples are folded into per-minute buckets (sum and count per
/// pollutant) kept in time order for 24 hours behind the newest sample seen,
/// so a monitor holds at most 1440 buckets however often it reports.
///
/// Windows end at `now_ms`: the trailing `N`-minute window holds the minutes
/// `m` with `now_minute − N < m ≤ now_minute`, where a minute is
/// `floor(ms / 60000)`. Samples later than `now_ms`'s minute are ignored by a
/// query. Samples older than 24 h behind the newest sample are dropped on
/// arrival; a sample with a wildly future timestamp therefore evicts the
/// history (call [`AirAverager::clear`] to recover).
///
/// Concentrations are µg/m³ (CO mg/m³). NaN, infinite and negative values are
/// ignored.
#[derive(Debug, Clone, Default)]
pub struct AirAverager {
    buckets: VecDeque<MinuteBucket>,
}

impl AirAverager {
    /// An empty averager.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one sample. Returns `false` (and records nothing) when the
    /// value is NaN, infinite or negative, or older than the 24 h kept.
    pub fn push(&mut self, p: Pollutant, ts_ms: i64, value: f64) -> bool {
        if !value.is_finite() || value < 0.0 {
            return false;
        }
        let minute = ts_ms.div_euclid(MINUTE_MS);
        if let Some(newest) = self.buckets.back().map(|b| b.minute) {
            if minute <= newest.saturating_sub(RETENTION_MINUTES) {
                return false;
            }
        }
        let k = p.index();
        let pos = match self.buckets.back() {
            Some(b) if b.minute == minute => Some(self.buckets.len() - 1),
            Some(b) if b.minute > minute => {
                match self.buckets.binary_search_by_key(&minute, |b| b.minute) {
                    Ok(i) => Some(i),
                    Err(i) => {
                        self.buckets.insert(i, MinuteBucket::new(minute));
                        Some(i)
                    }
                }
            }
            _ => None,
        };
        let idx = match pos {
            Some(i) => i,
            None => {
                self.buckets.push_back(MinuteBucket::new(minute));
                self.evict();
                self.buckets.len() - 1
            }
        };
        let b = &mut self.buckets[idx];
        b.sum[k] += value;
        b.count[k] = b.count[k].saturating_add(1);
        true
    }

    /// Forgets all samples.
    pub fn clear(&mut self) {
        self.buckets.clear();
    }

    /// Number of minute buckets held (at most 1440).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Start (epoch ms) of the newest minute holding a sample, if any.
    pub fn newest_minute_ms(&self) -> Option<i64> {
        self.buckets
            .back()
            .map(|b| b.minute.saturating_mul(MINUTE_MS))
    }

    /// Mean of `p` over the trailing `period` ending at `now_ms`, with its
    /// coverage. `None` when the window holds no sample of `p`.
    ///
    /// [`Period::Hour1`]: mean of all samples in the trailing 60 minutes.
    /// [`Period::Hour8`] and [`Period::Hour24`]: mean of the hourly means of
    /// the trailing 60-minute slots that hold data.
    pub fn mean(&self, p: Pollutant, period: Period, now_ms: i64) -> Option<WindowMean> {
        match period {
            Period::Hour1 => self.hour1_mean(p, now_ms),
            Period::Hour8 => {
                let slots = self.hourly_slot_means(p, now_ms, 8);
                mean_of_slots(&slots, 6)
            }
            Period::Hour24 => {
                let slots = self.hourly_slot_means(p, now_ms, 24);
                mean_of_slots(&slots, 20)
            }
        }
    }

    /// Real-time (hourly) AQI at `now_ms` with the default
    /// [`RealtimeOptions`]: SO2, NO2, CO and O3 1-h means on the 1-h columns
    /// (SO2 above 800 µg/m³ falls back to its 24-h moving mean on the 24-h
    /// column), PM10 and PM2.5 24-h moving means on the 24-h columns.
    pub fn realtime_aqi(&self, now_ms: i64) -> AqiReport {
        self.realtime_aqi_with(now_ms, RealtimeOptions::default())
    }

    /// Real-time (hourly) AQI at `now_ms` with explicit options.
    pub fn realtime_aqi_with(&self, now_ms: i64, opts: RealtimeOptions) -> AqiReport {
        let mut out: Vec<(Pollutant, u32)> = Vec::new();
        let mut partial = false;
        let mut rate = |p: Pollutant, period: Period, m: &WindowMean| -> Option<u32> {
            let v = iaqi(p, period, m.value)?;
            if !m.complete {
                partial = true;
            }
            Some(v)
        };

        // SO2 (note 1: 1-h above 800 → 24-h mean on the 24-h column).
        if let Some(h1) = self.mean(Pollutant::So2, Period::Hour1, now_ms) {
            let v = rate(Pollutant::So2, Period::Hour1, &h1).or_else(|| {
                self.mean(Pollutant::So2, Period::Hour24, now_ms)
                    .and_then(|d| rate(Pollutant::So2, Period::Hour24, &d))
            });
            if let Some(v) = v {
                out.push((Pollutant::So2, v));
            }
        }
        for p in [Pollutant::No2, Pollutant::Co] {
            if let Some(m) = self.mean(p, Period::Hour1, now_ms) {
                if let Some(v) = rate(p, Period::Hour1, &m) {
                    out.push((p, v));
                }
            }
        }
        // O3: 1-h, optionally 8-h (note 2: 8-h above 800 → 1-h only).
        let o3_1h = self
            .mean(Pollutant::O3, Period::Hour1, now_ms)
            .and_then(|m| rate(Pollutant::O3, Period::Hour1, &m));
        let o3_8h = if opts.include_o3_8h {
            self.mean(Pollutant::O3, Period::Hour8, now_ms)
                .and_then(|m| rate(Pollutant::O3, Period::Hour8, &m))
        } else {
            None
        };
        if let Some(v) = o3_1h.into_iter().chain(o3_8h).max() {
            out.push((Pollutant::O3, v));
        }
        let pm_period = match opts.particulate_basis {
            ParticulateBasis::Moving24h => Period::Hour24,
            ParticulateBasis::Hourly => Period::Hour1,
        };
        for p in [Pollutant::Pm10, Pollutant::Pm25] {
            if let Some(m) = self.mean(p, pm_period, now_ms) {
                if let Some(v) = rate(p, Period::Hour24, &m) {
                    out.push((p, v));
                }
            }
        }
        let mut report = aqi_of(&out);
        report.partial = partial;
        report
    }

    /// Daily AQI (日报) over the trailing 24 h ending at `now_ms`: SO2, NO2,
    /// PM10, CO and PM2.5 24-h means on the 24-h columns; O3 rated on both
    /// its daily maximum 1-h mean (max of the 24 trailing hourly means, 1-h
    /// column) and its daily maximum 8-h moving mean (max over the 17 8-h
    /// windows that fit in the 24 h, ending on each trailing hour, 8-h
    /// column), keeping the larger IAQI; an 8-h maximum above 800 µg/m³ is
    /// not rated (note 2).
    ///
    /// For a calendar-day report, pass the end of the day as `now_ms`.
    pub fn daily_aqi(&self, now_ms: i64) -> AqiReport {
        let mut out: Vec<(Pollutant, u32)> = Vec::new();
        let mut partial = false;
        for p in [
            Pollutant::So2,
            Pollutant::No2,
            Pollutant::Pm10,
            Pollutant::Co,
            Pollutant::Pm25,
        ] {
            if let Some(m) = self.mean(p, Period::Hour24, now_ms) {
                if let Some(v) = iaqi(p, Period::Hour24, m.value) {
                    partial |= !m.complete;
                    out.push((p, v));
                }
            }
        }

        let slots = self.hourly_slot_means(Pollutant::O3, now_ms, 24);
        let with_data = slots.iter().filter(|s| s.is_some()).count();
        if with_data > 0 {
            // Daily max 1-h.
            let max_1h = slots.iter().flatten().copied().fold(f64::MIN, f64::max);
            let i1 = iaqi(Pollutant::O3, Period::Hour1, max_1h);
            let complete_1h = with_data >= 20;
            // Daily max 8-h moving mean: windows over slots j..j+8, j = 0..=16.
            let mut best_valid: Option<f64> = None;
            let mut best_any: Option<f64> = None;
            let mut valid_windows = 0;
            for j in 0..=16 {
                if let Some(m) = mean_of_slots(&slots[j..j + 8], 6) {
                    best_any = Some(best_any.map_or(m.value, |b: f64| b.max(m.value)));
                    if m.complete {
                        valid_windows += 1;
                        best_valid = Some(best_valid.map_or(m.value, |b: f64| b.max(m.value)));
                    }
                }
            }
            let max_8h = best_valid.or(best_any);
            let i8 = max_8h.and_then(|c| iaqi(Pollutant::O3, Period::Hour8, c));
            if let Some(v) = i1.into_iter().chain(i8).max() {
                partial |= !complete_1h || valid_windows < 14;
                out.push((Pollutant::O3, v));
            }
        }

        let mut report = aqi_of(&out);
        report.partial = partial;
        report
    }

    /// Buckets in the trailing window of `minutes` ending at `now_ms`'s minute,
    /// with their age in minutes (0 = the current minute).
    fn window(&self, now_ms: i64, minutes: i64) -> impl Iterator<Item = (i64, &MinuteBucket)> {
        let now_min = now_ms.div_euclid(MINUTE_MS);
        let start = now_min.saturating_sub(minutes); // exclusive
        let first = self.buckets.partition_point(|b| b.minute <= start);
        self.buckets
            .range(first..)
            .take_while(move |b| b.minute <= now_min)
            .map(move |b| (now_min - b.minute, b))
    }

    fn hour1_mean(&self, p: Pollutant, now_ms: i64) -> Option<WindowMean> {
        let k = p.index();
        let mut sum = 0.0;
        let mut count: u64 = 0;
        let mut slots = [false; 12];
        for (age, b) in self.window(now_ms, 60) {
            if b.count[k] > 0 {
                sum += b.sum[k];
                count += u64::from(b.count[k]);
                slots[((age / 5) as usize).min(11)] = true;
            }
        }
        if count == 0 {
            return None;
        }
        let with_data = slots.iter().filter(|&&s| s).count() as u32;
        Some(WindowMean {
            value: sum / count as f64,
            slots_with_data: with_data,
            slots: 12,
            complete: with_data >= 9,
        })
    }

    /// Means of the trailing hourly slots (index 0 = the most recent hour).
    fn hourly_slot_means(&self, p: Pollutant, now_ms: i64, hours: usize) -> Vec<Option<f64>> {
        let k = p.index();
        let mut sums = vec![0.0f64; hours];
        let mut counts = vec![0u64; hours];
        for (age, b) in self.window(now_ms, 60 * hours as i64) {
            if b.count[k] > 0 {
                let s = ((age / 60) as usize).min(hours - 1);
                sums[s] += b.sum[k];
                counts[s] += u64::from(b.count[k]);
            }
        }
        sums.iter()
            .zip(&counts)
            .map(|(&s, &c)| if c > 0 { Some(s / c as f64) } else { None })
            .collect()
    }

    fn evict(&mut self) {
        if let Some(newest) = self.buckets.back().map(|b| b.minute) {
            let horizon = newest.saturating_sub(RETENTION_MINUTES);
            while self.buckets.front().is_some_and(|b| b.minute <= horizon) {
                self.buckets.pop_front();
            }
        }
    }
}

impl MinuteBucket {
    fn new(minute: i64) -> Self {
        MinuteBucket {
            minute,
            sum: [0.0; 6],
            count: [0; 6],
        }
    }
}

fn mean_of_slots(slots: &[Option<f64>], needed: u32) -> Option<WindowMean> {
    let vals: Vec<f64> = slots.iter().flatten().copied().collect();
    if vals.is_empty() {
        return None;
    }
    let n = vals.len() as u32;
    Some(WindowMean {
        value: vals.iter().sum::<f64>() / f64::from(n),
        slots_with_data: n,
        slots: slots.len() as u32,
        complete: n >= needed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const T0: i64 = 1_699_999_980_000; // an arbitrary epoch-ms origin, minute-aligned
    const _: () = assert!(T0 % MINUTE_MS == 0);

    // ---- IAQI worked examples (arithmetic from Table 1) ----

    #[test]
    fn pm25_examples() {
        // 35 is the 50 breakpoint exactly.
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 35.0), Some(50));
        // (100-50)/(75-35)*(36-35)+50 = 51.25 → 52
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 36.0), Some(52));
        // (150-100)/(115-75)*(80-75)+100 = 106.25 → 107
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 80.0), Some(107));
        // 75 → 100 exactly; 75.01 → 100.0125 → 101
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 75.0), Some(100));
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 75.01), Some(101));
        // (300-200)/(250-150)*(200-150)+200 = 250
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 200.0), Some(250));
        // Top: 500 → 500; above → capped at 500.
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 500.0), Some(500));
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 600.0), Some(500));
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 1e300), Some(500));
        // 0 → 0; a trace amount rounds up to 1: 50/35*0.1 = 0.14 → 1
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 0.0), Some(0));
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, 0.1), Some(1));
    }

    #[test]
    fn other_pollutant_examples() {
        // PM10 24h 200: (150-100)/(250-150)*(200-150)+100 = 125
        assert_eq!(iaqi(Pollutant::Pm10, Period::Hour24, 200.0), Some(125));
        // CO 1h 7.5 mg/m³: (100-50)/(10-5)*(7.5-5)+50 = 75
        assert_eq!(iaqi(Pollutant::Co, Period::Hour1, 7.5), Some(75));
        // CO 24h 3: (100-50)/(4-2)*(3-2)+50 = 75
        assert_eq!(iaqi(Pollutant::Co, Period::Hour24, 3.0), Some(75));
        // CO 24h 0.3: 50/2*0.3 = 7.5 → 8
        assert_eq!(iaqi(Pollutant::Co, Period::Hour24, 0.3), Some(8));
        // O3 1h 250: (150-100)/(300-200)*(250-200)+100 = 125
        assert_eq!(iaqi(Pollutant::O3, Period::Hour1, 250.0), Some(125));
        // O3 8h 130: (100-50)/(160-100)*(130-100)+50 = 75
        assert_eq!(iaqi(Pollutant::O3, Period::Hour8, 130.0), Some(75));
        // NO2 1h 150: (100-50)/(200-100)*(150-100)+50 = 75
        assert_eq!(iaqi(Pollutant::No2, Period::Hour1, 150.0), Some(75));
        // NO2 24h 300: (300-200)/(565-280)*(300-280)+200 = 207.02 → 208
        assert_eq!(iaqi(Pollutant::No2, Period::Hour24, 300.0), Some(208));
        // SO2 1h 600: (150-100)/(650-500)*(600-500)+100 = 133.33 → 134
        assert_eq!(iaqi(Pollutant::So2, Period::Hour1, 600.0), Some(134));
        // SO2 24h 100: (100-50)/(150-50)*(100-50)+50 = 75
        assert_eq!(iaqi(Pollutant::So2, Period::Hour24, 100.0), Some(75));
    }

    #[test]
    fn standard_notes_on_truncated_columns() {
        // SO2 1h: 800 → 200 is still on the column; above 800 → not computed.
        assert_eq!(iaqi(Pollutant::So2, Period::Hour1, 800.0), Some(200));
        assert_eq!(iaqi(Pollutant::So2, Period::Hour1, 900.0), None);
        // O3 8h: 800 → 300; above 800 → not computed (use the 1-h value).
        assert_eq!(iaqi(Pollutant::O3, Period::Hour8, 800.0), Some(300));
        assert_eq!(iaqi(Pollutant::O3, Period::Hour8, 801.0), None);
        // Full columns cap at 500.
        assert_eq!(iaqi(Pollutant::So2, Period::Hour24, 3000.0), Some(500));
        assert_eq!(iaqi(Pollutant::O3, Period::Hour1, 1300.0), Some(500));
    }

    #[test]
    fn every_breakpoint_maps_exactly_to_its_level() {
        for p in Pollutant::ALL {
            for period in [Period::Hour1, Period::Hour8, Period::Hour24] {
                if let Some(bps) = breakpoints(p, period) {
                    for (i, &c) in bps.iter().enumerate() {
                        assert_eq!(
                            iaqi(p, period, c),
                            Some(IAQI_LEVELS[i] as u32),
                            "{p:?} {period:?} {c}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn table_is_reproduced() {
        let t = |p, per| breakpoints(p, per).unwrap().to_vec();
        use Period::*;
        use Pollutant::*;
        assert_eq!(
            t(So2, Hour24),
            [0., 50., 150., 475., 800., 1600., 2100., 2620.]
        );
        assert_eq!(t(So2, Hour1), [0., 150., 500., 650., 800.]);
        assert_eq!(t(No2, Hour24), [0., 40., 80., 180., 280., 565., 750., 940.]);
        assert_eq!(
            t(No2, Hour1),
            [0., 100., 200., 700., 1200., 2340., 3090., 3840.]
        );
        assert_eq!(
            t(Pm10, Hour24),
            [0., 50., 150., 250., 350., 420., 500., 600.]
        );
        assert_eq!(t(Co, Hour24), [0., 2., 4., 14., 24., 36., 48., 60.]);
        assert_eq!(t(Co, Hour1), [0., 5., 10., 35., 60., 90., 120., 150.]);
        assert_eq!(
            t(O3, Hour1),
            [0., 160., 200., 300., 400., 800., 1000., 1200.]
        );
        assert_eq!(t(O3, Hour8), [0., 100., 160., 215., 265., 800.]);
        assert_eq!(
            t(Pm25, Hour24),
            [0., 35., 75., 115., 150., 250., 350., 500.]
        );
        for p in Pollutant::ALL {
            for per in [Hour1, Hour8, Hour24] {
                if let Some(b) = breakpoints(p, per) {
                    assert!(b.windows(2).all(|w| w[0] < w[1]));
                }
            }
        }
    }

    #[test]
    fn unsupported_and_bad_input() {
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour1, 10.0), None);
        assert_eq!(iaqi(Pollutant::Pm10, Period::Hour8, 10.0), None);
        assert_eq!(iaqi(Pollutant::O3, Period::Hour24, 10.0), None);
        assert_eq!(iaqi(Pollutant::So2, Period::Hour8, 10.0), None);
        for p in Pollutant::ALL {
            for per in [Period::Hour1, Period::Hour8, Period::Hour24] {
                for c in [
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    -1.0,
                    -1e-300,
                    f64::MIN,
                ] {
                    assert_eq!(iaqi(p, per, c), None);
                }
                // Never panics on odd finite values.
                for c in [-0.0, f64::MIN_POSITIVE, f64::MAX, 1e-320] {
                    let _ = iaqi(p, per, c);
                }
            }
        }
        assert_eq!(iaqi(Pollutant::Pm25, Period::Hour24, -0.0), Some(0));
    }

    #[test]
    fn iaqi_is_monotonic() {
        for p in Pollutant::ALL {
            for per in [Period::Hour1, Period::Hour8, Period::Hour24] {
                if breakpoints(p, per).is_none() {
                    continue;
                }
                let mut last = 0;
                let mut c = 0.0;
                while c < 4000.0 {
                    match iaqi(p, per, c) {
                        Some(v) => {
                            assert!(v >= last, "{p:?} {per:?} {c}");
                            assert!(v <= 500);
                            last = v;
                        }
                        None => break, // truncated column
                    }
                    c += 0.37;
                }
            }
        }
    }

    // ---- AQI, primary and exceeding pollutants ----

    #[test]
    fn aqi_is_max_and_primary() {
        let r = aqi_of(&[
            (Pollutant::Pm25, 107),
            (Pollutant::Pm10, 125),
            (Pollutant::No2, 75),
        ]);
        assert_eq!(r.aqi, Some(125));
        assert_eq!(r.level, Some(AqiLevel::LightlyPolluted));
        assert_eq!(r.primary, vec![Pollutant::Pm10]);
        assert_eq!(r.exceeding, vec![Pollutant::Pm10, Pollutant::Pm25]);
        // Sorted in Pollutant::ALL order.
        assert_eq!(
            r.iaqi,
            vec![
                (Pollutant::No2, 75),
                (Pollutant::Pm10, 125),
                (Pollutant::Pm25, 107)
            ]
        );
        assert!(!r.partial);
    }

    #[test]
    fn ties_and_no_primary_at_50() {
        let r = aqi_of(&[(Pollutant::O3, 80), (Pollutant::Pm25, 80)]);
        assert_eq!(r.primary, vec![Pollutant::O3, Pollutant::Pm25]);
        assert!(r.exceeding.is_empty());

        let r = aqi_of(&[(Pollutant::O3, 50), (Pollutant::Pm25, 20)]);
        assert_eq!(r.aqi, Some(50));
        assert!(r.primary.is_empty());

        let r = aqi_of(&[(Pollutant::O3, 51)]);
        assert_eq!(r.primary, vec![Pollutant::O3]);

        // Exactly 100 is not exceeding; 101 is.
        let r = aqi_of(&[(Pollutant::Co, 100), (Pollutant::So2, 101)]);
        assert_eq!(r.exceeding, vec![Pollutant::So2]);

        // Duplicates keep the largest.
        let r = aqi_of(&[(Pollutant::O3, 60), (Pollutant::O3, 90)]);
        assert_eq!(r.iaqi, vec![(Pollutant::O3, 90)]);

        let r = aqi_of(&[]);
        assert_eq!(r.aqi, None);
        assert_eq!(r.level, None);
        assert!(r.primary.is_empty());
    }

    #[test]
    fn level_boundaries() {
        use AqiLevel::*;
        let cases = [
            (0, Excellent),
            (50, Excellent),
            (51, Good),
            (100, Good),
            (101, LightlyPolluted),
            (150, LightlyPolluted),
            (151, ModeratelyPolluted),
            (200, ModeratelyPolluted),
            (201, HeavilyPolluted),
            (300, HeavilyPolluted),
            (301, SeverelyPolluted),
            (500, SeverelyPolluted),
            (u32::MAX, SeverelyPolluted),
        ];
        for (aqi, lvl) in cases {
            assert_eq!(AqiLevel::from_aqi(aqi), lvl, "{aqi}");
        }
        let grades: Vec<u8> = AqiLevel::ALL.iter().map(|l| l.grade()).collect();
        assert_eq!(grades, [1, 2, 3, 4, 5, 6]);
        assert_eq!(LightlyPolluted.name_zh(), "轻度污染");
        assert_eq!(SeverelyPolluted.rgb(), [126, 0, 35]);
        assert_eq!(HeavilyPolluted.rgb(), [153, 0, 76]);
        assert!(Excellent < SeverelyPolluted);
    }

    #[test]
    fn codes() {
        for p in Pollutant::ALL {
            assert_eq!(Pollutant::from_code(p.code()), Some(p));
        }
        assert_eq!(Pollutant::from_code("PM2.5"), Some(Pollutant::Pm25));
        assert_eq!(Pollutant::from_code("nox"), None);
        assert_eq!(Pollutant::Co.unit(), "mg/m³");
    }

    // ---- AirAverager ----

    #[test]
    fn bounded_buckets_and_hourly_mean() {
        let mut a = AirAverager::new();
        let step = 10_000; // every 10 s
        let n = 30 * 360; // 30 h
        let mut samples = Vec::new();
        for i in 0..n {
            let ts = T0 + i * step;
            let v = (i % 7) as f64 * 3.0 + 10.0;
            assert!(a.push(Pollutant::Pm25, ts, v));
            samples.push((ts, v));
            assert!(a.bucket_count() <= 1440);
        }
        assert_eq!(a.bucket_count(), 1440);
        let now = T0 + (n - 1) * step;
        // Expected: all samples whose minute lies in (now_min-60, now_min].
        let now_min = now.div_euclid(60_000);
        let in_hour: Vec<f64> = samples
            .iter()
            .filter(|(t, _)| {
                let m = t.div_euclid(60_000);
                m > now_min - 60 && m <= now_min
            })
            .map(|&(_, v)| v)
            .collect();
        assert_eq!(in_hour.len(), 360);
        let expected = in_hour.iter().sum::<f64>() / in_hour.len() as f64;
        let m = a.mean(Pollutant::Pm25, Period::Hour1, now).unwrap();
        assert!(
            (m.value - expected).abs() < 1e-9,
            "{} vs {expected}",
            m.value
        );
        assert!(m.complete);
        assert_eq!(m.slots_with_data, 12);
        // 24-h mean: uniform data → close to the overall mean (10 + 3*3 = 19).
        let d = a.mean(Pollutant::Pm25, Period::Hour24, now).unwrap();
        assert!(d.complete);
        assert!((d.value - 19.0).abs() < 0.01, "{}", d.value);
    }

    #[test]
    fn o3_eight_hour_moving_mean() {
        let mut a = AirAverager::new();
        let now = T0 + 10 * H;
        let now_min = now / 60_000;
        // 10 h of O3 every 30 s; the value depends on the trailing hour slot
        // k = (now_min - minute) / 60: 100 + 10k.
        let mut ts = T0 + 30_000;
        while ts <= now {
            let k = (now_min - ts / 60_000) / 60;
            a.push(Pollutant::O3, ts, 100.0 + 10.0 * k as f64);
            ts += 30_000;
        }
        // Slots 0..8 → 100, 110, …, 170 → mean 135.
        let m = a.mean(Pollutant::O3, Period::Hour8, now).unwrap();
        assert!((m.value - 135.0).abs() < 1e-9, "{}", m.value);
        assert!(m.complete);
        assert_eq!(m.slots_with_data, 8);
        // 1-h mean is slot 0 → 100.
        let h = a.mean(Pollutant::O3, Period::Hour1, now).unwrap();
        assert!((h.value - 100.0).abs() < 1e-9);
        // Real-time O3 IAQI (1-h 100): 50/160*100 = 31.25 → 32.
        let r = a.realtime_aqi(now);
        assert_eq!(r.iaqi_of(Pollutant::O3), Some(32));
        // With the 8-h mean: 8-h 135 → (100-50)/(160-100)*(135-100)+50 = 79.17 → 80.
        let r = a.realtime_aqi_with(
            now,
            RealtimeOptions {
                include_o3_8h: true,
                ..Default::default()
            },
        );
        assert_eq!(r.iaqi_of(Pollutant::O3), Some(80));
        assert_eq!(r.primary, vec![Pollutant::O3]);
    }

    #[test]
    fn eight_hour_mean_weights_hours_equally() {
        let mut a = AirAverager::new();
        // `now` is the last minute of hour slot 0.
        let now = T0 + 2 * H - 60_000;
        // Slot 1 (older hour): one sample of 200.
        a.push(Pollutant::O3, T0 + 30 * 60_000, 200.0);
        // Slot 0: 360 samples of 100.
        for i in 0..360 {
            a.push(Pollutant::O3, T0 + H + i * 10_000, 100.0);
        }
        let m = a.mean(Pollutant::O3, Period::Hour8, now).unwrap();
        assert!((m.value - 150.0).abs() < 1e-9, "{}", m.value);
        assert!(!m.complete);
        assert_eq!(m.slots_with_data, 2);
    }

    #[test]
    fn nan_and_bad_samples_are_ignored() {
        let mut a = AirAverager::new();
        assert!(a.push(Pollutant::No2, T0, 100.0));
        assert!(!a.push(Pollutant::No2, T0 + 1000, f64::NAN));
        assert!(!a.push(Pollutant::No2, T0 + 2000, f64::INFINITY));
        assert!(!a.push(Pollutant::No2, T0 + 3000, -5.0));
        assert!(!a.push(Pollutant::No2, T0 + 120_000, f64::NAN));
        assert_eq!(a.bucket_count(), 1);
        let m = a.mean(Pollutant::No2, Period::Hour1, T0 + 5000).unwrap();
        assert_eq!(m.value, 100.0);
        // Too old relative to the newest sample.
        assert!(!a.push(Pollutant::No2, T0 - 25 * H, 1.0));
        // Extreme timestamps do not panic.
        let mut b = AirAverager::new();
        b.push(Pollutant::Co, i64::MIN, 1.0);
        b.push(Pollutant::Co, i64::MAX, 1.0);
        let _ = b.realtime_aqi(i64::MIN);
        let _ = b.realtime_aqi(i64::MAX);
        let _ = b.daily_aqi(i64::MAX);
        let _ = b.daily_aqi(0);
    }

    #[test]
    fn out_of_order_samples() {
        let mut a = AirAverager::new();
        a.push(Pollutant::Co, T0 + 10 * 60_000, 2.0);
        a.push(Pollutant::Co, T0, 4.0);
        a.push(Pollutant::Co, T0 + 5 * 60_000, 6.0);
        a.push(Pollutant::Co, T0 + 5 * 60_000 + 1, 6.0);
        assert_eq!(a.bucket_count(), 3);
        let m = a
            .mean(Pollutant::Co, Period::Hour1, T0 + 10 * 60_000)
            .unwrap();
        assert!((m.value - 4.5).abs() < 1e-12);
        // A query "in the past" ignores later samples.
        let m = a
            .mean(Pollutant::Co, Period::Hour1, T0 + 5 * 60_000)
            .unwrap();
        assert!((m.value - 16.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn realtime_report_full_day() {
        let mut a = AirAverager::new();
        let step = 60_000;
        let n = 24 * 60;
        for i in 0..n {
            let ts = T0 + i * step;
            a.push(Pollutant::Pm25, ts, 80.0);
            a.push(Pollutant::Pm10, ts, 200.0);
            a.push(Pollutant::No2, ts, 150.0);
            a.push(Pollutant::Co, ts, 7.5);
            a.push(Pollutant::So2, ts, 10.0);
        }
        let now = T0 + (n - 1) * step;
        let r = a.realtime_aqi(now);
        // PM2.5 107, PM10 125, NO2 75, CO 75, SO2 1h 10: 50/150*10 = 3.33 → 4.
        assert_eq!(r.iaqi_of(Pollutant::Pm25), Some(107));
        assert_eq!(r.iaqi_of(Pollutant::Pm10), Some(125));
        assert_eq!(r.iaqi_of(Pollutant::No2), Some(75));
        assert_eq!(r.iaqi_of(Pollutant::Co), Some(75));
        assert_eq!(r.iaqi_of(Pollutant::So2), Some(4));
        assert_eq!(r.iaqi_of(Pollutant::O3), None);
        assert_eq!(r.aqi, Some(125));
        assert_eq!(r.level, Some(AqiLevel::LightlyPolluted));
        assert_eq!(r.primary, vec![Pollutant::Pm10]);
        assert_eq!(r.exceeding, vec![Pollutant::Pm10, Pollutant::Pm25]);
        assert!(!r.partial);

        // Daily report: CO 24h 7.5: (150-100)/(14-4)*(7.5-4)+100 = 117.5 → 118;
        // NO2 24h 150: (150-100)/(180-80)*(150-80)+100 = 135;
        // SO2 24h 10: 50/50*10 = 10.
        let d = a.daily_aqi(now);
        assert_eq!(d.iaqi_of(Pollutant::Co), Some(118));
        assert_eq!(d.iaqi_of(Pollutant::No2), Some(135));
        assert_eq!(d.iaqi_of(Pollutant::So2), Some(10));
        assert_eq!(d.aqi, Some(135));
        assert_eq!(d.primary, vec![Pollutant::No2]);
        assert!(!d.partial);
    }

    #[test]
    fn realtime_partial_with_little_pm_data() {
        let mut a = AirAverager::new();
        for i in 0..180 {
            a.push(Pollutant::Pm25, T0 + i * 10_000, 36.0); // 30 min
        }
        let now = T0 + 30 * 60_000;
        let r = a.realtime_aqi(now);
        assert_eq!(r.aqi, Some(52));
        assert_eq!(r.level, Some(AqiLevel::Good));
        assert_eq!(r.primary, vec![Pollutant::Pm25]);
        assert!(r.partial);
        // Hourly basis: 30 minutes cover 6 of the 12 five-minute slots → partial too.
        let r = a.realtime_aqi_with(
            now,
            RealtimeOptions {
                particulate_basis: ParticulateBasis::Hourly,
                ..Default::default()
            },
        );
        assert_eq!(r.aqi, Some(52));
        assert!(r.partial);
        // Empty averager → no AQI.
        let r = AirAverager::new().realtime_aqi(now);
        assert_eq!(r.aqi, None);
        assert!(r.iaqi.is_empty());
        assert!(!r.partial);
    }

    #[test]
    fn realtime_so2_above_800_uses_24h_mean() {
        let mut a = AirAverager::new();
        for i in 0..(24 * 60) {
            a.push(Pollutant::So2, T0 + i * 60_000, 900.0);
        }
        let now = T0 + (24 * 60 - 1) * 60_000;
        // 1-h 900 is off the 1-h column; 24-h 900:
        // (300-200)/(1600-800)*(900-800)+200 = 212.5 → 213.
        let r = a.realtime_aqi(now);
        assert_eq!(r.iaqi_of(Pollutant::So2), Some(213));
        assert_eq!(r.level, Some(AqiLevel::HeavilyPolluted));
        assert!(!r.partial);
    }

    #[test]
    fn daily_o3_uses_max_of_1h_and_8h() {
        let mut a = AirAverager::new();
        let now = T0 + 24 * H - 60_000;
        let now_min = now / 60_000;
        // O3 is 60 all day except one hour slot (k = 12) at 300.
        for i in 0..(24 * 60) {
            let ts = T0 + i * 60_000;
            let k = (now_min - ts / 60_000) / 60;
            a.push(Pollutant::O3, ts, if k == 12 { 300.0 } else { 60.0 });
        }
        let d = a.daily_aqi(now);
        // Max 1-h = 300 → 150 on the 1-h column.
        // Max 8-h = (7*60 + 300)/8 = 90 → 50/100*90 = 45.
        assert_eq!(d.iaqi_of(Pollutant::O3), Some(150));
        assert_eq!(d.aqi, Some(150));
        assert!(!d.partial);

        // An 8-h maximum above 800 is not rated; the 1-h IAQI stands.
        let mut b = AirAverager::new();
        for i in 0..(24 * 60) {
            b.push(Pollutant::O3, T0 + i * 60_000, 900.0);
        }
        // 1-h 900: (400-300)/(1000-800)*(900-800)+300 = 350.
        let d = b.daily_aqi(now);
        assert_eq!(d.iaqi_of(Pollutant::O3), Some(350));
        assert_eq!(d.level, Some(AqiLevel::SeverelyPolluted));
    }
}
