//! Devices and guidance signs: kinds, roles, references, locations and intervals checked.

use std::time::Duration;

use geo::Intersects;

use super::places::{check_id, Ids};
use super::{Ctx, Entry};
use crate::geometry;
use crate::model::*;
use crate::spec::{DeviceSpec, SignSpec};

/// Default report interval per kind when a device gives none.
fn default_interval(kind: DeviceKind) -> Duration {
    match kind {
        DeviceKind::Footfall | DeviceKind::Air | DeviceKind::Energy => Duration::from_secs(60),
        DeviceKind::Parking => Duration::from_secs(60),
        DeviceKind::Fire => Duration::from_secs(3600),
    }
}

/// Bay sensors report on change plus a heartbeat (default every 4 h).
const BAY_HEARTBEAT: Duration = Duration::from_secs(4 * 3600);

pub(super) fn build(
    ctx: &mut Ctx<'_>,
    d: &mut District,
    ids: &mut Ids,
    specs: Vec<Entry<DeviceSpec>>,
    signs: Vec<Entry<SignSpec>>,
) {
    // Bay sensors first: they are declared on their bays.
    for (li, lot) in d.lots.iter().enumerate() {
        for (bi, bay) in lot.bays.iter().enumerate() {
            let Some(sensor) = &bay.sensor else { continue };
            // Bay lines were checked when the lot was built; a duplicate sensor id is reported
            // at the lot's first mention of it.
            let line = find_line(ctx, sensor).unwrap_or(1);
            if !ids.claim(ctx, "device", sensor, line) {
                continue;
            }
            d.devices.push(Device {
                id: sensor.clone(),
                kind: DeviceKind::Parking,
                role: Role::Bay { lot: li, bay: bi },
                location: Some(bay.at),
                zone: Some(lot.zone),
                building: None,
                floor: None,
                interval: BAY_HEARTBEAT,
            });
        }
    }
    for Entry { line, spec, .. } in specs {
        let id_ok =
            check_id(ctx, line, "device", &spec.id) & ids.claim(ctx, "device", &spec.id, line);
        if let Some(dev) = device(ctx, d, line, &spec) {
            if id_ok {
                d.devices.push(dev);
            }
        }
    }
    for Entry { line, spec, .. } in signs {
        let ok = check_id(ctx, line, "sign", &spec.id) & ids.claim(ctx, "sign", &spec.id, line);
        if let Some(s) = sign(ctx, d, line, spec) {
            if ok {
                d.signs.push(s);
            }
        }
    }
    derive_counting(d);
}

fn find_line(ctx: &Ctx<'_>, id: &str) -> Option<usize> {
    ctx.text
        .find(&format!("\"{id}\""))
        .map(|i| ctx.lines.line_of(i))
}

fn device(ctx: &mut Ctx<'_>, d: &District, line: usize, s: &DeviceSpec) -> Option<Device> {
    let what = format!("device \"{}\"", s.id);
    let Some(kind) = DeviceKind::parse(&s.kind) else {
        ctx.at_line(
            line,
            format!(
                "{what}: kind \"{}\" is not one of footfall, parking, air, energy, fire",
                s.kind
            ),
        );
        return None;
    };
    let mut ok = true;
    let location = match s.location.map(geometry::check_lonlat) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            ctx.at_line(line, format!("{what}: location: {e}"));
            ok = false;
            None
        }
        None => None,
    };
    let mut lookup = |ctx: &mut Ctx<'_>,
                      key: &str,
                      id: &Option<String>,
                      idx: Option<usize>,
                      table: &str|
     -> Option<usize> {
        let id = id.as_ref()?;
        if idx.is_none() && !ctx.broken.contains(id) {
            ctx.at_line(
                line,
                format!("{what}: {key} \"{id}\" is not declared in [[{table}]]"),
            );
            ok = false;
        }
        idx
    };
    let zone_given = lookup(
        ctx,
        "zone",
        &s.zone,
        s.zone.as_deref().and_then(|z| d.zone_idx(z)),
        "zones",
    );
    let building = lookup(
        ctx,
        "building",
        &s.building,
        s.building.as_deref().and_then(|b| d.building_idx(b)),
        "buildings",
    );
    let lot = lookup(
        ctx,
        "lot",
        &s.lot,
        s.lot.as_deref().and_then(|l| d.lot_idx(l)),
        "lots",
    );
    let enters = lookup(
        ctx,
        "enters",
        &s.enters,
        s.enters.as_deref().and_then(|z| d.zone_idx(z)),
        "zones",
    );
    let leaves = match s.leaves.as_deref() {
        None | Some("outside") => Some(Side::Outside),
        Some(z) => match d.zone_idx(z) {
            Some(i) => Some(Side::Zone(i)),
            None => {
                if !ctx.broken.contains(z) {
                    ctx.at_line(
                        line,
                        format!("{what}: leaves \"{z}\" is neither a zone nor \"outside\""),
                    );
                }
                ok = false;
                None
            }
        },
    };
    let counter = s.counter.as_deref();
    let role = match (kind, counter) {
        (DeviceKind::Footfall, Some("line")) => match (enters, leaves) {
            (Some(e), Some(l)) if l == Side::Zone(e) => {
                ctx.at_line(line, format!("{what}: enters and leaves the same zone"));
                None
            }
            (Some(e), Some(l)) => Some(Role::FootfallLine {
                enters: e,
                leaves: l,
            }),
            (None, _) if s.enters.is_none() => {
                ctx.at_line(line, format!("{what}: a line counter needs `enters = \"<zone>\"` (the zone its `in` direction enters)"));
                None
            }
            _ => None,
        },
        (DeviceKind::Footfall, Some("area")) => {
            let z = zone_given.or_else(|| location.and_then(|p| d.zone_at(p)));
            if z.is_none() && zone_given.is_none() && s.zone.is_none() {
                ctx.at_line(line, format!("{what}: an area counter needs `zone = \"<zone>\"` or a location inside one"));
            }
            z.map(|zone| Role::FootfallArea { zone })
        }
        (DeviceKind::Footfall, other) => {
            ctx.at_line(line, format!("{what}: footfall counters need `counter = \"line\"` or `counter = \"area\"`, found {other:?}"));
            None
        }
        (DeviceKind::Parking, Some("entrance")) => match lot {
            Some(lot) => Some(Role::Entrance { lot }),
            None => {
                if s.lot.is_none() {
                    ctx.at_line(
                        line,
                        format!("{what}: an entrance counter needs `lot = \"<lot>\"`"),
                    );
                }
                None
            }
        },
        (DeviceKind::Parking, _) => {
            ctx.at_line(line, format!(
                "{what}: parking devices listed here must be entrance counters (`counter = \"entrance\"`); declare bay sensors on their bays with `sensor = \"...\"`"
            ));
            None
        }
        (DeviceKind::Air, _) => Some(Role::Air { indoor: s.indoor }),
        (DeviceKind::Energy, _) => match building {
            Some(b) => Some(Role::Energy { building: b }),
            None => {
                if s.building.is_none() {
                    ctx.at_line(
                        line,
                        format!("{what}: an energy meter needs `building = \"<building>\"`"),
                    );
                }
                None
            }
        },
        (DeviceKind::Fire, _) => match building {
            Some(b) => Some(Role::Fire { building: b }),
            None => {
                if s.building.is_none() {
                    ctx.at_line(
                        line,
                        format!("{what}: a fire detector needs `building = \"<building>\"`"),
                    );
                }
                None
            }
        },
    };
    if let (Some(b), Some(f)) = (building, s.floor) {
        let floors = d.buildings[b].floors as i32;
        if f == 0 || f > floors || f < -10 {
            ctx.at_line(line, format!("{what}: floor {f} is not in building \"{}\" (floors 1..={floors}, or basements -1..-10)", d.buildings[b].id));
            ok = false;
        }
    }
    // Where it is: explicit zone, else its building's or lot's zone, else the zone at its location.
    let zone = zone_given
        .or(building.map(|b| d.buildings[b].zone))
        .or(lot.map(|l| d.lots[l].zone))
        .or(match &role {
            Some(Role::FootfallLine { enters, .. }) => Some(*enters),
            Some(Role::FootfallArea { zone }) => Some(*zone),
            _ => None,
        })
        .or_else(|| location.and_then(|p| d.zone_at(p)));
    if zone.is_none() && ok && role.is_some() {
        match location {
            Some(p) => ctx.at_line(line, format!("{what}: location [{}, {}] is outside every zone; move it or give `zone = \"...\"`", p.x(), p.y())),
            None => ctx.at_line(line, format!("{what}: give a `location = [lon, lat]` or a `zone`")),
        }
        ok = false;
    }
    if let (Some(p), Some(b)) = (location, building) {
        if !d.buildings[b].footprint.intersects(&p) && kind == DeviceKind::Fire {
            ctx.at_line(
                line,
                format!(
                    "{what}: location [{}, {}] is outside building \"{}\"",
                    p.x(),
                    p.y(),
                    d.buildings[b].id
                ),
            );
            ok = false;
        }
    }
    let interval = match &s.interval {
        Some(v) => ctx.duration(line, "interval", v),
        None => Some(default_interval(kind)),
    };
    let (Some(role), Some(interval), true) = (role, interval, ok) else {
        return None;
    };
    Some(Device {
        id: s.id.clone(),
        kind,
        role,
        location,
        zone,
        building,
        floor: s.floor,
        interval,
    })
}

fn sign(ctx: &mut Ctx<'_>, d: &District, line: usize, s: SignSpec) -> Option<Sign> {
    let what = format!("sign \"{}\"", s.id);
    let mut ok = true;
    let location = match geometry::check_lonlat(s.location) {
        Ok(p) => Some(p),
        Err(e) => {
            ctx.at_line(line, format!("{what}: location: {e}"));
            None
        }
    };
    if s.lines.is_empty() {
        ctx.at_line(line, format!("{what}: a sign needs at least one line"));
        ok = false;
    }
    let mut lines = Vec::new();
    for l in s.lines {
        match d.lot_idx(&l.lot) {
            Some(lot) => lines.push(SignLine {
                lot,
                arrow: l.arrow.into(),
                label: l
                    .label
                    .map(Names::from)
                    .unwrap_or_else(|| d.lots[lot].names.clone()),
            }),
            None if ctx.broken.contains(&l.lot) => ok = false,
            None => {
                let known: Vec<_> = d.lots.iter().map(|l| l.id.as_str()).collect();
                ctx.at_line(
                    line,
                    format!(
                        "{what}: points at lot \"{}\", which is not declared (lots: {})",
                        l.lot,
                        known.join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    let (Some(location), true) = (location, ok) else {
        return None;
    };
    Some(Sign {
        id: s.id,
        names: s.name.into(),
        location,
        lines,
    })
}

/// How each zone's people and each lot's occupancy are counted, from the devices present.
fn derive_counting(d: &mut District) {
    for z in d.zones.iter_mut() {
        z.counting = ZoneCounting::None;
    }
    for dev in &d.devices {
        match dev.role {
            Role::FootfallArea { zone } => d.zones[zone].counting = ZoneCounting::Area,
            Role::FootfallLine { enters, leaves } => {
                for z in [
                    Some(enters),
                    if let Side::Zone(z) = leaves {
                        Some(z)
                    } else {
                        None
                    },
                ]
                .into_iter()
                .flatten()
                {
                    if d.zones[z].counting == ZoneCounting::None {
                        d.zones[z].counting = ZoneCounting::Lines;
                    }
                }
            }
            Role::Entrance { lot } if d.lots[lot].counting == LotCounting::None => {
                d.lots[lot].counting = LotCounting::Entrances;
            }
            _ => {}
        }
    }
}
