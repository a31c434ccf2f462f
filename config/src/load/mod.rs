//! Loading a district file: TOML (plus an optional GeoJSON beside it) into a validated
//! [`District`], collecting every problem rather than stopping at the first.
//!
//! Each `[[zones]]`, `[[buildings]]`, … entry is parsed on its own, so a typo in one entry does
//! not hide the problems of the others, and every problem carries the line of its entry (or of
//! the offending key, for unknown keys).

mod devices;
mod places;
mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::Spanned;

use crate::error::{ConfigError, Place, Problem};
use crate::geojson::{self, Feature};
use crate::model::District;
use text::LineIndex;

/// Loads and validates a district file (and the GeoJSON it names, relative to its folder).
pub fn load(path: impl AsRef<Path>) -> Result<District, ConfigError> {
    let path = path.as_ref();
    let text = read(path)?;
    let mut ctx = Ctx::new(path, &text);
    let district = ctx.build(|rel| {
        let p = path.parent().unwrap_or(Path::new(".")).join(rel);
        read(&p).map(|t| (p, t))
    });
    match district {
        Some(d) if ctx.problems.is_empty() => Ok(d),
        _ => Err(ConfigError::Invalid(ctx.problems)),
    }
}

/// Validates a district from text (`path` is used in messages; a GeoJSON file it names is
/// resolved relative to `path`'s folder).
pub fn load_str(path: impl AsRef<Path>, text: &str) -> Result<District, ConfigError> {
    let path = path.as_ref();
    let mut ctx = Ctx::new(path, text);
    let district = ctx.build(|rel| {
        let p = path.parent().unwrap_or(Path::new(".")).join(rel);
        read(&p).map(|t| (p, t))
    });
    match district {
        Some(d) if ctx.problems.is_empty() => Ok(d),
        _ => Err(ConfigError::Invalid(ctx.problems)),
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The file's sections, each entry kept raw with its span so it can be parsed on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    district: Spanned<toml::Value>,
    thresholds: Option<Spanned<toml::Value>>,
    #[serde(default)]
    zones: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    buildings: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    lots: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    devices: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    signs: Vec<Spanned<toml::Value>>,
}

/// An entry parsed from the file, with the line it starts on.
pub(crate) struct Entry<T> {
    pub line: usize,
    pub span: std::ops::Range<usize>,
    pub spec: T,
}

/// The loading context: the file, the problems found so far.
pub(crate) struct Ctx<'a> {
    pub path: PathBuf,
    pub text: &'a str,
    pub lines: LineIndex,
    pub problems: Vec<Problem>,
    pub geojson_path: Option<PathBuf>,
    pub features: HashMap<(String, String), Feature>,
    /// Start offsets of every entry, sorted: an entry extends to the next one.
    starts: Vec<usize>,
    /// Ids of entries that failed to parse: references to them are not reported again.
    pub broken: std::collections::HashSet<String>,
}

impl<'a> Ctx<'a> {
    fn new(path: &Path, text: &'a str) -> Self {
        Ctx {
            path: path.to_path_buf(),
            text,
            lines: LineIndex::new(text),
            problems: Vec::new(),
            geojson_path: None,
            features: HashMap::new(),
            starts: Vec::new(),
            broken: Default::default(),
        }
    }

    /// Records a problem at a line of the TOML file.
    pub fn at_line(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.path.clone(),
            place: Place::Line(line),
            message: message.into(),
        });
    }

    /// Records a problem with a GeoJSON feature.
    pub fn at_feature(&mut self, index: usize, id: Option<String>, message: impl Into<String>) {
        let file = self
            .geojson_path
            .clone()
            .unwrap_or_else(|| self.path.clone());
        self.problems.push(Problem {
            file,
            place: Place::Feature { index, id },
            message: message.into(),
        });
    }

    fn build(
        &mut self,
        read_geojson: impl FnOnce(&str) -> Result<(PathBuf, String), ConfigError>,
    ) -> Option<District> {
        let raw: RawFile = match toml::from_str(self.text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e.span().map(|s| self.lines.line_of(s.start)).unwrap_or(1);
                self.at_line(line, e.message().to_string());
                return None;
            }
        };
        self.starts = [
            &raw.zones,
            &raw.buildings,
            &raw.lots,
            &raw.devices,
            &raw.signs,
        ]
        .into_iter()
        .flatten()
        .chain(std::iter::once(&raw.district))
        .chain(raw.thresholds.iter())
        .map(|e| e.span().start)
        .collect();
        self.starts.sort_unstable();
        let header = self.entry::<crate::spec::DistrictSpec>(&raw.district, "[district]")?;
        if let Some(rel) = header.spec.geojson.clone() {
            match read_geojson(&rel) {
                Ok((p, text)) => {
                    self.geojson_path = Some(p);
                    let (features, problems) = geojson::parse(&text);
                    for (index, id, msg) in problems {
                        match index {
                            Some(i) => self.at_feature(i, id, msg),
                            None => {
                                let file = self.geojson_path.clone().unwrap_or_default();
                                self.problems.push(Problem {
                                    file,
                                    place: Place::File,
                                    message: msg,
                                });
                            }
                        }
                    }
                    for f in features {
                        let key = (f.kind.clone(), f.id.clone());
                        if let Some(prev) = self.features.get(&key) {
                            let msg = format!(
                                "duplicate {} id \"{}\" (also feature #{})",
                                f.kind, f.id, prev.index
                            );
                            self.at_feature(f.index, Some(f.id.clone()), msg);
                        } else {
                            self.features.insert(key, f);
                        }
                    }
                }
                Err(e) => self.at_line(header.line, format!("geojson = \"{rel}\": {e}")),
            }
        }
        let thresholds = match &raw.thresholds {
            Some(t) => self
                .entry::<crate::spec::ThresholdsSpec>(t, "[thresholds]")
                .map(|e| (e.line, e.spec)),
            None => Some((header.line, Default::default())),
        };
        let zones = self.entries::<crate::spec::ZoneSpec>(&raw.zones, "[[zones]]");
        let buildings = self.entries::<crate::spec::BuildingSpec>(&raw.buildings, "[[buildings]]");
        let lots = self.entries::<crate::spec::LotSpec>(&raw.lots, "[[lots]]");
        let devices = self.entries::<crate::spec::DeviceSpec>(&raw.devices, "[[devices]]");
        let signs = self.entries::<crate::spec::SignSpec>(&raw.signs, "[[signs]]");
        let (tline, thresholds) = thresholds?;
        places::assemble(
            self,
            header,
            (tline, thresholds),
            zones,
            buildings,
            lots,
            devices,
            signs,
        )
    }

    /// Parses one raw entry into its spec type; a failure is recorded at the entry's line (or
    /// the offending key's line) and gives `None`.
    fn entry<T: DeserializeOwned>(
        &mut self,
        raw: &Spanned<toml::Value>,
        what: &str,
    ) -> Option<Entry<T>> {
        let span = self.extent(raw.span());
        let line = self.lines.line_of(span.start);
        match raw.get_ref().clone().try_into::<T>() {
            Ok(spec) => Some(Entry {
                line,
                span: span.clone(),
                spec,
            }),
            Err(e) => {
                let msg = e.message().trim().to_string();
                let key_line = unknown_key(&msg)
                    .and_then(|k| self.lines.find_key(self.text, span.clone(), k))
                    .unwrap_or(line);
                let id = raw.get_ref().get("id").and_then(|v| v.as_str());
                if let Some(id) = id {
                    self.broken.insert(id.to_string());
                }
                let who = match id {
                    Some(id) => format!("{what} \"{id}\""),
                    None => what.to_string(),
                };
                self.at_line(key_line, format!("{who}: {msg}"));
                None
            }
        }
    }

    /// The whole text of an entry: a `[[table]]` span covers its header only, so it runs to
    /// the next entry's start.
    fn extent(&self, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let next = self
            .starts
            .iter()
            .copied()
            .find(|&s| s > span.start)
            .unwrap_or(self.text.len());
        span.start..next.max(span.end)
    }

    fn entries<T: DeserializeOwned>(
        &mut self,
        raw: &[Spanned<toml::Value>],
        what: &str,
    ) -> Vec<Entry<T>> {
        raw.iter().filter_map(|r| self.entry(r, what)).collect()
    }

    /// Parses a duration with a unit (`"60s"`, `"5min"`, `"4h"`), recording a problem if it has
    /// none or is out of `1s..=7d`.
    pub fn duration(&mut self, line: usize, key: &str, value: &str) -> Option<Duration> {
        let v = value.trim();
        if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.') {
            self.at_line(
                line,
                format!("{key} = \"{v}\" has no unit; write e.g. \"{v}s\" or \"{v}min\""),
            );
            return None;
        }
        match humantime::parse_duration(v) {
            Ok(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(7 * 86_400) => Some(d),
            Ok(d) => {
                self.at_line(
                    line,
                    format!("{key} = \"{v}\" ({d:?}) must be between 1s and 7 days"),
                );
                None
            }
            Err(e) => {
                self.at_line(line, format!("{key} = \"{v}\" is not a duration ({e}); write e.g. \"60s\", \"5min\", \"4h\""));
                None
            }
        }
    }
}

fn unknown_key(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests;
