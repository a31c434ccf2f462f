//! District restart benchmark: how long a district's owner takes to rebuild its state from
//! the store after a panic (its last day of readings replayed and applied; the open alerts and reservations it
//! also reads are a few rows),
//! against the bare read of the same rows in the same run.
//!
//! `cargo run --release -p gateway --example bench_restart -- [HOURS]` (default 24: one
//! simulated day of the Hubin district, about 200,000 readings, written into a fresh store).
//! Prints the rows, the bare read time, the rebuild time and their ratio.

use std::time::Instant;

use district::contract::reading::decode;
use gateway::state::DistrictState;
use gateway::store::{schema, Reader};
use sensors_sim::scenario::Scenario;
use sensors_sim::world::{What, World, WorldConfig};

fn main() -> anyhow::Result<()> {
    let hours: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(24);
    let hubin = district::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/districts/hubin.toml"
    ))?;
    let start_ms =
        chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00+08:00")?.timestamp_millis();
    let end = start_ms + hours * 3_600_000;
    let dir = tempfile::tempdir()?;
    let mut conn = schema::open(dir.path())?;
    let mut world = World::new(
        &hubin,
        1,
        Scenario::default(),
        WorldConfig {
            seed: 1,
            counter_error: 0.0,
            start_ms,
        },
    );
    let mut rows = 0u64;
    let mut buf = Vec::new();
    {
        let tx = conn.transaction()?;
        for (i, dev) in hubin.devices.iter().enumerate() {
            tx.execute(
                "INSERT INTO device (id, district, device, kind) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![i as i64 + 1, hubin.id, dev.id, dev.kind.as_str()],
            )?;
        }
        let mut ins = tx.prepare(
            "INSERT OR IGNORE INTO reading (ts, device, seq, value) VALUES (?1, ?2, ?3, ?4)",
        )?;
        while world.now_ms() < end {
            world.step_into((world.now_ms() + 60_000).min(end), &mut buf);
            for o in buf.drain(..) {
                let What::Reading { kind, .. } = o.what else {
                    continue;
                };
                let device = o.topic.rsplit('/').next().unwrap_or_default();
                let Some(idx) = hubin.device_idx(device) else {
                    continue;
                };
                let Ok(r) = decode(kind, &o.payload) else {
                    continue;
                };
                ins.execute(rusqlite::params![
                    r.ts_ms,
                    idx as i64 + 1,
                    r.seq.map(|s| s as i64),
                    serde_json::to_string(&r.value)?
                ])?;
                rows += 1;
            }
        }
        drop(ins);
        tx.commit()?;
    }
    drop(conn);
    let reader = Reader::open(dir.path())?;
    let now = end;
    // Reference: the same rows read and decoded, nothing applied.
    let t = Instant::now();
    let mut n = 0u64;
    reader.replay_district(Some(&hubin.id), now - 86_400_000, |_| n += 1)?;
    let bare = t.elapsed().as_secs_f64();
    // The rebuild: a fresh state, every row applied.
    let model = std::sync::Arc::new(hubin.clone());
    let t = Instant::now();
    let mut state = DistrictState::new(model.clone(), now);
    reader.replay_district(Some(&hubin.id), now - 86_400_000, |r| {
        if let Some(dev) = model.device_idx(&r.device) {
            state.apply(dev, &r.reading);
        }
    })?;
    let rebuild = t.elapsed().as_secs_f64();
    println!(
        "rows written: {rows} ({hours} simulated hours of {}); replayed: {n}",
        hubin.id
    );
    println!("bare read of the rows: {bare:.2} s");
    println!(
        "rebuild (read and apply): {rebuild:.2} s, ratio to the bare read {:.2}",
        rebuild / bare
    );
    println!("people now in the first zone: {}", state.zones[0].people());
    Ok(())
}
