//! Scripted scenarios: a TOML file of `[[events]]` (fires, crowd surges, pollution episodes,
//! silent or stuck devices, bursts of malformed messages), checked against the district and
//! turned into timed actions for the world. Example files: `sensors-sim/scenarios/`.
//!
//! ```toml
//! [[events]]
//! at = "+30min"              # an offset from the start, or RFC 3339 with offset
//! kind = "fire"              # fire | crowd_surge | pollution | silence | stuck | malformed
//! building = "b05"
//! detectors = 2              # default 2; alarms 20 s apart
//! clear_after = "15min"      # optional
//! ```
//!
//! Common keys of every event: `at`, `kind`, and optional `district = "<id>"` to apply it to one
//! replica only (with `--scale`, ids are suffixed `-001`…; by default every replica). Ids of
//! buildings, zones and devices are those of the district file. Per kind (durations are
//! humantime: `"90s"`, `"15min"`, `"2h"`):
//! - `fire`: `building`, `detectors` (default 2), `clear_after` (optional).
//! - `crowd_surge`: `zone`, and `people` (extra people) or `density` (persons/m² to reach);
//!   `ramp` (default `"10min"`), `hold` (default `"20min"`).
//! - `pollution`: `peak_pm25` (µg/m³), `duration`, `zone` (optional: only its monitors).
//! - `silence`: `device` or `zone` (every device in the zone), `duration`, `lose_counts`
//!   (default false: counters send the silent time's crossings with their next report).
//! - `stuck`: `device`, `duration`.
//! - `malformed`: `count` (of each variety, default 1), `varieties` (default all: `bad_json`,
//!   `wrong_types`, `nan_literal`, `negative_counts`, `unknown_device`, `oversized`,
//!   `future_timestamp`, `wrong_unit`, `missing_field`, `bad_timestamp`).
//!
//! Unknown keys, unknown kinds, ids not in the district, times and durations without a unit
//! are all reported at once, each with its line.

mod parse;
#[cfg(test)]
mod tests;

use crate::malformed::Variety;
use crate::people::SurgeSize;

pub use parse::ScenarioError;

/// When an event happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// An absolute instant, epoch ms.
    Absolute(i64),
    /// This long after the start of the run, ms.
    AfterStart(i64),
}

impl At {
    /// The instant, for a run starting at `start_ms`.
    pub fn resolve(self, start_ms: i64) -> i64 {
        match self {
            At::Absolute(t) => t,
            At::AfterStart(d) => start_ms + d,
        }
    }
}

/// What an event does (indices refer to the district the scenario was checked against, which
/// every replica shares).
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// Detectors of a building go into alarm, 20 s apart.
    Fire {
        /// Building index.
        building: usize,
        /// How many detectors.
        detectors: usize,
        /// Back to normal after this long (ms), if set.
        clear_after_ms: Option<i64>,
    },
    /// Extra people pushed into a zone.
    CrowdSurge {
        /// Zone index.
        zone: usize,
        /// How many.
        size: SurgeSize,
        /// Ramp up and down, ms.
        ramp_ms: i64,
        /// Held at full size, ms.
        hold_ms: i64,
    },
    /// A PM2.5/PM10 episode.
    Pollution {
        /// Peak PM2.5, µg/m³.
        peak_pm25: f64,
        /// Whole duration, ms.
        duration_ms: i64,
        /// Only the monitors of this zone, if set.
        zone: Option<usize>,
    },
    /// Devices stop reporting.
    Silence {
        /// Device indices.
        devices: Vec<usize>,
        /// For how long, ms.
        duration_ms: i64,
        /// Line and entrance counters lose the crossings of the silent time (default: they keep
        /// them and send them with their first report after it).
        lose_counts: bool,
    },
    /// A device repeats its last values.
    Stuck {
        /// Device index.
        device: usize,
        /// For how long, ms.
        duration_ms: i64,
    },
    /// A burst of malformed messages: `count` of each variety.
    Malformed {
        /// Messages per variety.
        count: u32,
        /// Varieties (default: all).
        varieties: Vec<Variety>,
    },
}

/// One scenario event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When.
    pub at: At,
    /// Only this district (replica id), if set.
    pub district: Option<String>,
    /// What.
    pub kind: EventKind,
    /// Line in the scenario file.
    pub line: usize,
}

impl Event {
    /// Whether the event applies to district `id`.
    pub fn applies_to(&self, id: &str) -> bool {
        self.district.as_deref().is_none_or(|d| d == id)
    }
}

/// A checked scenario.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scenario {
    /// Events in file order.
    pub events: Vec<Event>,
}

/// A timed step of an event, applied by the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The `nth` of `count` detectors of fire `event` goes into alarm.
    FireAlarm { nth: usize, count: usize },
    /// The `nth` detector of the fire goes back to normal.
    FireClear { nth: usize },
    /// The event's devices go silent.
    SilenceStart,
    /// The event's devices report again.
    SilenceEnd,
    /// The event's device gets stuck.
    StuckStart,
    /// The event's device recovers.
    StuckEnd,
    /// The event's burst of malformed messages.
    Malformed,
}

/// Gap between the alarms of successive detectors of one fire.
pub(crate) const FIRE_SPREAD_MS: i64 = 20_000;

impl Scenario {
    /// Reads and checks a scenario file against a district.
    pub fn load(
        path: impl AsRef<std::path::Path>,
        d: &district::District,
    ) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        parse::parse(path, &text, d)
    }

    /// Checks scenario text (`path` is used in messages).
    pub fn parse(
        path: impl AsRef<std::path::Path>,
        text: &str,
        d: &district::District,
    ) -> Result<Scenario, ScenarioError> {
        parse::parse(path.as_ref(), text, d)
    }

    /// Every timed action for a run starting at `start_ms`, as `(at, event index, action)`,
    /// sorted by time (file order among equal times).
    pub(crate) fn actions(&self, start_ms: i64) -> Vec<(i64, usize, Action)> {
        let mut out = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            let at = e.at.resolve(start_ms);
            match &e.kind {
                EventKind::Fire {
                    detectors,
                    clear_after_ms,
                    ..
                } => {
                    for nth in 0..*detectors {
                        let t = at + nth as i64 * FIRE_SPREAD_MS;
                        out.push((
                            t,
                            i,
                            Action::FireAlarm {
                                nth,
                                count: *detectors,
                            },
                        ));
                        if let Some(c) = clear_after_ms {
                            out.push((t + c, i, Action::FireClear { nth }));
                        }
                    }
                }
                EventKind::Silence { duration_ms, .. } => {
                    out.push((at, i, Action::SilenceStart));
                    out.push((at + duration_ms, i, Action::SilenceEnd));
                }
                EventKind::Stuck { duration_ms, .. } => {
                    out.push((at, i, Action::StuckStart));
                    out.push((at + duration_ms, i, Action::StuckEnd));
                }
                EventKind::Malformed { .. } => out.push((at, i, Action::Malformed)),
                EventKind::CrowdSurge { .. } | EventKind::Pollution { .. } => {}
            }
        }
        out.sort_by_key(|&(t, i, _)| (t, i));
        out
    }
}
