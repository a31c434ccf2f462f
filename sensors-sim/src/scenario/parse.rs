//! Parsing and checking scenario files, reporting every problem with its line.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use district::District;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::Spanned;

use super::{At, Event, EventKind, Scenario};
use crate::malformed::Variety;
use crate::people::SurgeSize;

/// Why a scenario file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not TOML, or not a list of `[[events]]`.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message (with line and column).
        message: String,
    },
    /// Events that do not fit the format or the district, one line each.
    #[error("{path}: {} problem(s):\n  {}", problems.len(), problems.join("\n  "))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// `line N: events[i] (kind): what is wrong`.
        problems: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    events: Vec<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FireSpec {
    building: String,
    detectors: Option<u32>,
    clear_after: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SurgeSpec {
    zone: String,
    people: Option<u32>,
    density: Option<f64>,
    ramp: Option<String>,
    hold: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PollutionSpec {
    peak_pm25: f64,
    duration: String,
    zone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceSpec {
    device: Option<String>,
    zone: Option<String>,
    duration: String,
    lose_counts: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StuckSpec {
    device: String,
    duration: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MalformedSpec {
    count: Option<u32>,
    varieties: Option<Vec<String>>,
}

const KINDS: &str = "fire, crowd_surge, pollution, silence, stuck, malformed";

/// Parses and checks a scenario against `d`.
pub(super) fn parse(path: &Path, text: &str, d: &District) -> Result<Scenario, ScenarioError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut problems = Vec::new();
    let mut events = Vec::new();
    for (i, entry) in raw.events.into_iter().enumerate() {
        let line = text[..entry.span().start.min(text.len())]
            .matches('\n')
            .count()
            + 1;
        let mut cx = Cx {
            d,
            problems: Vec::new(),
        };
        if let Some(e) = event(&mut cx, entry.into_inner(), line) {
            events.push(e);
        }
        problems.extend(
            cx.problems
                .into_iter()
                .map(|p| format!("line {line}: events[{i}] {p}")),
        );
    }
    if problems.is_empty() {
        Ok(Scenario { events })
    } else {
        Err(ScenarioError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }
}

struct Cx<'a> {
    d: &'a District,
    problems: Vec<String>,
}

impl Cx<'_> {
    fn fail<T>(&mut self, msg: String) -> Option<T> {
        self.problems.push(msg);
        None
    }

    fn duration(&mut self, key: &str, v: &str) -> Option<i64> {
        match humantime::parse_duration(v) {
            Ok(d) => Some(d.as_millis() as i64),
            Err(e) => self.fail(format!("{key} = \"{v}\": {e} (write a duration with a unit, e.g. \"90s\", \"15min\", \"2h\")")),
        }
    }

    fn zone(&mut self, id: &str) -> Option<usize> {
        let known = || list(self.d.zones.iter().map(|z| z.id.as_str()));
        match self.d.zone_idx(id) {
            Some(z) => Some(z),
            None => {
                let msg = format!(
                    "zone \"{id}\" is not in district \"{}\" (zones: {})",
                    self.d.id,
                    known()
                );
                self.fail(msg)
            }
        }
    }

    fn device(&mut self, id: &str) -> Option<usize> {
        match self.d.device_idx(id) {
            Some(i) => Some(i),
            None => {
                let msg = format!("device \"{id}\" is not in district \"{}\" ({} devices; ids as in the district file, without --scale suffixes)", self.d.id, self.d.devices.len());
                self.fail(msg)
            }
        }
    }
}

/// At most eight ids, then a count.
fn list<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> String {
    let n = ids.len();
    let shown: Vec<&str> = ids.take(8).collect();
    if n > shown.len() {
        format!("{}, … {n} in all", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn event(cx: &mut Cx<'_>, value: toml::Value, line: usize) -> Option<Event> {
    let toml::Value::Table(mut table) = value else {
        return cx.fail("is not a table".into());
    };
    let kind = match table.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(other) => return cx.fail(format!("kind = {other} is not a string (one of {KINDS})")),
        None => return cx.fail(format!("has no `kind` (one of {KINDS})")),
    };
    let at = match table.remove("at") {
        Some(toml::Value::String(s)) => at(cx, &kind, &s),
        Some(toml::Value::Datetime(dt)) => at(cx, &kind, &dt.to_string()),
        Some(other) => cx.fail(format!("({kind}): at = {other} is not a time")),
        None => cx.fail(format!("({kind}): has no `at` (RFC 3339 with offset, or an offset from the start like \"+30min\")")),
    };
    let district = match table.remove("district") {
        Some(toml::Value::String(s)) => Some(s),
        Some(other) => return cx.fail(format!("({kind}): district = {other} is not a string")),
        None => None,
    };
    let mut sub = Cx {
        d: cx.d,
        problems: Vec::new(),
    };
    let what = match kind.as_str() {
        "fire" => spec(&mut sub, table).and_then(|s| fire(&mut sub, s)),
        "crowd_surge" => spec(&mut sub, table).and_then(|s| surge(&mut sub, s)),
        "pollution" => spec(&mut sub, table).and_then(|s| pollution(&mut sub, s)),
        "silence" => spec(&mut sub, table).and_then(|s| silence(&mut sub, s)),
        "stuck" => spec(&mut sub, table).and_then(|s: StuckSpec| {
            let device = sub.device(&s.device);
            let duration_ms = sub.duration("duration", &s.duration);
            Some(EventKind::Stuck {
                device: device?,
                duration_ms: duration_ms?,
            })
        }),
        "malformed" => spec(&mut sub, table).and_then(|s| malformed(&mut sub, s)),
        other => sub.fail(format!("kind \"{other}\" is not one of {KINDS}")),
    };
    cx.problems
        .extend(sub.problems.into_iter().map(|p| format!("({kind}): {p}")));
    Some(Event {
        at: at?,
        district,
        kind: what?,
        line,
    })
}

fn spec<T: DeserializeOwned>(cx: &mut Cx<'_>, table: toml::Table) -> Option<T> {
    match toml::Value::Table(table).try_into() {
        Ok(s) => Some(s),
        Err(e) => cx.fail(e.to_string().trim().replace('\n', " ")),
    }
}

fn at(cx: &mut Cx<'_>, kind: &str, s: &str) -> Option<At> {
    if let Some(rest) = s.strip_prefix('+') {
        if let Ok(d) = humantime::parse_duration(rest.trim()) {
            return Some(At::AfterStart(d.as_millis() as i64));
        }
    } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(At::Absolute(t.timestamp_millis()));
    }
    cx.fail(format!(
        "({kind}): at = \"{s}\" is neither RFC 3339 with an offset (e.g. \"2026-11-21T12:00:00+08:00\") nor an offset from the start (e.g. \"+30min\")"
    ))
}

fn fire(cx: &mut Cx<'_>, s: FireSpec) -> Option<EventKind> {
    let building = match cx.d.building_idx(&s.building) {
        Some(b) => Some(b),
        None => {
            let msg = format!(
                "building \"{}\" is not in district \"{}\" (buildings: {})",
                s.building,
                cx.d.id,
                list(cx.d.buildings.iter().map(|b| b.id.as_str()))
            );
            cx.fail(msg)
        }
    };
    let clear_after_ms = match &s.clear_after {
        Some(c) => Some(cx.duration("clear_after", c)?),
        None => None,
    };
    let detectors = s.detectors.unwrap_or(2) as usize;
    if detectors == 0 {
        return cx.fail("detectors = 0: a fire needs at least one detector".into());
    }
    let building = building?;
    let has =
        cx.d.devices
            .iter()
            .filter(|x| matches!(x.role, district::Role::Fire { building: b } if b == building))
            .count();
    if has == 0 {
        return cx.fail(format!("building \"{}\" has no fire detectors", s.building));
    }
    Some(EventKind::Fire {
        building,
        detectors: detectors.min(has),
        clear_after_ms,
    })
}

fn surge(cx: &mut Cx<'_>, s: SurgeSpec) -> Option<EventKind> {
    let zone = cx.zone(&s.zone);
    let size = match (s.people, s.density) {
        (Some(n), None) => Some(SurgeSize::People(n)),
        (None, Some(d)) if d > 0.0 && d < 10.0 => Some(SurgeSize::Density(d)),
        (None, Some(d)) => cx.fail(format!(
            "density = {d} is not a crowd density in persons/m² (0–10)"
        )),
        _ => {
            cx.fail("give either `people` (extra people) or `density` (persons/m² to reach)".into())
        }
    };
    let ramp_ms = cx.duration("ramp", s.ramp.as_deref().unwrap_or("10min"));
    let hold_ms = cx.duration("hold", s.hold.as_deref().unwrap_or("20min"));
    Some(EventKind::CrowdSurge {
        zone: zone?,
        size: size?,
        ramp_ms: ramp_ms?,
        hold_ms: hold_ms?,
    })
}

fn pollution(cx: &mut Cx<'_>, s: PollutionSpec) -> Option<EventKind> {
    let zone = match &s.zone {
        Some(z) => Some(cx.zone(z)?),
        None => None,
    };
    let duration_ms = cx.duration("duration", &s.duration);
    if !(s.peak_pm25 > 0.0 && s.peak_pm25 <= 900.0) {
        return cx.fail(format!(
            "peak_pm25 = {} is not a PM2.5 level in µg/m³ (0–900)",
            s.peak_pm25
        ));
    }
    Some(EventKind::Pollution {
        peak_pm25: s.peak_pm25,
        duration_ms: duration_ms?,
        zone,
    })
}

fn silence(cx: &mut Cx<'_>, s: SilenceSpec) -> Option<EventKind> {
    let devices = match (&s.device, &s.zone) {
        (Some(id), None) => vec![cx.device(id)?],
        (None, Some(z)) => {
            let z = cx.zone(z)?;
            (0..cx.d.devices.len())
                .filter(|&i| cx.d.devices[i].zone == Some(z))
                .collect()
        }
        _ => return cx.fail("give either `device` or `zone`".into()),
    };
    let duration_ms = cx.duration("duration", &s.duration)?;
    Some(EventKind::Silence {
        devices,
        duration_ms,
        lose_counts: s.lose_counts.unwrap_or(false),
    })
}

fn malformed(cx: &mut Cx<'_>, s: MalformedSpec) -> Option<EventKind> {
    let varieties = match s.varieties {
        None => Variety::ALL.to_vec(),
        Some(names) => {
            let mut out = Vec::new();
            for n in names {
                match Variety::parse(&n) {
                    Some(v) => out.push(v),
                    None => {
                        let all: Vec<&str> = Variety::ALL.iter().map(|v| v.name()).collect();
                        cx.problems
                            .push(format!("variety \"{n}\" is not one of {}", all.join(", ")));
                    }
                }
            }
            out
        }
    };
    Some(EventKind::Malformed {
        count: s.count.unwrap_or(1),
        varieties,
    })
}
