//! The counter's configuration: a small TOML file (`vision/counter.example.toml`, every key
//! commented) and command-line overrides.
//!
//! The district file has no field for a camera's counting line yet, so the line lives here,
//! next to the device id it counts for. When `district_file` is given, the device is looked up
//! there: it must be a footfall line counter, and its `interval` and the district's time zone
//! are taken from the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::count::{Anchor, CounterConfig};
use crate::geometry::{CountingRegion, GeometryError, InDirection};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The counter's device id (the `{device}` of its topic), e.g. `fc-07`.
    pub device: String,
    /// District id (the `{d}` of its topic), e.g. `hubin`.
    #[serde(default)]
    pub district: Option<String>,
    /// The district file; when given, the device must be a footfall line counter there, and its
    /// interval and the district's id and time zone are taken from it.
    #[serde(default)]
    pub district_file: Option<PathBuf>,
    /// MQTT broker, `HOST:PORT`.
    #[serde(default = "default_broker")]
    pub broker: String,
    /// The video: a file, or an RTSP/HTTP URL, or anything OpenCV's `VideoCapture` opens.
    pub source: String,
    /// Reporting interval (when no district file says), e.g. `"60s"`.
    #[serde(default = "default_interval", with = "humantime_serde_compat")]
    pub interval: Duration,
    /// UTC offset of the readings' timestamps when no district file gives a time zone.
    #[serde(default = "default_offset")]
    pub utc_offset: String,
    /// How often the health message is published.
    #[serde(default = "default_health", with = "humantime_serde_compat")]
    pub health_interval: Duration,
    /// The counting line or polygon.
    pub line: LineConfig,
    /// The detector.
    #[serde(default)]
    pub detector: DetectorConfig,
    /// Loop a file source forever (demos).
    #[serde(default)]
    pub loop_file: bool,
    /// Process a file at its own frame rate (as a camera would deliver it) rather than as fast
    /// as possible.
    #[serde(default = "yes")]
    pub realtime: bool,
}

fn default_broker() -> String {
    "127.0.0.1:1883".into()
}
fn default_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_health() -> Duration {
    Duration::from_secs(10)
}
fn default_offset() -> String {
    "+08:00".into()
}
fn yes() -> bool {
    true
}

/// The counting line (or polygon) in the camera's full-resolution pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// `"x1,y1,x2,y2"` for a line, `"x1,y1;x2,y2;x3,y3;..."` for a polygon.
    pub points: String,
    /// The direction of an `in` crossing for a line: `left-to-right`, `right-to-left`,
    /// `top-to-bottom`, `bottom-to-top`. (A polygon's `in` is entering it.)
    #[serde(default = "default_direction")]
    pub in_direction: InDirection,
    /// Half-width of the hysteresis band around the line, pixels (default: 2 % of the width).
    #[serde(default)]
    pub band_px: Option<f64>,
    /// Which point of a person is tested: `foot` (default) or `centre`.
    #[serde(default)]
    pub anchor: Anchor,
    /// How crossings are counted: `hybrid` (default: tracks, and the flow through the line
    /// for crowds whose people are not all tracked), `tracks` (tracks only) or `flow`
    /// (foreground flow through the line only). Flow needs a line, not a polygon.
    #[serde(default)]
    pub method: CountMethod,
}

/// How crossings are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CountMethod {
    /// Tracks crossing the line with hysteresis ([`crate::count`]).
    Tracks,
    /// Foreground flow through the line ([`crate::flux`]).
    Flow,
    /// Tracks for people tracked one by one (or groups tracked as one), flow for the blobs of
    /// more people than tracks (crowds).
    #[default]
    Hybrid,
}

fn default_direction() -> InDirection {
    InDirection::LeftToRight
}

impl LineConfig {
    /// The region.
    pub fn region(&self) -> Result<CountingRegion, GeometryError> {
        CountingRegion::parse(&self.points, self.in_direction)
    }

    /// The counter parameters for an image `width` pixels wide.
    pub fn counter(&self, width: f64) -> CounterConfig {
        let mut c = CounterConfig::for_width(width);
        if let Some(b) = self.band_px {
            c.band = b;
        }
        c.anchor = self.anchor;
        c.flow_owns_unresolved = self.method == CountMethod::Hybrid;
        c
    }
}

/// Which detector finds people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DetectorKind {
    /// Background subtraction (MOG2 with shadow removal), morphology and contours.
    #[default]
    Mog2,
    /// OpenCV's HOG people detector (slow; for fixed cameras with little motion contrast).
    Hog,
}

/// Detector parameters. Sizes are in pixels of the *processing* frame (the source scaled to
/// `process_width`), so they do not depend on the camera's resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Which detector.
    pub kind: DetectorKind,
    /// Frames are scaled down to this width before detection (never up).
    pub process_width: u32,
    /// MOG2 history, frames.
    pub history: i32,
    /// MOG2 variance threshold (squared Mahalanobis distance).
    pub var_threshold: f64,
    /// Mark shadows (and drop them from the foreground).
    pub detect_shadows: bool,
    /// MOG2 shadow threshold: how much darker a pixel may be and still be a shadow (0–1).
    pub shadow_threshold: f64,
    /// Opening kernel (removes specks), pixels.
    pub open_px: i32,
    /// Closing kernel (joins a person's parts), pixels; taller than wide.
    pub close_px: i32,
    /// Smallest blob area kept, as a fraction of the processing frame's area.
    pub min_area: f64,
    /// If more than this fraction of the frame turns foreground at once (lights, a cloud), the
    /// background is relearned quickly and the frame's detections are ignored.
    pub relearn_fraction: f64,
    /// Frames of fast relearning after such a change.
    pub relearn_frames: u32,
    /// Expected person height range (nearest, farthest), fractions of the frame height, used
    /// until the size model has learned from the video.
    pub person_height: (f64, f64),
    /// HOG: the SVM hit threshold.
    pub hog_threshold: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            kind: DetectorKind::Mog2,
            process_width: 640,
            history: 500,
            var_threshold: 16.0,
            detect_shadows: true,
            shadow_threshold: 0.5,
            open_px: 3,
            close_px: 9,
            min_area: 0.0008,
            relearn_fraction: 0.35,
            relearn_frames: 10,
            person_height: (0.1, 0.45),
            hog_threshold: 0.0,
        }
    }
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading the file.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// TOML syntax or unknown keys.
    #[error("{0}: {1}")]
    Toml(PathBuf, toml::de::Error),
    /// The line.
    #[error("line: {0}")]
    Line(#[from] GeometryError),
    /// The district file.
    #[error("district file: {0}")]
    District(String),
    /// Anything else.
    #[error("{0}")]
    Invalid(String),
}

/// What the configuration resolves to against the district file.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// District id.
    pub district: String,
    /// Reporting interval.
    pub interval: Duration,
    /// Time zone of the timestamps (district time zone, else the fixed offset).
    pub tz: Tz,
}

/// A time zone for timestamps.
#[derive(Debug, Clone, PartialEq)]
pub enum Tz {
    /// The district's.
    Named(chrono_tz::Tz),
    /// A fixed offset.
    Fixed(chrono::FixedOffset),
}

impl Tz {
    /// Formats epoch milliseconds as RFC 3339 with this zone's offset at that instant.
    pub fn format(&self, ms: i64) -> String {
        use chrono::{Offset, TimeZone};
        let off = match self {
            Tz::Named(tz) => tz
                .timestamp_millis_opt(ms)
                .single()
                .map(|t| t.offset().fix())
                .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).unwrap()),
            Tz::Fixed(f) => *f,
        };
        district::contract::time::format_millis_in(ms, off)
    }
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io(path.into(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Toml(path.into(), e))
    }

    /// Checks everything and resolves the district, interval and time zone.
    pub fn resolve(&self) -> Result<Resolved, ConfigError> {
        self.line.region()?;
        if self.device.is_empty() || self.device.contains(['/', '+', '#']) {
            return Err(ConfigError::Invalid(format!(
                "device id \"{}\" cannot be a topic segment",
                self.device
            )));
        }
        if let Some(path) = &self.district_file {
            let d = district::load(path).map_err(|e| ConfigError::District(e.to_string()))?;
            if let Some(id) = &self.district {
                if id != &d.id {
                    return Err(ConfigError::District(format!(
                        "district = \"{id}\" but {} is district \"{}\"",
                        path.display(),
                        d.id
                    )));
                }
            }
            let dev = d.device(&self.device).ok_or_else(|| {
                ConfigError::District(format!(
                    "no device \"{}\" in {}",
                    self.device,
                    path.display()
                ))
            })?;
            if !matches!(dev.role, district::Role::FootfallLine { .. }) {
                return Err(ConfigError::District(format!(
                    "device \"{}\" is not a footfall line counter (its role is {:?})",
                    self.device, dev.role
                )));
            }
            return Ok(Resolved {
                district: d.id.clone(),
                interval: dev.interval,
                tz: Tz::Named(d.calendar.timezone),
            });
        }
        let district = self.district.clone().ok_or_else(|| {
            ConfigError::Invalid(
                "give the district id (district = \"...\") or a district_file".into(),
            )
        })?;
        let off = chrono::DateTime::parse_from_rfc3339(&format!(
            "2000-01-01T00:00:00{}",
            self.utc_offset
        ))
        .map_err(|_| {
            ConfigError::Invalid(format!(
                "utc_offset \"{}\" is not like +08:00",
                self.utc_offset
            ))
        })?
        .offset()
        .to_owned();
        if self.interval.is_zero() {
            return Err(ConfigError::Invalid("interval must be above zero".into()));
        }
        Ok(Resolved {
            district,
            interval: self.interval,
            tz: Tz::Fixed(off),
        })
    }
}

/// `"60s"`-style durations in TOML.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_example_file_parses() {
        let c = Config::from_file(&root().join("vision/counter.example.toml")).unwrap();
        assert_eq!(c.device, "fc-07");
        assert!(c.line.region().is_ok());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = toml::from_str::<Config>(
            "device = \"x\"\nsource = \"a.avi\"\ndistrict = \"d\"\nintervall = \"5s\"\n[line]\npoints = \"1,0,1,10\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("intervall"), "{e}");
    }

    #[test]
    fn resolves_against_the_district_file() {
        let hubin = root().join("config/districts/hubin.toml");
        if !hubin.exists() {
            return;
        }
        let mut c: Config = toml::from_str(
            "device = \"fc-07\"\nsource = \"a.avi\"\n[line]\npoints = \"384,0,384,576\"\n",
        )
        .unwrap();
        c.district_file = Some(hubin);
        let r = c.resolve().unwrap();
        assert_eq!(r.district, "hubin");
        assert_eq!(r.interval, Duration::from_secs(60));
        // 2026-11-22T02:00:00Z in Asia/Shanghai.
        assert_eq!(
            r.tz.format(1_795_312_800_000),
            "2026-11-22T10:00:00.000+08:00"
        );
        c.device = "nope".into();
        assert!(c.resolve().unwrap_err().to_string().contains("no device"));
    }

    #[test]
    fn needs_a_district() {
        let c: Config = toml::from_str(
            "device = \"fc-07\"\nsource = \"a.avi\"\nutc_offset = \"+05:30\"\n[line]\npoints = \"384,0,384,576\"\n",
        )
        .unwrap();
        assert!(c.resolve().is_err());
        let c = Config {
            district: Some("hubin".into()),
            ..c
        };
        let r = c.resolve().unwrap();
        assert_eq!(
            r.tz.format(1_795_312_800_000),
            "2026-11-22T07:30:00.000+05:30"
        );
    }
}
