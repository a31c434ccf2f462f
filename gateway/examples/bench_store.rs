//! Store write-rate benchmark: what the reading identity key costs.
//!
//! `cargo run --release -p gateway --example bench_store -- [READINGS] [DEVICES] [BATCH]`
//! (defaults 2,000,000 readings over 1,000 devices, 1,000 rows per transaction).
//!
//! Writes the same readings, in the same group commits, into two stores in one run:
//! - reference: the layout before reading identity existed (`reading` with a plain index on
//!   `ts`, plain `INSERT`);
//! - identity: the store as the gateway opens it (`store::schema::open`: unique index on
//!   `(ts, device, IFNULL(seq, -1))`, `INSERT OR IGNORE`).
//!
//! Then, into the identity store only, the last 10 % again (redeliveries: every row refused),
//! and prints rows/s of each and the ratios. Readings arrive in event-time order per device,
//! interleaved across devices with up to 60 s of jitter, as a district's devices report.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rusqlite::{params, Connection};

struct Row {
    ts: i64,
    device: i64,
    seq: i64,
    value: String,
}

fn rows(n: usize, devices: usize) -> Vec<Row> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let base = 1_795_312_800_000i64;
    let mut out: Vec<Row> = (0..n)
        .map(|i| {
            let device = (i % devices) as i64 + 1;
            let seq = (i / devices) as i64 + 1;
            Row {
                ts: base + seq * 60_000 + rng.gen_range(0..60_000),
                device,
                seq,
                value: format!(r#"{{"Line":{{"ins":{},"outs":{}}}}}"#, i % 7, i % 5),
            }
        })
        .collect();
    // Arrival order: by report time, so devices interleave.
    out.sort_by_key(|r| r.ts);
    out
}

/// Writes `rows` with `sql` in transactions of `batch`; returns (rows/s, rows changed).
fn write(conn: &mut Connection, sql: &str, rows: &[Row], batch: usize) -> (f64, usize) {
    let t = Instant::now();
    let mut changed = 0;
    for chunk in rows.chunks(batch) {
        let tx = conn.transaction().unwrap();
        {
            let mut st = tx.prepare_cached(sql).unwrap();
            for r in chunk {
                changed += st.execute(params![r.ts, r.device, r.seq, r.value]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    (rows.len() as f64 / t.elapsed().as_secs_f64(), changed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let devices: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let batch: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1_000);
    let data = rows(n, devices);

    let dir = tempfile::tempdir().unwrap();
    let mut reference = Connection::open(dir.path().join("reference.sqlite")).unwrap();
    reference
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16000;
             CREATE TABLE reading (ts INTEGER NOT NULL, device INTEGER NOT NULL, seq INTEGER, value TEXT NOT NULL);
             CREATE INDEX reading_ts ON reading (ts);",
        )
        .unwrap();
    let (ref_rate, ref_rows) = write(
        &mut reference,
        "INSERT INTO reading (ts, device, seq, value) VALUES (?1, ?2, ?3, ?4)",
        &data,
        batch,
    );

    let mut identity = gateway::store::schema::open(&dir.path().join("identity")).unwrap();
    let insert = "INSERT OR IGNORE INTO reading (ts, device, seq, value) VALUES (?1, ?2, ?3, ?4)";
    let (id_rate, id_rows) = write(&mut identity, insert, &data, batch);
    let again = &data[n - n / 10..];
    let (dup_rate, dup_rows) = write(&mut identity, insert, again, batch);

    println!("readings: {n}, devices: {devices}, rows per transaction: {batch}");
    println!("reference (plain index on ts, INSERT): {ref_rate:.0} rows/s, {ref_rows} stored");
    println!(
        "identity (unique (ts, device, seq), INSERT OR IGNORE): {id_rate:.0} rows/s, {id_rows} stored, ratio {:.2}",
        id_rate / ref_rate
    );
    println!(
        "redeliveries of the last 10 %: {dup_rate:.0} rows/s, {dup_rows} stored, ratio {:.2}",
        dup_rate / ref_rate
    );
    for c in [&reference, &identity] {
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    let size = |p: &str| std::fs::metadata(dir.path().join(p)).map_or(0, |m| m.len());
    println!(
        "file size: reference {:.1} MiB, identity {:.1} MiB",
        size("reference.sqlite") as f64 / 1048576.0,
        size("identity/gateway.sqlite") as f64 / 1048576.0,
    );
}
