//! The writer's verdicts against a real SQLite store: new, copy in the same batch, copy in a
//! later batch after a reopen, late copy, late new reading.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use district::contract::reading::decode;
use district::DeviceKind;
use tokio::sync::mpsc;

use super::*;
use crate::store::{schema, Reader};

type Seen = Arc<Mutex<Vec<(u64, Verdict)>>>;

fn candidate(seq: u64, ts: i64, late: bool) -> StoreMsg {
    let json = format!(r#"{{"ts":{ts},"seq":{seq},"in":1,"out":0}}"#);
    StoreMsg::Reading(Box::new(Candidate {
        district: 0,
        device: 0,
        district_id: "mini".into(),
        device_id: "fc-1".into(),
        kind: "footfall",
        reading: decode(DeviceKind::Footfall, json.as_bytes()).unwrap(),
        arrived: Instant::now(),
        late: late.then(|| DeadLetterRow {
            received: ts + 2 * 86_400_000,
            district: "mini".into(),
            topic: "district/mini/sensors/footfall/fc-1".into(),
            reason: "too_late",
            detail: "ts is 2 days behind".into(),
            payload: json.into_bytes(),
        }),
        ack: None,
        rowid: 0,
    }))
}

/// Runs one writer over `dir` on `batches` (each sent as a group and flushed) and returns the
/// verdicts by seq.
fn write(dir: &std::path::Path, batches: Vec<Vec<StoreMsg>>) -> Vec<(u64, Verdict)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let (acks, _acks_rx) = mpsc::unbounded_channel();
    let (tx, handle) = start_writer(
        schema::open(dir).unwrap(),
        1000,
        1000,
        Arc::default(),
        acks,
        Box::new(move |v| {
            let mut s = sink.lock().unwrap();
            s.extend(v.into_iter().map(|(c, v)| (c.reading.seq.unwrap(), v)));
        }),
    );
    rt.block_on(async {
        for batch in batches {
            for m in batch {
                tx.send(m).await;
            }
            tx.flush().await;
        }
    });
    drop(tx);
    handle.join().unwrap();
    let out = seen.lock().unwrap().clone();
    out
}

#[test]
fn the_store_decides_what_is_new_whatever_the_restarts_and_the_lateness() {
    let dir = tempfile::tempdir().unwrap();
    let t = 1_795_312_800_000;
    let first = write(
        dir.path(),
        vec![vec![
            candidate(1, t, false),
            candidate(2, t + 1000, false),
            candidate(1, t, false), // a copy in the same transaction
        ]],
    );
    assert_eq!(
        first,
        [
            (1, Verdict::Stored),
            (2, Verdict::Stored),
            (1, Verdict::Duplicate)
        ]
    );
    // Another writer on the same folder (a restart): copies stay copies, even when late.
    let second = write(
        dir.path(),
        vec![
            vec![candidate(2, t + 1000, false), candidate(1, t, true)],
            vec![candidate(3, t + 2000, true)],
        ],
    );
    assert_eq!(
        second,
        [
            (2, Verdict::Duplicate),
            (1, Verdict::Duplicate),
            (3, Verdict::Late)
        ]
    );
    let reader = Reader::open(dir.path()).unwrap();
    assert_eq!(reader.reading_count().unwrap(), 2);
    assert_eq!(
        reader.deadletters_per_reason().unwrap(),
        [("too_late".to_string(), 1)]
    );
}

#[test]
fn a_fire_reading_overtakes_a_queue_of_thousands() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let order: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let sink = order.clone();
    let (acks, _acks_rx) = mpsc::unbounded_channel();
    let (tx, handle) = start_writer(
        schema::open(dir.path()).unwrap(),
        5000,
        10_000,
        Arc::default(),
        acks,
        Box::new(move |v| {
            sink.lock()
                .unwrap()
                .extend(v.into_iter().map(|(c, _)| c.kind));
        }),
    );
    // Another connection holds the write lock, so the writer stalls on its first commit
    // while thousands of readings queue behind it.
    let blocker = rusqlite::Connection::open(dir.path().join(schema::FILE)).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let t = 1_795_312_800_000;
    rt.block_on(async {
        tx.send(candidate(1, t, false)).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        for seq in 2..=3000 {
            tx.send(candidate(seq, t + seq as i64, false)).await;
        }
        let json = format!(r#"{{"ts":{t},"state":"alarm"}}"#);
        let fire = StoreMsg::Reading(Box::new(Candidate {
            district: 0,
            device: 1,
            district_id: "mini".into(),
            device_id: "sd-1".into(),
            kind: "fire",
            reading: decode(DeviceKind::Fire, json.as_bytes()).unwrap(),
            arrived: Instant::now(),
            late: None,
            ack: None,
            rowid: 0,
        }));
        assert!(fire.is_urgent());
        tx.send_urgent(fire);
    });
    blocker.execute_batch("COMMIT").unwrap();
    rt.block_on(tx.flush());
    drop(tx);
    handle.join().unwrap();
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 3001);
    let at = order.iter().position(|k| *k == "fire").unwrap();
    // At most the one reading the writer had already taken is ahead of it (aim: no reading
    // that queued before it waits ahead of it); without the lane it would be 3,000th.
    assert!(at <= 1, "the fire reading was committed {at}th");
}

#[test]
fn a_failing_write_is_rolled_back_alone_and_each_job_hears_its_outcome_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (acks, _acks_rx) = mpsc::unbounded_channel();
    let seen: Seen = Arc::default();
    let sink = seen.clone();
    let (tx, handle) = start_writer(
        schema::open(dir.path()).unwrap(),
        1000,
        1000,
        Arc::default(),
        acks,
        Box::new(move |v| {
            sink.lock()
                .unwrap()
                .extend(v.into_iter().map(|(c, v)| (c.reading.seq.unwrap(), v)));
        }),
    );
    let t = 1_795_312_800_000;
    fn audit(who: &'static str) -> impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<()> {
        move |c| crate::alerts::db::audit(c, "mini", "a-1", "acknowledge", who, "", 0, "done")
    }
    let (good, bad, later) = rt.block_on(async {
        // One group commit: a reading, a good job, a job that fails halfway (its first row
        // must go with it), another good job on the urgent lane.
        tx.send(candidate(1, t, false)).await;
        let good = tx.write(audit("first"));
        let bad = tx.write(|c| {
            audit("half")(c)?;
            c.execute("INSERT INTO no_such_table VALUES (1)", [])?;
            Ok(())
        });
        let later = tx.write_now(audit("second"));
        let (good, bad) = tokio::join!(good, bad);
        (good, bad, later.await.unwrap())
    });
    assert!(good.is_ok() && later.is_ok(), "{good:?} {later:?}");
    assert!(
        matches!(bad, Err(WriteError::Job(ref e)) if e.contains("no_such_table")),
        "{bad:?}"
    );
    drop(tx);
    handle.join().unwrap();
    assert_eq!(*seen.lock().unwrap(), [(1, Verdict::Stored)]);
    let db = crate::alerts::db::AlertDb::open(dir.path()).unwrap();
    let who: Vec<String> = db
        .actions("a-1")
        .unwrap()
        .into_iter()
        .map(|a| a.1)
        .collect();
    assert_eq!(who, ["second", "first"]);
}
