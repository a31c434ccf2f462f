//! The store writer: one thread, group commits, acknowledgements after commit, and the one
//! place that decides whether a reading is new.
//!
//! A reading is inserted with `INSERT OR IGNORE` against the store's identity key
//! ([`schema`]): a copy (a QoS 1 redelivery, a device resending its buffer, a persistent
//! session replayed after a restart) changes no row and comes back as
//! [`Verdict::Duplicate`], however long after the first copy and however many restarts lie
//! between them. Verdicts go to [`OnCommit`] only after the commit, so the live state applies
//! exactly what the store holds.
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

use district::contract::deadletter::MAX_DEADLETTER_PAYLOAD;
use district::contract::reading::Reading;

use super::schema;
use crate::metrics::Metrics;
use crate::state::RollupPoint;

use super::ack::{dispatch, Ack};

/// A decoded reading of a known device on its way to the store. Whether it is new is the
/// store's decision ([`Verdict`]): it touches the live state only once the store has it.
#[derive(Debug)]
pub struct Candidate {
    /// District index (in the gateway's served districts).
    pub district: usize,
    /// Device index (in the district's devices).
    pub device: usize,
    /// District id.
    pub district_id: Arc<str>,
    /// Device id.
    pub device_id: Arc<str>,
    /// Device kind.
    pub kind: &'static str,
    /// The reading.
    pub reading: Reading,
    /// When the pipeline got it (for the arrival-to-commit latency).
    pub arrived: Instant,
    /// Set when the reading is older than the late-data window: unless the store already
    /// holds it (a redelivery, [`Verdict::Duplicate`]), this dead letter is stored instead
    /// ([`Verdict::Late`]).
    pub late: Option<DeadLetterRow>,
    /// To acknowledge after commit.
    pub ack: Option<Ack>,
    /// Its row once stored ([`Verdict::Stored`]); 0 before, and for other verdicts.
    pub rowid: i64,
}

impl Candidate {
    /// Whether it is a fire detector's reading (the urgent lanes of the store and the owner).
    pub fn is_fire(&self) -> bool {
        self.kind == district::DeviceKind::Fire.as_str()
    }
}

/// What the store decided about a [`Candidate`], known once its transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// New: stored, and to be applied to the live state.
    Stored,
    /// The store already holds a reading with this identity (device, event time, seq):
    /// nothing stored, counted as a duplicate.
    Duplicate,
    /// New but too late: stored as its dead letter only.
    Late,
}

/// One row of the `deadletter` table.
#[derive(Debug, Clone)]
pub struct DeadLetterRow {
    /// Gateway clock, ms.
    pub received: i64,
    /// District id (empty if unknown).
    pub district: String,
    /// Topic.
    pub topic: String,
    /// Reason code.
    pub reason: &'static str,
    /// Details.
    pub detail: String,
    /// Payload, whole (stored cut to [`MAX_DEADLETTER_PAYLOAD`] bytes).
    pub payload: Vec<u8>,
}

/// Called on the writer thread after each successful commit with that batch's candidates and
/// verdicts, in arrival order (acknowledgements are already on their way).
pub type OnCommit = Box<dyn FnMut(Vec<(Candidate, Verdict)>) + Send>;

/// Work for the store.
#[derive(Debug)]
pub enum StoreMsg {
    /// A reading, stored unless its identity is already in the store.
    Reading(Box<Candidate>),
    /// A reject.
    DeadLetter {
        /// The row.
        row: DeadLetterRow,
        /// To acknowledge after commit.
        ack: Option<Ack>,
    },
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
    /// Nothing: wakes the writer for the urgent lane.
    Wake,
    /// Several of the above, handed over at once (the packets one read of a device's socket
    /// brought), committed in their order.
    Batch(Vec<StoreMsg>),
    /// Rows of another domain (alerts, reservations, audit, deliveries, forward cursors),
    /// written by their own SQL in the same group commit, inside a savepoint of its own: a
    /// failing job is rolled back alone and answers its error; the others commit.
    Write(Write),
}

/// A job for [`StoreMsg::Write`]: SQL of one domain run on the writer's connection, and where
/// its outcome goes once the transaction committed (or failed).
pub struct Write {
    job: Job,
    done: Option<Done>,
}

/// SQL of one domain, run on the writer's connection inside the group commit.
type Job = Box<dyn FnOnce(&Connection) -> rusqlite::Result<()> + Send>;

/// Where a [`Write`]'s outcome goes.
type Done = oneshot::Sender<Result<(), WriteError>>;

impl std::fmt::Debug for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Write").finish_non_exhaustive()
    }
}

impl Write {
    /// A job whose outcome nobody waits for (failures are counted and logged).
    pub fn new(job: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static) -> Self {
        Write {
            job: Box::new(job),
            done: None,
        }
    }
}

/// Why a [`Write`] did not commit.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// Its own SQL failed (rolled back; the rest of the batch committed).
    #[error("store write failed: {0}")]
    Job(String),
    /// The whole group commit failed (disk full, I/O error).
    #[error("store commit failed: {0}")]
    Commit(String),
    /// The store writer has stopped (the gateway is shutting down).
    #[error("the store has stopped")]
    Stopped,
}

impl StoreMsg {
    /// Rows of the queue this message counts for (its parts for a batch).
    fn queued(&self) -> i64 {
        match self {
            StoreMsg::Batch(parts) => parts.len() as i64,
            StoreMsg::Wake => 0,
            _ => 1,
        }
    }

    /// Whether this goes on the urgent lane: a fire detector's reading, which must not wait
    /// behind a burst of other readings.
    pub fn is_urgent(&self) -> bool {
        matches!(self, StoreMsg::Reading(c) if c.is_fire())
    }
}

/// The sending side, with the queue gauge kept up to date.
#[derive(Debug, Clone)]
pub struct StoreTx {
    tx: mpsc::Sender<StoreMsg>,
    /// The urgent lane: taken ahead of the queue at every commit.
    urgent: mpsc::UnboundedSender<StoreMsg>,
    metrics: Arc<Metrics>,
}

impl StoreTx {
    /// Queues work, waiting while the queue is full (backpressure).
    pub async fn send(&self, msg: StoreMsg) {
        let n = msg.queued();
        self.metrics.store_queue.fetch_add(n, Relaxed);
        if self.tx.send(msg).await.is_err() {
            self.metrics.store_queue.fetch_sub(n, Relaxed);
            self.metrics.store_errors.fetch_add(1, Relaxed);
        }
    }

    /// Queues work on the urgent lane (fire detectors): the writer takes it ahead of whatever
    /// waits in the queue, at its next commit, and it never waits for room. Unbounded, so only
    /// for what is rare by nature.
    pub fn send_urgent(&self, msg: StoreMsg) {
        self.metrics.store_queue.fetch_add(1, Relaxed);
        if self.urgent.send(msg).is_err() {
            self.metrics.store_queue.fetch_sub(1, Relaxed);
            self.metrics.store_errors.fetch_add(1, Relaxed);
            return;
        }
        // Wakes an idle writer; a full queue means it is busy and looks at the lane anyway.
        let _ = self.tx.try_send(StoreMsg::Wake);
    }

    /// Runs `job` in the writer's next group commit and waits until it is committed.
    pub async fn write(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), WriteError> {
        let (tx, rx) = oneshot::channel();
        self.send(StoreMsg::Write(Write {
            job: Box::new(job),
            done: Some(tx),
        }))
        .await;
        rx.await.unwrap_or(Err(WriteError::Stopped))
    }

    /// As [`StoreTx::write`], from a thread outside the async runtime (the blocking pool).
    pub fn write_blocking(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), WriteError> {
        let (tx, rx) = oneshot::channel();
        let msg = StoreMsg::Write(Write {
            job: Box::new(job),
            done: Some(tx),
        });
        self.metrics.store_queue.fetch_add(1, Relaxed);
        if self.tx.blocking_send(msg).is_err() {
            self.metrics.store_queue.fetch_sub(1, Relaxed);
            return Err(WriteError::Stopped);
        }
        rx.blocking_recv().unwrap_or(Err(WriteError::Stopped))
    }

    /// Queues `job` on the urgent lane, in order with the other jobs queued there, without
    /// waiting for room: for the district owners' own rows (alert transitions, audit,
    /// reservations), which are few by nature and must not wait behind a burst of readings.
    /// The receiver answers once the job is committed.
    pub fn write_now(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> oneshot::Receiver<Result<(), WriteError>> {
        let (tx, rx) = oneshot::channel();
        self.send_urgent(StoreMsg::Write(Write {
            job: Box::new(job),
            done: Some(tx),
        }));
        rx
    }

    /// Waits until everything queued before is committed.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        self.send(StoreMsg::Flush(tx)).await;
        let _ = rx.await;
    }
}

/// Starts the writer thread on an open connection; acknowledgements of committed rows are
/// sent to `acks` (broker messages; device messages go to their connection), and the verdicts
/// on readings to `on_commit`. The thread ends when every sender is dropped, after a last
/// commit.
pub fn start_writer(
    conn: Connection,
    batch_rows: usize,
    queue: usize,
    metrics: Arc<Metrics>,
    acks: mpsc::UnboundedSender<Vec<rumqttc::Publish>>,
    on_commit: OnCommit,
) -> (StoreTx, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(queue);
    let (urgent, urgent_rx) = mpsc::unbounded_channel();
    let m = metrics.clone();
    let handle = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || {
            let mut w = Writer {
                conn,
                devices: HashMap::new(),
                metrics: m,
                acks,
                on_commit,
            };
            w.run(rx, urgent_rx, batch_rows.max(1));
        })
        .expect("spawn store writer");
    (
        StoreTx {
            tx,
            urgent,
            metrics,
        },
        handle,
    )
}

fn drain(rx: &mut mpsc::Receiver<StoreMsg>, batch: &mut Vec<StoreMsg>, max: usize) {
    while batch.len() < max {
        match rx.try_recv() {
            Ok(m) => push(batch, m),
            Err(_) => break,
        }
    }
}

/// Adds a message to the batch, a [`StoreMsg::Batch`] as its parts.
fn push(batch: &mut Vec<StoreMsg>, m: StoreMsg) {
    match m {
        StoreMsg::Batch(parts) => batch.extend(parts),
        m => batch.push(m),
    }
}

struct Writer {
    conn: Connection,
    devices: HashMap<(usize, usize), i64>,
    metrics: Arc<Metrics>,
    acks: mpsc::UnboundedSender<Vec<rumqttc::Publish>>,
    on_commit: OnCommit,
}

impl Writer {
    fn run(
        &mut self,
        mut rx: mpsc::Receiver<StoreMsg>,
        mut urgent: mpsc::UnboundedReceiver<StoreMsg>,
        batch_rows: usize,
    ) {
        let mut batch = Vec::with_capacity(batch_rows);
        while let Some(first) = rx.blocking_recv() {
            // The urgent lane first, then the queue in order.
            while let Ok(m) = urgent.try_recv() {
                batch.push(m);
            }
            push(&mut batch, first);
            drain(&mut rx, &mut batch, batch_rows);
            let queued: i64 = batch.iter().map(StoreMsg::queued).sum();
            self.metrics.store_queue.fetch_sub(queued, Relaxed);
            self.commit(&mut batch);
        }
        while let Ok(m) = urgent.try_recv() {
            batch.push(m);
        }
        if !batch.is_empty() {
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
        let mut writes: Vec<(Option<Done>, Result<(), WriteError>)> = Vec::new();
        let mut rows = 0;
        let mut verdicts = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT OR IGNORE INTO reading (ts, device, seq, value) VALUES (?1, ?2, ?3, ?4)",
                )?;
                let mut held = tx.prepare_cached(&format!(
                    "SELECT 1 FROM reading WHERE ts = ?1 AND device = ?2 AND {} = ?3",
                    schema::SEQ_KEY
                ))?;
                let mut dl = tx.prepare_cached(
                    "INSERT INTO deadletter (received, district, topic, reason, detail, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                let mut roll = tx.prepare_cached(
                    "INSERT OR REPLACE INTO rollup (district, entity, id, metric, minute, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                let mut dead_letter = |row: &DeadLetterRow| {
                    let cut = row.payload.len().min(MAX_DEADLETTER_PAYLOAD);
                    dl.execute(params![
                        row.received,
                        row.district,
                        row.topic,
                        row.reason,
                        row.detail,
                        &row.payload[..cut]
                    ])
                };
                for msg in batch.drain(..) {
                    match msg {
                        StoreMsg::Reading(mut c) => {
                            let key = (c.district, c.device);
                            let id = match self.devices.get(&key) {
                                Some(&id) => id,
                                None => {
                                    let id = device_id(&tx, &c.district_id, &c.device_id, c.kind)?;
                                    self.devices.insert(key, id);
                                    id
                                }
                            };
                            let ts = c.reading.ts_ms;
                            let seq = c.reading.seq.map(|s| s as i64);
                            let verdict = match &c.late {
                                None => {
                                    let value = serde_json::to_string(&c.reading.value)
                                        .expect("a measurement serialises");
                                    if ins.execute(params![ts, id, seq, value])? == 1 {
                                        c.rowid = tx.last_insert_rowid();
                                        Verdict::Stored
                                    } else {
                                        Verdict::Duplicate
                                    }
                                }
                                Some(row) => {
                                    if held.exists(params![ts, id, seq.unwrap_or(-1)])? {
                                        Verdict::Duplicate
                                    } else {
                                        dead_letter(row)?;
                                        Verdict::Late
                                    }
                                }
                            };
                            rows += 1;
                            acks.extend(c.ack.take());
                            verdicts.push((*c, verdict));
                        }
                        StoreMsg::DeadLetter { row, ack } => {
                            dead_letter(&row)?;
                            rows += 1;
                            acks.extend(ack);
                        }
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
                        StoreMsg::Write(w) => {
                            tx.execute_batch("SAVEPOINT job")?;
                            let outcome = match (w.job)(&tx) {
                                Ok(()) => {
                                    tx.execute_batch("RELEASE job")?;
                                    rows += 1;
                                    Ok(())
                                }
                                Err(e) => {
                                    tx.execute_batch("ROLLBACK TO job; RELEASE job")?;
                                    self.metrics.store_errors.fetch_add(1, Relaxed);
                                    tracing::error!(error = %e, "a store write failed and was rolled back");
                                    Err(WriteError::Job(e.to_string()))
                                }
                            };
                            writes.push((w.done, outcome));
                        }
                        StoreMsg::Wake | StoreMsg::Batch(_) => {} // batches are flattened in `push`
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
                for (c, v) in &verdicts {
                    if *v == Verdict::Stored {
                        self.metrics.stored_latency.record(done - c.arrived);
                    }
                }
                if !acks.is_empty() {
                    self.metrics.acks.fetch_add(acks.len() as u64, Relaxed);
                    dispatch(acks, &self.acks);
                }
                if !verdicts.is_empty() {
                    (self.on_commit)(verdicts);
                }
                for (done, outcome) in writes {
                    if let Some(done) = done {
                        let _ = done.send(outcome);
                    }
                }
            }
            Err(e) => {
                // Nothing of this batch is acknowledged or applied: with an external broker
                // the messages are redelivered; the failure is counted and logged.
                self.metrics.store_errors.fetch_add(1, Relaxed);
                tracing::error!(error = %e, "store commit failed; the batch is not acknowledged");
                // Jobs not yet reached in the failed batch are answered too.
                for msg in batch.drain(..) {
                    if let StoreMsg::Write(w) = msg {
                        writes.push((w.done, Ok(())));
                    }
                }
                for (done, _) in writes {
                    if let Some(done) = done {
                        let _ = done.send(Err(WriteError::Commit(e.to_string())));
                    }
                }
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

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
