//! Ground truth: what really is in a district at a whole simulated minute.
//!
//! Published retained (QoS 1) on `district/{d}/sim/truth` once every reading stamped at or before
//! that minute has been handed to the MQTT client, and, with `--truth FILE`, appended to the
//! file as one JSON line per district per minute (the same JSON as the message).

use std::collections::BTreeMap;

use district::contract::truth::Truth;
use district::District;

/// Builds the truth of district `d` at `ts_ms` from its true people per zone and free spaces
/// per lot (both indexed like the district's zones and lots).
pub(crate) fn build(
    d: &District,
    ts_ms: i64,
    sim_time: &str,
    people: impl Fn(usize) -> u32,
    free: impl Fn(usize) -> u32,
) -> Truth {
    Truth {
        district: d.id.clone(),
        sim_time: sim_time.to_string(),
        ts_ms,
        people: d
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.id.clone(), people(i)))
            .collect::<BTreeMap<_, _>>(),
        free_bays: d
            .lots
            .iter()
            .enumerate()
            .map(|(i, l)| (l.id.clone(), free(i)))
            .collect(),
    }
}

/// The JSON of a truth (message payload and file line).
pub(crate) fn to_json(t: &Truth) -> Vec<u8> {
    serde_json::to_vec(t).unwrap_or_default()
}
