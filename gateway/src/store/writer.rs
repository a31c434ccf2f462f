//! The store writer: one thread, group commits, acknowledgements after commit.
//!
//! Rows arrive on a bounded channel (a full channel slows the pipeline, and so the broker's
//! acks: backpressure, never a silent drop). The writer takes every row waiting, up to
//! `batch_rows`, commits them in one
//! transaction, and only then releases their MQTT acks. So batches are small at low load
//! (low latency) and grow under load (high throughput).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::{params, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;
use crate::state::RollupPoint;

/// An MQTT message to acknowledge once its row is durable.
pub type Ack = rumqttc::Publish;

/// Work for the store.
#[derive(Debug)]
pub enum StoreMsg {
    /// An accepted reading.
    Reading {
        /// District index and device index (the writer's cache key).
        key: (u32, u32),
        /// District id.
        district: Arc<str>,
        /// Device id.
        device: Arc<str>,
        /// When the pipeline got it (for the arrival-to-commit latency).
        arrived: Instant,
        /// Device kind.
        kind: &'static str,
        /// Event time, ms.
        ts: i64,
        /// Sequence number.
        seq: Option<u64>,
        /// The measurement as JSON.
        value: String,
        /// To acknowledge after commit.
        ack: Option<Ack>,
    },
    /// A reject.
    DeadLetter {
        /// Gateway clock, ms.
        received: i64,
        /// District id (empty if unknown).
        district: String,
        /// Topic.
        topic: String,
        /// Reason code.
        reason: &'static str,
        /// Details.
        detail: String,
        /// Payload (cut).
        payload: Vec<u8>,
        /// To acknowledge after commit.
        ack: Option<Ack>,
    },
    /// An acknowledgement with nothing to store (a duplicate).
    AckOnly(Ack),
    /// Minute rollups of a district.
    Rollups(Arc<str>, Vec<RollupPoint>),
    /// Delete raw readings before this event time (retention).
    Prune {
        /// Readings before this ms go.
        raw_before: i64,
        /// Rollups before this ms go.
        rollup_before: i64,
    },
    /// Commit everything before this and answer.
    Flush(oneshot::Sender<()>),
}

/// The sending side, with the queue gauge kept up to date.
#[derive(Debug, Clone)]
pub struct StoreTx {
    tx: mpsc::Sender<StoreMsg>,
    metrics: Arc<Metrics>,
}

impl StoreTx {
    /// Queues work, waiting while the queue is full (backpressure).
    pub async fn send(&self, msg: StoreMsg) {
        self.metrics.store_queue.fetch_add(1, Relaxed);
        if self.tx.send(msg).await.is_err() {
            self.metrics.store_queue.fetch_sub(1, Relaxed);
            self.metrics.store_errors.fetch_add(1, Relaxed);
        }
    }

    /// Waits until everything queued before is committed.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(StoreMsg::Flush(tx)).await;
        let _ = rx.await;
    }
}

/// Starts the writer thread on an open connection; acknowledgements of committed rows are
/// sent to `acks`. The thread ends when every sender is dropped, after a last commit.
pub fn start_writer(
    conn: Connection,
    batch_rows: usize,
    queue: usize,
    metrics: Arc<Metrics>,
    acks: mpsc::UnboundedSender<Vec<Ack>>,
) -> (StoreTx, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(queue);
    let m = metrics.clone();
    let handle = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            let mut w = Writer {
                conn,
                devices: HashMap::new(),
                metrics: m,
                acks,
            };
            w.run(rx, batch_rows.max(1));
        })
        .expect("spawn store writer");
    (StoreTx { tx, metrics }, handle)
}

fn drain(rx: &mut mpsc::Receiver<StoreMsg>, batch: &mut Vec<StoreMsg>, max: usize) {
    while batch.len() < max {
        match rx.try_recv() {
            Ok(m) => batch.push(m),
            Err(_) => break,
        }
    }
}

struct Writer {
    conn: Connection,
    devices: HashMap<(u32, u32), i64>,
    metrics: Arc<Metrics>,
    acks: mpsc::UnboundedSender<Vec<Ack>>,
}

impl Writer {
    fn run(&mut self, mut rx: mpsc::Receiver<StoreMsg>, batch_rows: usize) {
        let mut batch = Vec::with_capacity(batch_rows);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            drain(&mut rx, &mut batch, batch_rows);
            self.metrics
                .store_queue
                .fetch_sub(batch.len() as i64, Relaxed);
            self.commit(&mut batch);
        }
    }

    fn commit(&mut self, batch: &mut Vec<StoreMsg>) {
        let started = Instant::now();
        let mut acks = Vec::new();
        let mut flushes = Vec::new();
        let mut rows = 0;
        let mut arrivals = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT INTO reading (ts, device, seq, value) VALUES (?1, ?2, ?3, ?4)",
                )?;
                let mut dl = tx.prepare_cached(
                    "INSERT INTO deadletter (received, district, topic, reason, detail, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                let mut roll = tx.prepare_cached(
                    "INSERT OR REPLACE INTO rollup (district, entity, id, metric, minute, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for msg in batch.drain(..) {
                    match msg {
                        StoreMsg::Reading {
                            key,
                            district,
                            device,
                            arrived,
                            kind,
                            ts,
                            seq,
                            value,
                            ack,
                        } => {
                            let id = match self.devices.get(&key) {
                                Some(&id) => id,
                                None => {
                                    let id = device_id(&tx, &district, &device, kind)?;
                                    self.devices.insert(key, id);
                                    id
                                }
                            };
                            ins.execute(params![ts, id, seq.map(|s| s as i64), value])?;
                            rows += 1;
                            arrivals.push(arrived);
                            acks.extend(ack);
                        }
                        StoreMsg::DeadLetter {
                            received,
                            district,
                            topic,
                            reason,
                            detail,
                            payload,
                            ack,
                        } => {
                            dl.execute(params![
                                received, district, topic, reason, detail, payload
                            ])?;
                            rows += 1;
                            acks.extend(ack);
                        }
                        StoreMsg::AckOnly(a) => acks.push(a),
                        StoreMsg::Rollups(district, points) => {
                            for p in &points {
                                roll.execute(params![
                                    &*district, p.entity, p.id, p.metric, p.minute, p.value
                                ])?;
                            }
                            self.metrics.rollups.fetch_add(points.len() as u64, Relaxed);
                            rows += points.len();
                        }
                        StoreMsg::Prune {
                            raw_before,
                            rollup_before,
                        } => {
                            tx.execute("DELETE FROM reading WHERE ts < ?1", params![raw_before])?;
                            tx.execute(
                                "DELETE FROM rollup WHERE minute < ?1",
                                params![rollup_before],
                            )?;
                            tx.execute(
                                "DELETE FROM deadletter WHERE received < ?1",
                                params![raw_before],
                            )?;
                        }
                        StoreMsg::Flush(done) => flushes.push(done),
                    }
                }
            }
            tx.commit()
        })();
        match result {
            Ok(()) => {
                self.metrics
                    .commit(rows, started.elapsed().as_micros() as u64);
                let done = Instant::now();
                for a in arrivals {
                    self.metrics.stored_latency.record(done - a);
                }
                if !acks.is_empty() {
                    self.metrics.acks.fetch_add(acks.len() as u64, Relaxed);
                    let _ = self.acks.send(acks);
                }
            }
            Err(e) => {
                // Nothing of this batch is acknowledged: with an external broker the messages
                // are redelivered; the failure is counted and logged.
                self.metrics.store_errors.fetch_add(1, Relaxed);
                tracing::error!(error = %e, "store commit failed; the batch is not acknowledged");
                batch.clear();
                self.devices.clear(); // ids inserted in the failed transaction do not exist
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

fn device_id(
    tx: &rusqlite::Transaction<'_>,
    district: &str,
    device: &str,
    kind: &str,
) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT OR IGNORE INTO device (district, device, kind) VALUES (?1, ?2, ?3)",
        params![district, device, kind],
    )?;
    tx.query_row(
        "SELECT id FROM device WHERE district = ?1 AND device = ?2",
        params![district, device],
        |r| r.get(0),
    )
}
