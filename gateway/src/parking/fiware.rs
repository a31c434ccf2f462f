//! FIWARE Smart Data Models in NGSI-LD normalized form (every attribute an object with
//! `type` `Property`/`GeoProperty`/`Relationship`), so a city platform can take them as
//! they are: `OffStreetParking` for a lot and `ParkingSpot` for each bay.
//!
//! Mapping: reservations count as taken (`availableSpotNumber` is free minus reserved; a
//! reserved bay's `status` is `occupied`, as the model has no reserved state); a stale lot's
//! status is `unknown`; ids are `urn:ngsi-ld:{Type}:{district}:{lot}[:{bay}]`.

use district::contract::live::{BaysLive, LotLive, LotStatus};
use district::{District, LotKind};
use geo::Centroid;
use serde_json::{json, Value};

/// The `@context` of every entity.
pub const CONTEXT: [&str; 2] = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
];

fn prop(v: Value) -> Value {
    json!({ "type": "Property", "value": v })
}

fn observed(v: Value, at: &str) -> Value {
    json!({ "type": "Property", "value": v, "observedAt": at })
}

/// Entity id of a lot.
pub fn lot_urn(d: &District, l: usize) -> String {
    format!("urn:ngsi-ld:OffStreetParking:{}:{}", d.id, d.lots[l].id)
}

/// `OffStreetParking` of lot `l` from its live state (reservations already layered on).
pub fn off_street_parking(d: &District, l: usize, live: &LotLive) -> Value {
    let lot = &d.lots[l];
    let c = lot
        .outline
        .centroid()
        .map(|p| [p.x(), p.y()])
        .unwrap_or([0.0, 0.0]);
    let status = match live.status {
        LotStatus::Open => json!(["open", "spotsAvailable"]),
        LotStatus::Full => json!(["open", "full"]),
        LotStatus::Closed => json!(["closed"]),
        LotStatus::Stale => json!(["unknown"]),
    };
    let category = match lot.kind {
        LotKind::Underground => "underground",
        LotKind::Multistorey => "multiStorey",
        LotKind::Surface => "surface",
    };
    let mut e = json!({
        "id": lot_urn(d, l),
        "type": "OffStreetParking",
        "name": prop(json!(lot.names.zh)),
        "alternateName": prop(json!(lot.names.en)),
        "category": prop(json!(["public", category])),
        "location": { "type": "GeoProperty", "value": { "type": "Point", "coordinates": c } },
        "totalSpotNumber": prop(json!(live.total)),
        "status": observed(status, &live.ts),
        "dateObserved": prop(json!(live.ts)),
        "@context": CONTEXT,
    });
    if live.status != LotStatus::Stale {
        e["availableSpotNumber"] = observed(json!(live.free), &live.ts);
        e["occupiedSpotNumber"] = observed(json!(live.occupied + live.reserved), &live.ts);
    }
    if !lot.bays.is_empty() {
        e["refParkingSpot"] = json!({
            "type": "Relationship",
            "object": lot.bays.iter().map(|b| spot_urn(d, l, &b.id)).collect::<Vec<_>>(),
        });
    }
    e
}

/// Entity id of a bay.
pub fn spot_urn(d: &District, l: usize, bay: &str) -> String {
    format!("urn:ngsi-ld:ParkingSpot:{}:{}:{}", d.id, d.lots[l].id, bay)
}

/// `ParkingSpot` entities of every bay of lot `l`.
pub fn parking_spots(d: &District, l: usize, bays: &BaysLive) -> Value {
    let lot = &d.lots[l];
    Value::Array(
        lot.bays
            .iter()
            .zip(bays.states.chars())
            .map(|(b, c)| {
                let status = match c {
                    'F' => "free",
                    'O' | 'R' => "occupied",
                    _ => "unknown",
                };
                json!({
                    "id": spot_urn(d, l, &b.id),
                    "type": "ParkingSpot",
                    "name": prop(json!(b.id)),
                    "category": prop(json!(["offStreet"])),
                    "location": { "type": "GeoProperty", "value": { "type": "Point", "coordinates": [b.at.x(), b.at.y()] } },
                    "status": observed(json!(status), &bays.ts),
                    "reserved": prop(json!(c == 'R')),
                    "level": prop(json!(lot.levels[b.level].id)),
                    "refParkingSite": { "type": "Relationship", "object": lot_urn(d, l) },
                    "@context": CONTEXT,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use district::contract::live::LevelLive;

    #[test]
    fn normalized_form_has_types_and_context() {
        let d = crate::parking::testing::hubin();
        let l = d.lots.iter().position(|l| !l.bays.is_empty()).unwrap();
        let live = LotLive {
            lot: d.lots[l].id.clone(),
            ts: "2026-11-22T02:00:00.000Z".into(),
            total: 10,
            free: 3,
            occupied: 5,
            reserved: 2,
            unknown: 0,
            status: LotStatus::Open,
            levels: vec![LevelLive {
                level: "B1".into(),
                total: 10,
                free: 3,
            }],
            entries_per_hour: 0,
            exits_per_hour: 0,
        };
        let e = off_street_parking(&d, l, &live);
        assert_eq!(e["type"], "OffStreetParking");
        assert_eq!(e["availableSpotNumber"]["type"], "Property");
        assert_eq!(e["availableSpotNumber"]["value"], 3);
        assert_eq!(e["occupiedSpotNumber"]["value"], 7);
        assert_eq!(e["location"]["type"], "GeoProperty");
        assert_eq!(e["@context"][0], CONTEXT[0]);
        let bays = BaysLive {
            lot: live.lot.clone(),
            ts: live.ts.clone(),
            states: "FRO".into(),
        };
        let s = parking_spots(&d, l, &bays);
        assert_eq!(s[1]["status"]["value"], "occupied");
        assert_eq!(s[1]["reserved"]["value"], true);
        assert_eq!(s[0]["refParkingSite"]["object"], lot_urn(&d, l));
        assert_eq!(
            s.as_array().unwrap().len(),
            3,
            "one entity per bay state given"
        );
    }
}
