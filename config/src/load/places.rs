//! Zones, buildings and car parks: geometry from the file or the GeoJSON, references resolved,
//! derived facts (areas, which zone a building or lot lies in) computed.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use geo::{BoundingRect, Contains, InteriorPoint, Intersects, MultiPolygon, Point, Rect};

use super::{devices, Ctx, Entry};
use crate::geometry;
use crate::model::*;
use crate::spec::*;

/// Builds the district from its parsed entries (problems recorded in `ctx`).
#[allow(clippy::too_many_arguments)]
pub(super) fn assemble(
    ctx: &mut Ctx<'_>,
    header: Entry<DistrictSpec>,
    (tline, tspec): (usize, ThresholdsSpec),
    zones: Vec<Entry<ZoneSpec>>,
    buildings: Vec<Entry<BuildingSpec>>,
    lots: Vec<Entry<LotSpec>>,
    device_specs: Vec<Entry<DeviceSpec>>,
    signs: Vec<Entry<SignSpec>>,
) -> Option<District> {
    let calendar = calendar(ctx, &header);
    let thresholds = thresholds(ctx, tline, &tspec);
    check_id(ctx, header.line, "district", &header.spec.id);

    let mut ids = Ids::default();
    let zones = build_zones(ctx, &mut ids, zones, &thresholds);
    let zone_index: HashMap<String, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.id.clone(), i))
        .collect();
    let buildings = build_buildings(ctx, &mut ids, buildings, &zones, &zone_index);
    let lots = build_lots(ctx, &mut ids, lots, &zones, &zone_index, &thresholds);

    let frame = frame_of(&zones);
    let mut district = District {
        id: header.spec.id.clone(),
        names: header.spec.name.clone().into(),
        calendar: calendar?,
        thresholds,
        zones,
        buildings,
        lots,
        devices: Vec::new(),
        signs: Vec::new(),
        frame,
        device_index: HashMap::new(),
        zone_index: HashMap::new(),
        building_index: HashMap::new(),
        lot_index: HashMap::new(),
    };
    district.reindex();
    devices::build(ctx, &mut district, &mut ids, device_specs, signs);
    district.reindex();
    Some(district)
}

/// Ids seen so far, per namespace, with the line that declared them.
#[derive(Default)]
pub(super) struct Ids {
    seen: HashMap<(&'static str, String), usize>,
}

impl Ids {
    /// Records an id; a duplicate is a problem naming the first declaration.
    pub fn claim(&mut self, ctx: &mut Ctx<'_>, ns: &'static str, id: &str, line: usize) -> bool {
        if let Some(first) = self.seen.get(&(ns, id.to_string())) {
            ctx.at_line(line, format!("duplicate {ns} id \"{id}\" (first declared on line {first}); ids must be unique"));
            return false;
        }
        self.seen.insert((ns, id.to_string()), line);
        true
    }
}

/// Ids go into MQTT topics: no `/`, `+`, `#`, spaces or control characters.
pub(super) fn check_id(ctx: &mut Ctx<'_>, line: usize, what: &str, id: &str) -> bool {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        ctx.at_line(line, format!(
            "{what} id \"{id}\" must be 1–64 characters of letters, digits, '-', '_' or '.' (it is used in MQTT topics)"
        ));
    }
    ok
}

fn calendar(ctx: &mut Ctx<'_>, header: &Entry<DistrictSpec>) -> Option<Calendar> {
    let line = header.line;
    let spec = &header.spec;
    let timezone = match spec.timezone.parse::<chrono_tz::Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            ctx.at_line(
                line,
                format!(
                    "timezone \"{}\" is not an IANA time zone; write e.g. \"Asia/Shanghai\"",
                    spec.timezone
                ),
            );
            None
        }
    };
    let time = |ctx: &mut Ctx<'_>, key: &str, v: &str| match NaiveTime::parse_from_str(v, "%H:%M") {
        Ok(t) => Some(t),
        Err(_) => {
            ctx.at_line(
                line,
                format!("{key} = \"{v}\" is not a local time; write HH:MM, e.g. \"10:00\""),
            );
            None
        }
    };
    let (open, close) = match &spec.opening_hours {
        Some(h) => (
            time(ctx, "opening_hours.open", &h.open),
            time(ctx, "opening_hours.close", &h.close),
        ),
        None => (
            NaiveTime::from_hms_opt(10, 0, 0),
            NaiveTime::from_hms_opt(22, 0, 0),
        ),
    };
    let rebaseline_at = match &spec.rebaseline_at {
        Some(v) => time(ctx, "rebaseline_at", v),
        None => NaiveTime::from_hms_opt(4, 0, 0),
    };
    let mut holidays = BTreeSet::new();
    for h in &spec.holidays {
        match NaiveDate::parse_from_str(h, "%Y-%m-%d") {
            Ok(d) => {
                holidays.insert(d);
            }
            Err(_) => ctx.at_line(
                line,
                format!("holiday \"{h}\" is not a date; write YYYY-MM-DD"),
            ),
        }
    }
    Some(Calendar {
        timezone: timezone?,
        open: open?,
        close: close?,
        holidays,
        rebaseline_at: rebaseline_at?,
    })
}

fn thresholds(ctx: &mut Ctx<'_>, line: usize, spec: &ThresholdsSpec) -> Thresholds {
    let mut t = Thresholds::default();
    if let Some(d) = spec.density {
        if let Some(d) = density(ctx, line, "thresholds.density", d) {
            t.density = d;
        }
    }
    if let Some(n) = spec.offline_after_missed {
        if n == 0 || n > 1000 {
            ctx.at_line(
                line,
                format!("offline_after_missed = {n} must be between 1 and 1000 missed intervals"),
            );
        } else {
            t.offline_after_missed = n;
        }
    }
    if let Some(s) = &spec.lot_stale_after {
        if let Some(d) = ctx.duration(line, "lot_stale_after", s) {
            t.lot_stale_after = d;
        }
    }
    t
}

fn density(ctx: &mut Ctx<'_>, line: usize, key: &str, d: DensitySpec) -> Option<DensityThresholds> {
    let ok = d.warn > 0.0 && d.warn < d.alarm && d.alarm < d.critical && d.critical <= 10.0;
    if !ok {
        ctx.at_line(line, format!(
            "{key} = {{ warn = {}, alarm = {}, critical = {} }} must rise 0 < warn < alarm < critical ≤ 10 persons/m² (defaults 2, 4, 5)",
            d.warn, d.alarm, d.critical
        ));
        return None;
    }
    Some(DensityThresholds {
        warn: d.warn,
        alarm: d.alarm,
        critical: d.critical,
    })
}

/// Geometry from the inline outline, or else from the GeoJSON feature of that kind and id.
fn shape(
    ctx: &mut Ctx<'_>,
    line: usize,
    kind: &str,
    id: &str,
    outline: &Option<RingSpec>,
    holes: &[RingSpec],
) -> Option<MultiPolygon<f64>> {
    let feature = ctx.features.remove(&(kind.to_string(), id.to_string()));
    match (outline, feature) {
        (Some(_), Some(f)) => {
            ctx.at_line(
                line,
                format!(
                "{kind} \"{id}\" has an outline here and a feature (#{}) in the GeoJSON; keep one",
                f.index
            ),
            );
            None
        }
        (Some(outer), None) => {
            let outer = geometry::ring(outer)
                .map_err(|e| ctx.at_line(line, format!("{kind} \"{id}\": outline: {e}")))
                .ok()?;
            let mut rings = Vec::new();
            for (i, h) in holes.iter().enumerate() {
                match geometry::ring(h) {
                    Ok(r) => rings.push(r),
                    Err(e) => ctx.at_line(line, format!("{kind} \"{id}\": hole #{}: {e}", i + 1)),
                }
            }
            match geometry::polygon(outer, rings) {
                Ok(p) => Some(MultiPolygon(vec![p])),
                Err(e) => {
                    ctx.at_line(line, format!("{kind} \"{id}\": {e}"));
                    None
                }
            }
        }
        (None, Some(f)) => match geometry::validate(&f.geometry) {
            Ok(()) => Some(f.geometry),
            Err(e) => {
                ctx.at_feature(f.index, Some(f.id), format!("{kind}: {e}"));
                None
            }
        },
        (None, None) => {
            let hint = if ctx.geojson_path.is_some() {
                " or a GeoJSON feature with this kind and id"
            } else {
                ""
            };
            ctx.at_line(
                line,
                format!(
                    "{kind} \"{id}\" has no geometry: give `outline = [[lon, lat], ...]`{hint}"
                ),
            );
            None
        }
    }
}

fn build_zones(
    ctx: &mut Ctx<'_>,
    ids: &mut Ids,
    specs: Vec<Entry<ZoneSpec>>,
    t: &Thresholds,
) -> Vec<Zone> {
    let mut out = Vec::new();
    for Entry { line, spec, .. } in specs {
        let ok_id = check_id(ctx, line, "zone", &spec.id) & ids.claim(ctx, "zone", &spec.id, line);
        let geom = shape(ctx, line, "zone", &spec.id, &spec.outline, &spec.holes);
        let dens = match spec.density {
            Some(d) => density(ctx, line, &format!("zone \"{}\": density", spec.id), d),
            None => Some(t.density),
        };
        let (Some(geometry), true) = (geom, ok_id) else {
            ctx.broken.insert(spec.id.clone());
            continue;
        };
        let density = dens.unwrap_or(t.density);
        let area_m2 = geometry::area_m2(&geometry);
        // Problems with attributes are reported but the zone is kept, so that references to
        // it are not reported again as missing.
        if spec.capacity == 0 {
            ctx.at_line(
                line,
                format!("zone \"{}\": capacity must be at least 1 person", spec.id),
            );
        }
        let per_m2 = spec.capacity as f64 / area_m2;
        if per_m2 > 10.0 {
            ctx.at_line(line, format!(
                "zone \"{}\": capacity {} persons in {:.0} m² is {:.1} persons/m², more than can stand; capacity is in persons",
                spec.id, spec.capacity, area_m2, per_m2
            ));
        }
        out.push(Zone {
            id: spec.id,
            names: spec.name.into(),
            capacity: spec.capacity,
            geometry,
            area_m2,
            density,
            counting: ZoneCounting::None,
        });
    }
    out
}

/// The zone a shape lies in: the one containing its interior point, else the first it touches.
fn zone_of_shape(zones: &[Zone], shape: &MultiPolygon<f64>) -> Option<usize> {
    let p = shape.interior_point()?;
    zones
        .iter()
        .position(|z| z.geometry.contains(&p))
        .or_else(|| zones.iter().position(|z| z.geometry.intersects(shape)))
}

fn resolve_zone(
    ctx: &mut Ctx<'_>,
    line: usize,
    what: &str,
    given: Option<&str>,
    zones: &[Zone],
    index: &HashMap<String, usize>,
    shape: &MultiPolygon<f64>,
) -> Option<usize> {
    match given {
        Some(z) => match index.get(z) {
            Some(&i) => Some(i),
            None if ctx.broken.contains(z) => None,
            None => {
                ctx.at_line(
                    line,
                    format!("{what}: zone \"{z}\" is not declared in [[zones]]"),
                );
                None
            }
        },
        None => {
            let found = zone_of_shape(zones, shape);
            if found.is_none() && !zones.is_empty() && ctx.broken.is_empty() {
                ctx.at_line(
                    line,
                    format!("{what} lies outside every zone; move it or give `zone = \"...\"`"),
                );
            }
            found
        }
    }
}

fn build_buildings(
    ctx: &mut Ctx<'_>,
    ids: &mut Ids,
    specs: Vec<Entry<BuildingSpec>>,
    zones: &[Zone],
    zidx: &HashMap<String, usize>,
) -> Vec<Building> {
    let mut out = Vec::new();
    for Entry { line, spec, .. } in specs {
        let what = format!("building \"{}\"", spec.id);
        let ok_id =
            check_id(ctx, line, "building", &spec.id) & ids.claim(ctx, "building", &spec.id, line);
        let footprint = shape(ctx, line, "building", &spec.id, &spec.outline, &[]);
        let mut ok = ok_id;
        if spec.floors == 0 || spec.floors > 200 {
            ctx.at_line(
                line,
                format!("{what}: floors = {} must be between 1 and 200", spec.floors),
            );
            ok = false;
        } else {
            let per_floor = spec.height_m / spec.floors as f64;
            if !(2.0..=12.0).contains(&per_floor) || spec.height_m > 700.0 {
                ctx.at_line(line, format!(
                    "{what}: height_m = {} for {} floors is {:.1} m per floor; height_m is in metres (2–12 m per floor)",
                    spec.height_m, spec.floors, per_floor
                ));
                ok = false;
            }
        }
        if let Some(kw) = spec.rated_kw {
            if !(kw > 0.0 && kw <= 100_000.0) {
                ctx.at_line(
                    line,
                    format!(
                        "{what}: rated_kw = {kw} must be between 0 and 100,000 kW (is it in W?)"
                    ),
                );
                ok = false;
            }
        }
        let Some(footprint) = footprint else {
            ctx.broken.insert(spec.id.clone());
            continue;
        };
        let zone = resolve_zone(
            ctx,
            line,
            &what,
            spec.zone.as_deref(),
            zones,
            zidx,
            &footprint,
        );
        // Kept despite attribute problems (`ok`), so references to it are not reported again.
        let _ = ok;
        let Some(zone) = zone else {
            ctx.broken.insert(spec.id.clone());
            continue;
        };
        out.push(Building {
            names: spec
                .name
                .map(Names::from)
                .unwrap_or_else(|| Names::same(&spec.id)),
            id: spec.id,
            zone,
            floors: spec.floors,
            height_m: spec.height_m,
            footprint,
            rated_kw: spec.rated_kw,
        });
    }
    out
}

fn build_lots(
    ctx: &mut Ctx<'_>,
    ids: &mut Ids,
    specs: Vec<Entry<LotSpec>>,
    zones: &[Zone],
    zidx: &HashMap<String, usize>,
    t: &Thresholds,
) -> Vec<Lot> {
    let mut out = Vec::new();
    for Entry { line, span, spec } in specs {
        let what = format!("lot \"{}\"", spec.id);
        let mut ok = check_id(ctx, line, "lot", &spec.id) & ids.claim(ctx, "lot", &spec.id, line);
        let outline = shape(ctx, line, "lot", &spec.id, &spec.outline, &[]);
        let stale_after = match &spec.stale_after {
            Some(s) => ctx.duration(line, "stale_after", s),
            None => Some(t.lot_stale_after),
        };
        let mut levels: Vec<Level> = spec
            .levels
            .iter()
            .map(|l| Level {
                id: l.id.clone(),
                capacity: l.capacity.unwrap_or(0),
            })
            .collect();
        let mut seen_levels = BTreeSet::new();
        for l in &levels {
            if !seen_levels.insert(l.id.clone()) {
                ctx.at_line(
                    line,
                    format!("{what}: level \"{}\" is declared twice", l.id),
                );
                ok = false;
            }
        }
        if levels.is_empty() {
            levels.push(Level {
                id: "G".into(),
                capacity: 0,
            });
        }
        let mut bays = Vec::new();
        let mut per_level = vec![0u32; levels.len()];
        let mut bay_ids = BTreeSet::new();
        for b in &spec.bays {
            let bline = bay_line(ctx, &span, &b.id).unwrap_or(line);
            if !bay_ids.insert(b.id.clone()) {
                ctx.at_line(bline, format!("{what}: bay \"{}\" is declared twice", b.id));
                ok = false;
                continue;
            }
            let Some(level) = levels.iter().position(|l| l.id == b.level) else {
                let known: Vec<_> = levels.iter().map(|l| l.id.as_str()).collect();
                ctx.at_line(
                    bline,
                    format!(
                        "{what}: bay \"{}\" is on level \"{}\", which the lot does not have ({})",
                        b.id,
                        b.level,
                        known.join(", ")
                    ),
                );
                ok = false;
                continue;
            };
            let at = match geometry::check_lonlat(b.at) {
                Ok(p) => p,
                Err(e) => {
                    ctx.at_line(bline, format!("{what}: bay \"{}\": {e}", b.id));
                    ok = false;
                    continue;
                }
            };
            if let Some(o) = &outline {
                if !o.intersects(&at) {
                    ctx.at_line(
                        bline,
                        format!(
                            "{what}: bay \"{}\" at [{}, {}] is outside the lot's outline",
                            b.id, b.at[0], b.at[1]
                        ),
                    );
                    ok = false;
                }
            }
            if let Some(s) = &b.sensor {
                ok &= check_id(ctx, bline, "sensor", s);
            }
            per_level[level] += 1;
            bays.push(Bay {
                id: b.id.clone(),
                level,
                at,
                sensor: b.sensor.clone(),
            });
        }
        for (i, l) in levels.iter_mut().enumerate() {
            if l.capacity == 0 {
                l.capacity = per_level[i];
            } else if l.capacity < per_level[i] {
                ctx.at_line(
                    line,
                    format!(
                        "{what}: level \"{}\" has capacity {} but {} bays are listed on it",
                        l.id, l.capacity, per_level[i]
                    ),
                );
                ok = false;
            }
        }
        let level_sum: u32 = levels.iter().map(|l| l.capacity).sum();
        let capacity = match spec.capacity {
            Some(c) if level_sum > 0 && c != level_sum => {
                ctx.at_line(
                    line,
                    format!(
                        "{what}: capacity {c} differs from the sum of its levels ({level_sum})"
                    ),
                );
                ok = false;
                c
            }
            Some(c) => c,
            None => level_sum,
        };
        if capacity == 0 {
            ctx.at_line(
                line,
                format!("{what}: no capacity: give `capacity`, level capacities or bays"),
            );
            ok = false;
        }
        if levels.len() == 1 && levels[0].capacity == 0 {
            levels[0].capacity = capacity;
        }
        let Some(outline) = outline else {
            ctx.broken.insert(spec.id.clone());
            continue;
        };
        let zone = resolve_zone(
            ctx,
            line,
            &what,
            spec.zone.as_deref(),
            zones,
            zidx,
            &outline,
        );
        let _ = ok;
        let Some(zone) = zone else {
            ctx.broken.insert(spec.id.clone());
            continue;
        };
        let stale_after = stale_after.unwrap_or(t.lot_stale_after);
        let counting = if bays.iter().any(|b| b.sensor.is_some()) {
            LotCounting::Bays
        } else {
            LotCounting::None
        };
        out.push(Lot {
            id: spec.id,
            names: spec.name.into(),
            kind: match spec.kind.unwrap_or(LotKindSpec::Surface) {
                LotKindSpec::Surface => LotKind::Surface,
                LotKindSpec::Underground => LotKind::Underground,
                LotKindSpec::Multistorey => LotKind::Multistorey,
            },
            zone,
            outline,
            capacity,
            levels,
            bays,
            counting,
            stale_after: stale_after.max(Duration::from_secs(1)),
        });
    }
    out
}

/// The line of a bay's `"<id>"` inside its lot's entry.
fn bay_line(ctx: &Ctx<'_>, lot: &std::ops::Range<usize>, id: &str) -> Option<usize> {
    let needle = format!("\"{id}\"");
    let at = ctx.text.get(lot.clone())?.find(&needle)?;
    Some(ctx.lines.line_of(lot.start + at))
}

/// The local frame centred on the middle of the zones' bounding box.
fn frame_of(zones: &[Zone]) -> crate::frame::LocalFrame {
    let rect: Option<Rect<f64>> = zones
        .iter()
        .filter_map(|z| z.geometry.bounding_rect())
        .reduce(|a, b| {
            Rect::new(
                geo::Coord {
                    x: a.min().x.min(b.min().x),
                    y: a.min().y.min(b.min().y),
                },
                geo::Coord {
                    x: a.max().x.max(b.max().x),
                    y: a.max().y.max(b.max().y),
                },
            )
        });
    let c: Point<f64> = rect
        .map(|r| r.center().into())
        .unwrap_or(Point::new(0.0, 0.0));
    crate::frame::LocalFrame::new(c.x(), c.y())
}
