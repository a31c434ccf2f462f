//! Device readings on the wire and their decoding.
//!
//! [`decode`] turns the bytes of one MQTT message into a typed [`Reading`] or a [`DecodeError`]
//! whose [`DecodeError::reason`] is a stable code for metrics and dead letters. It never panics,
//! whatever the bytes (property-tested). Decoding checks shape, types and physical ranges
//! (which catch wrong units, e.g. CO in µg/m³); whether the device exists and may send this
//! shape is the gateway's check.
//!
//! Payloads (`ts`: RFC 3339 with offset or epoch ms; `seq`: optional per-device counter):
//! - footfall line: `{"ts":…,"seq":812,"in":12,"out":9}`; area: `{"ts":…,"count":57}`
//! - parking bay: `{"ts":…,"occupied":true}`; entrance: `{"ts":…,"entries":3,"exits":1}`
//! - air: `{"ts":…,"pm25":35.2,"pm10":61,"no2":28,"so2":6,"o3":80,"co":0.6,"co2":650,"temp":22.1,"rh":55}`
//! - energy: `{"ts":…,"kwh":123456.7,"kw":42.1,"v":229.8,"pf":0.95}`
//! - fire: `{"ts":…,"state":"alarm"}` (alarm | fault | normal | test)

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::time;
use crate::model::DeviceKind;

/// The largest reading the gateway accepts, in bytes (readings are well under 1 KiB).
pub const MAX_READING_BYTES: usize = 4096;

/// Largest count accepted in one report of a people or vehicle counter.
pub const MAX_COUNT: u32 = 100_000;

/// A decoded reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Device event time, epoch milliseconds.
    pub ts_ms: i64,
    /// Per-device sequence number, if the device sends one.
    pub seq: Option<u64>,
    /// What was measured.
    pub value: Measurement,
}

/// What a reading measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Measurement {
    /// People crossing a line since the previous report.
    Line {
        /// Crossings in the `in` direction.
        ins: u32,
        /// Crossings in the `out` direction.
        outs: u32,
    },
    /// People in an area now.
    Area {
        /// Count.
        count: u32,
    },
    /// A bay's occupancy.
    Bay {
        /// Occupied or free.
        occupied: bool,
    },
    /// Vehicles through a lot's entrance since the previous report.
    Entrance {
        /// Entries.
        entries: u32,
        /// Exits.
        exits: u32,
    },
    /// Air sample.
    Air(AirSample),
    /// Energy meter sample.
    Energy(EnergySample),
    /// Fire / smoke detector state.
    Fire {
        /// State.
        state: FireState,
    },
}

impl Measurement {
    /// A short name of the shape, for messages (`line`, `area`, `bay`, ...).
    pub fn shape(&self) -> &'static str {
        match self {
            Measurement::Line { .. } => "line",
            Measurement::Area { .. } => "area",
            Measurement::Bay { .. } => "bay",
            Measurement::Entrance { .. } => "entrance",
            Measurement::Air(_) => "air",
            Measurement::Energy(_) => "energy",
            Measurement::Fire { .. } => "fire",
        }
    }
}

/// An air sample; every pollutant is optional (µg/m³; CO mg/m³; CO2 ppm; °C; %RH).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AirSample {
    /// PM2.5, µg/m³.
    pub pm25: Option<f64>,
    /// PM10, µg/m³.
    pub pm10: Option<f64>,
    /// NO2, µg/m³.
    pub no2: Option<f64>,
    /// SO2, µg/m³.
    pub so2: Option<f64>,
    /// O3, µg/m³.
    pub o3: Option<f64>,
    /// CO, mg/m³.
    pub co: Option<f64>,
    /// CO2, ppm.
    pub co2: Option<f64>,
    /// Temperature, °C.
    pub temp: Option<f64>,
    /// Relative humidity, %.
    pub rh: Option<f64>,
}

/// An energy meter sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnergySample {
    /// Cumulative energy, kWh (as meters report; may roll over or reset).
    pub kwh: f64,
    /// Active power now, kW (negative when exporting).
    pub kw: Option<f64>,
    /// Voltage, V.
    pub v: Option<f64>,
    /// Power factor.
    pub pf: Option<f64>,
}

/// State of a fire / smoke detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FireState {
    /// Smoke or fire detected.
    Alarm,
    /// Detector fault.
    Fault,
    /// All clear.
    Normal,
    /// Under test by maintenance.
    Test,
}

/// Why a payload was refused. [`DecodeError::reason`] gives the stable code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Larger than [`MAX_READING_BYTES`].
    #[error("payload of {0} bytes exceeds the {MAX_READING_BYTES}-byte reading limit")]
    Oversized(usize),
    /// Not JSON, not an object, a duplicate key, or a value of the wrong type.
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// A required field is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// Fields of two shapes, or none of the kind's shapes.
    #[error("{0}")]
    Shape(String),
    /// A value outside its physical range (often a wrong unit).
    #[error("{0}")]
    OutOfRange(String),
    /// A timestamp that is not RFC 3339 with offset or epoch ms.
    #[error("{0}")]
    BadTimestamp(#[from] time::TimeError),
}

impl DecodeError {
    /// Stable reason code: `oversized`, `malformed`, `missing_field`, `bad_shape`,
    /// `out_of_range`, `bad_timestamp`.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Oversized(_) => "oversized",
            DecodeError::Malformed(_) => "malformed",
            DecodeError::Missing(_) => "missing_field",
            DecodeError::Shape(_) => "bad_shape",
            DecodeError::OutOfRange(_) => "out_of_range",
            DecodeError::BadTimestamp(_) => "bad_timestamp",
        }
    }
}

/// A JSON number kept as given, so ranges and integer-ness are checked with clear messages.
#[derive(Debug, Clone, Copy)]
struct Num(f64, bool);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64, true))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64, true))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v, v.fract() == 0.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// `ts` as given: text or number.
#[derive(Debug, Clone)]
enum Ts {
    Text(String),
    Millis(Num),
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Ts;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an RFC 3339 string or epoch milliseconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ts, E> {
                Ok(Ts::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ts, E> {
                Ok(Ts::Millis(Num(v as f64, true)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ts, E> {
                Ok(Ts::Millis(Num(v as f64, true)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ts, E> {
                Ok(Ts::Millis(Num(v, v.fract() == 0.0)))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every field any reading may carry; unknown extra fields are ignored.
#[derive(Deserialize)]
struct Wire {
    ts: Option<Ts>,
    seq: Option<Num>,
    #[serde(rename = "in")]
    ins: Option<Num>,
    #[serde(rename = "out")]
    outs: Option<Num>,
    count: Option<Num>,
    occupied: Option<bool>,
    entries: Option<Num>,
    exits: Option<Num>,
    pm25: Option<Num>,
    pm10: Option<Num>,
    no2: Option<Num>,
    so2: Option<Num>,
    o3: Option<Num>,
    co: Option<Num>,
    co2: Option<Num>,
    temp: Option<Num>,
    rh: Option<Num>,
    kwh: Option<Num>,
    kw: Option<Num>,
    v: Option<Num>,
    pf: Option<Num>,
    state: Option<FireState>,
}

/// Decodes one reading of a device of `kind`.
pub fn decode(kind: DeviceKind, payload: &[u8]) -> Result<Reading, DecodeError> {
    if payload.len() > MAX_READING_BYTES {
        return Err(DecodeError::Oversized(payload.len()));
    }
    let w: Wire =
        serde_json::from_slice(payload).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let ts_ms = match w.ts.as_ref().ok_or(DecodeError::Missing("ts"))? {
        Ts::Text(s) => time::parse_text(s)?,
        Ts::Millis(n) => {
            if !n.1 || n.0.abs() > 9.0e15 {
                return Err(time::TimeError::BadNumber(n.0.to_string()).into());
            }
            time::check_millis(n.0 as i64)?
        }
    };
    let seq = match w.seq {
        None => None,
        Some(n) => Some(int("seq", n, 0.0, 9.0e15)? as u64),
    };
    let value = match kind {
        DeviceKind::Footfall => footfall(&w)?,
        DeviceKind::Parking => parking(&w)?,
        DeviceKind::Air => Measurement::Air(air(&w)?),
        DeviceKind::Energy => Measurement::Energy(energy(&w)?),
        DeviceKind::Fire => Measurement::Fire {
            state: w.state.ok_or(DecodeError::Missing("state"))?,
        },
    };
    Ok(Reading { ts_ms, seq, value })
}

/// A fire detector's `alarm` whose time is missing or unreadable, taken at `at_ms` (the
/// gateway's arrival time): an alarm is never refused for its clock. `None` when the payload
/// is not a JSON object saying `"state":"alarm"` (with a valid `seq`, if any).
pub fn decode_fire_alarm_at(payload: &[u8], at_ms: i64) -> Option<Reading> {
    if payload.len() > MAX_READING_BYTES {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let state: FireState = serde_json::from_value(v.get("state")?.clone()).ok()?;
    if state != FireState::Alarm {
        return None;
    }
    let seq = match v.get("seq") {
        None | Some(serde_json::Value::Null) => None,
        Some(n) => Some(n.as_u64().filter(|&n| n as f64 <= 9.0e15)?),
    };
    Some(Reading {
        ts_ms: at_ms,
        seq,
        value: Measurement::Fire { state },
    })
}

fn footfall(w: &Wire) -> Result<Measurement, DecodeError> {
    match (w.ins.or(w.outs), w.count) {
        (Some(_), Some(_)) => Err(DecodeError::Shape(
            "both line counts (in/out) and an area count; send one".into(),
        )),
        (Some(_), None) => Ok(Measurement::Line {
            ins: count("in", w.ins.ok_or(DecodeError::Missing("in"))?)?,
            outs: count("out", w.outs.ok_or(DecodeError::Missing("out"))?)?,
        }),
        (None, Some(c)) => Ok(Measurement::Area {
            count: count("count", c)?,
        }),
        (None, None) => Err(DecodeError::Shape(
            "a footfall reading needs `in` and `out`, or `count`".into(),
        )),
    }
}

fn parking(w: &Wire) -> Result<Measurement, DecodeError> {
    match (w.occupied, w.entries.or(w.exits)) {
        (Some(_), Some(_)) => Err(DecodeError::Shape(
            "both a bay state and entrance counts; send one".into(),
        )),
        (Some(occupied), None) => Ok(Measurement::Bay { occupied }),
        (None, Some(_)) => Ok(Measurement::Entrance {
            entries: count("entries", w.entries.ok_or(DecodeError::Missing("entries"))?)?,
            exits: count("exits", w.exits.ok_or(DecodeError::Missing("exits"))?)?,
        }),
        (None, None) => Err(DecodeError::Shape(
            "a parking reading needs `occupied`, or `entries` and `exits`".into(),
        )),
    }
}

fn air(w: &Wire) -> Result<AirSample, DecodeError> {
    let s = AirSample {
        pm25: range("pm25", w.pm25, 0.0, 1000.0, "µg/m³")?,
        pm10: range("pm10", w.pm10, 0.0, 2000.0, "µg/m³")?,
        no2: range("no2", w.no2, 0.0, 4000.0, "µg/m³")?,
        so2: range("so2", w.so2, 0.0, 3000.0, "µg/m³")?,
        o3: range("o3", w.o3, 0.0, 1200.0, "µg/m³")?,
        co: range("co", w.co, 0.0, 150.0, "mg/m³ (not µg/m³)")?,
        co2: range("co2", w.co2, 250.0, 10_000.0, "ppm")?,
        temp: range("temp", w.temp, -50.0, 70.0, "°C")?,
        rh: range("rh", w.rh, 0.0, 100.0, "%RH")?,
    };
    if s == AirSample::default() {
        return Err(DecodeError::Shape(
            "an air reading needs at least one of pm25, pm10, no2, so2, o3, co, co2, temp, rh"
                .into(),
        ));
    }
    Ok(s)
}

fn energy(w: &Wire) -> Result<EnergySample, DecodeError> {
    Ok(EnergySample {
        kwh: range("kwh", w.kwh, 0.0, 1.0e10, "kWh")?.ok_or(DecodeError::Missing("kwh"))?,
        kw: range("kw", w.kw, -10_000.0, 100_000.0, "kW (not W)")?,
        v: range("v", w.v, 0.0, 1000.0, "V")?,
        pf: range("pf", w.pf, -1.0, 1.0, "")?,
    })
}

fn range(
    key: &str,
    v: Option<Num>,
    lo: f64,
    hi: f64,
    unit: &str,
) -> Result<Option<f64>, DecodeError> {
    match v {
        None => Ok(None),
        Some(Num(x, _)) if x.is_finite() && x >= lo && x <= hi => Ok(Some(x)),
        Some(Num(x, _)) => Err(DecodeError::OutOfRange(
            format!("{key} = {x} is outside {lo}..={hi} {unit}")
                .trim_end()
                .to_string(),
        )),
    }
}

fn int(key: &str, n: Num, lo: f64, hi: f64) -> Result<f64, DecodeError> {
    if !n.1 {
        return Err(DecodeError::OutOfRange(format!(
            "{key} = {} must be a whole number",
            n.0
        )));
    }
    if !(n.0 >= lo && n.0 <= hi) {
        return Err(DecodeError::OutOfRange(format!(
            "{key} = {} is outside {lo}..={hi}",
            n.0
        )));
    }
    Ok(n.0)
}

fn count(key: &str, n: Num) -> Result<u32, DecodeError> {
    int(key, n, 0.0, MAX_COUNT as f64).map(|x| x as u32)
}

#[cfg(test)]
mod tests;
