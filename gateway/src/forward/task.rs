//! One target's forwarding loop: fill a batch from the store, send it when full or old
//! enough, advance the persisted cursor only once the server accepted it, back off and retry
//! the same batch on failure.
//!
//! On shutdown the loop drains what is waiting (full batches at once) for up to the target's
//! `timeout`, stopping at the first failure; whatever is left stays in the store and goes
//! out at the next start. A crash between an accepted write and the cursor commit re-sends
//! that batch: the same series and timestamps overwrite themselves on the server.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use district::clock::Clock;
use district::District;
use tokio::sync::watch;

use super::batcher::Batch;
use super::config::{ForwardTarget, Token};
use super::cursor::{self, Cursor};
use super::metrics::ForwardMetrics;
use super::sink::{Outcome, Sink};
use super::source::Source;
use district::backoff::Backoff;

/// Everything one forwarding task needs.
#[derive(Debug)]
pub struct Task {
    /// The target.
    pub target: ForwardTarget,
    /// Its token.
    pub token: Token,
    /// The store file.
    pub db: PathBuf,
    /// Served districts (for tags).
    pub districts: Vec<Arc<District>>,
    /// The gateway's clock (backlog age).
    pub clock: Clock,
    /// Its metrics.
    pub metrics: Arc<ForwardMetrics>,
    /// The store's writer (cursor saves).
    pub store: crate::store::StoreTx,
}

/// Runs `f` with the source on the blocking pool and gives the source back.
async fn blocking<T: Send + 'static>(
    src: Source,
    f: impl FnOnce(&mut Source) -> T + Send + 'static,
) -> (Source, T) {
    tokio::task::spawn_blocking(move || {
        let mut src = src;
        let r = f(&mut src);
        (src, r)
    })
    .await
    .expect("forward source task panicked")
}

impl Task {
    /// Runs until `shutdown` turns true (then drains briefly, see the module doc).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let t = &self.target;
        let m = &self.metrics;
        let sink = match Sink::new(t, &self.token) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target = %t.name, error = %e, "forward target not started");
                return;
            }
        };
        let (db, districts) = (self.db.clone(), self.districts.clone());
        let (lane, readings, rollups) = (t.live_lane_after, t.readings, t.rollups);
        let name = t.name.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let mut s = Source::open(&db, districts, lane, readings, rollups)?;
            let c = s.cursor(&name)?;
            Ok::<_, rusqlite::Error>((s, c))
        });
        let (mut src, (mut committed, new)) = match opened.await.expect("open task") {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(target = %t.name, error = %e, "forward target cannot open the store");
                return;
            }
        };
        if new {
            // A new target starts from what the store holds now; saved at once, so what
            // retention prunes later counts as lost.
            let (name, c) = (t.name.clone(), committed.clone());
            if let Err(e) = self
                .store
                .write(move |conn| cursor::save(conn, &name, &c))
                .await
            {
                tracing::warn!(target = %t.name, error = %e, "saving the first cursor failed");
            }
        }
        self.metrics.cursor.store(committed.done, Relaxed);
        tracing::info!(target = %t.name, cursor = committed.done, live_lane = committed.live.is_some(), "forwarding");
        let mut backoff = Backoff::new(t.retry_min, t.retry_max, t.jitter_seed);
        let mut limit = t.batch_points;
        let mut batch = Batch::new(&committed);
        let mut stats_at = Instant::now() - Duration::from_secs(10);
        let mut draining: Option<Instant> = None;
        loop {
            if draining.is_none() && *shutdown.borrow() {
                draining = Some(Instant::now() + t.timeout);
            }
            let (s, filled) = blocking(src, move |s| {
                let r = s.fill(&mut batch, limit);
                (batch, r)
            })
            .await;
            src = s;
            let r;
            (batch, r) = filled;
            if let Err(e) = r {
                tracing::warn!(target = %t.name, error = %e, "reading the store failed; retrying");
                m.failure("store");
            }
            let now = Instant::now();
            batch.touch(now);
            if now.duration_since(stats_at) >= Duration::from_secs(1) {
                stats_at = now;
                src = self.update_backlog(src, &batch.next).await;
            }
            if let Some(deadline) = draining {
                if batch.points() == 0 || now >= deadline {
                    break;
                }
            } else if batch.points() == 0 || !batch.ready(limit, t.batch_age, now) {
                if batch.points() == 0 && batch.next != committed {
                    // Only lost rows or unmapped rows moved the cursor.
                    (src, committed) = self.commit(src, &mut batch).await;
                }
                let wait = if batch.points() == 0 {
                    t.poll
                } else {
                    batch.due_in(t.batch_age, now).min(t.poll)
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            // Send the batch until it is accepted, refused, or we stop.
            loop {
                let started = Instant::now();
                match sink.write(batch.body.clone()).await {
                    Outcome::Accepted => {
                        m.write_us_sum
                            .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
                        m.points_readings.fetch_add(batch.readings as u64, Relaxed);
                        m.points_rollups.fetch_add(batch.rollups as u64, Relaxed);
                        m.points_alerts.fetch_add(batch.alerts as u64, Relaxed);
                        m.batches.fetch_add(1, Relaxed);
                        m.bytes.fetch_add(batch.body.len() as u64, Relaxed);
                        m.up.store(1, Relaxed);
                        m.last_success_ms.store(wall_ms(), Relaxed);
                        if backoff.failures() > 0 {
                            tracing::info!(target = %t.name, after_failures = backoff.failures(), "forward target reachable again");
                        }
                        backoff.reset();
                        (src, committed) = self.commit(src, &mut batch).await;
                        break;
                    }
                    Outcome::TooLarge => {
                        m.failure("too_large");
                        limit = (batch.points() / 2).max(1);
                        tracing::warn!(target = %t.name, batch_points = limit, "request too large; sending smaller batches");
                        batch = Batch::new(&committed);
                        break;
                    }
                    Outcome::Rejected(why) => {
                        m.failure("rejected");
                        m.rejected.fetch_add(batch.points() as u64, Relaxed);
                        tracing::error!(target = %t.name, points = batch.points(), error = %why, "the server refused a batch; it is dropped");
                        (src, committed) = self.commit(src, &mut batch).await;
                        break;
                    }
                    Outcome::Retry(reason) => {
                        m.failure(reason);
                        m.up.store(0, Relaxed);
                        if draining.is_some() {
                            tracing::warn!(target = %t.name, reason, "stopping with a backlog; it is sent at the next start");
                            return self.stop(src).await;
                        }
                        m.retries.fetch_add(1, Relaxed);
                        let delay = backoff.next_delay();
                        if backoff.failures() == 1 || backoff.failures().is_multiple_of(20) {
                            tracing::warn!(target = %t.name, reason, failures = backoff.failures(), retry_in = ?delay, "forward write failed; retrying");
                        }
                        let stop = tokio::select! {
                            _ = tokio::time::sleep(delay) => false,
                            _ = shutdown.changed() => *shutdown.borrow(),
                        };
                        if stop {
                            return self.stop(src).await;
                        }
                        src = self.update_backlog(src, &committed).await;
                    }
                }
            }
            // Let ingest run between batches while a backlog drains.
            tokio::task::yield_now().await;
        }
        self.stop(src).await
    }

    async fn commit(&self, src: Source, batch: &mut Batch) -> (Source, Cursor) {
        let m = &self.metrics;
        m.lost_pruned.fetch_add(batch.lost, Relaxed);
        m.unmapped.fetch_add(batch.unmapped, Relaxed);
        if batch.lost > 0 {
            tracing::warn!(target = %self.target.name, lost = batch.lost, "raw readings were pruned by retention before they were sent");
        }
        let next = batch.next.clone();
        let name = self.target.name.clone();
        let save = next.clone();
        let r = self
            .store
            .write(move |conn| cursor::save(conn, &name, &save))
            .await;
        if let Err(e) = r {
            // The next commit saves it; until then a crash re-sends (harmless).
            tracing::warn!(target = %self.target.name, error = %e, "saving the cursor failed");
            m.failure("cursor");
        }
        m.cursor.store(next.done, Relaxed);
        m.live_lane.store(next.live.is_some() as i64, Relaxed);
        *batch = Batch::new(&next);
        (src, next)
    }

    async fn update_backlog(&self, src: Source, c: &Cursor) -> Source {
        let c = c.clone();
        let (src, r) = blocking(src, move |s| s.backlog(&c)).await;
        if let Ok(b) = r {
            let m = &self.metrics;
            m.backlog_readings.store(b.readings, Relaxed);
            m.backlog_rollups.store(b.rollups, Relaxed);
            let age = b
                .oldest_ts
                .map_or(0, |ts| (self.clock.now_ms() - ts).max(0));
            m.backlog_age_ms.store(age, Relaxed);
        }
        src
    }

    async fn stop(&self, src: Source) {
        let committed = {
            let name = self.target.name.clone();
            blocking(src, move |s| s.cursor(&name).map(|c| c.0)).await.1
        };
        if let Ok(c) = committed {
            tracing::info!(target = %self.target.name, cursor = c.done, "forwarder stopped");
        }
    }
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
