//! Replicating a district N times for load tests (`--scale N`).
//!
//! Replica `k` (1-based) gets the district id and every device id suffixed `-{k:03}`
//! (`hubin-001`, `fc-01-001`); zones, buildings, lots and signs keep their ids, which are scoped
//! by the district id in every topic. The simulator and the gateway apply the same rule, so both
//! know the same devices.

use crate::model::District;

/// The suffix of replica `k` (1-based).
pub fn suffix(k: usize) -> String {
    format!("-{k:03}")
}

/// `n` copies of `d` with suffixed ids; `n <= 1` gives the district unchanged.
pub fn replicate(d: &District, n: usize) -> Vec<District> {
    if n <= 1 {
        return vec![d.clone()];
    }
    (1..=n)
        .map(|k| {
            let sfx = suffix(k);
            let mut r = d.clone();
            r.id.push_str(&sfx);
            for dev in r.devices.iter_mut() {
                dev.id.push_str(&sfx);
            }
            for lot in r.lots.iter_mut() {
                for bay in lot.bays.iter_mut() {
                    if let Some(s) = bay.sensor.as_mut() {
                        s.push_str(&sfx);
                    }
                }
            }
            r.reindex();
            r
        })
        .collect()
}
